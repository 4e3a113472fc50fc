import { idKey } from "./resource-id";
import { ResourceGraphClient } from "@azure/arm-resourcegraph";
import { isRestError } from "@azure/core-rest-pipeline";
import { z } from "zod";
import { timeoutPolicy, type AzureConnection } from "./connection";
import { errorMessage } from "../errors";
import { jsonPath } from "../validation";
import { planScopes, treeRoots, type Descendant, type ManagementGroupScope } from "./scope-plan";

/** Resource Graph takes at most 1000 subscriptions in one request's `subscriptions` (FACTS.md, query limits). */
export const MAX_SUBSCRIPTIONS_PER_REQUEST = 1000;

/** Which part of the estate a scan covers; empty means every subscription the identity can read. */
export interface ScanScope {
  managementGroups: string[];
  subscriptions: string[];
}

export interface PageEvent {
  query: string;
  page: number;
  rows: number;
  totalRecords: number;
  /** Rows in this page alone (a page cut short by Resource Graph included). */
  pageRows?: number;
}

export interface ResourceGraphOptions {
  pageSize: number;
  /** Subscriptions per request when a scope is sent as a list (Resource Graph takes at most 1000). */
  subscriptionGroupSize: number;
  /**
   * Every subscription the identity can read (ARM `GET /subscriptions`), asked for only when a
   * tenant or management-group query was cut off at Resource Graph's subscription limit.
   */
  listSubscriptions?: () => Promise<string[]>;
  /**
   * An earlier run found this tenant or management-group scope past the cut-off: go to the
   * subscription groups ARM lists at once, without first sending a request that meets it again.
   * Groups cover what the whole scope covers, so a stale hint costs requests, never coverage.
   */
  pastCutOff?: boolean;
  /**
   * Past the cut-off: the management group tree under a group (ARM's descendants), to send the
   * queries that read every subscription by whole management groups where the tree allows.
   * Without it, or when it fails, they go by subscription groups.
   */
  listManagementGroups?: (group: string) => Promise<Descendant[]>;
  /** The tree's root when the scope is the whole tenant: the tenant root group (named after the tenant). */
  tenantRootGroup?: string;
  /** Subscriptions one management-group scope may hold: Resource Graph's cut-off. 0: never by management group. */
  managementGroupScopeLimit?: number;
  onPage?: (event: PageEvent) => void;
  /** Told when the scope changes, e.g. to subscription groups after a cut-off. */
  onScope?: (event: { reason: string; groups: number; subscriptions: number }) => void;
  /** Waits before the next request; replaced in tests to observe throttling. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * How long, in all, the scan may wait out 429s that carry no Retry-After (only the quota
   * headers, which the SDK does not honour); past it the 429 fails the query. Default 120 s.
   */
  throttleWaitBudgetMs?: number;
}

/** A row Resource Graph returned that the row schema could not read; `id` names it as well as the row allows. */
export interface RowError {
  id: string;
  message: string;
}

/** Every row of a query, narrowed by the row schema; rows it could not read are named, not thrown. */
export interface QueryRows<T> {
  rows: T[];
  unreadable: RowError[];
}

/**
 * Runs one query over the scan's scope to the end of its pages (in subscription groups where the
 * scope needs them) and returns its rows, de-duplicated by `id` where rows carry one. Throws when
 * the query itself could not be run or its result could not be read completely.
 */
export type QueryAll = <T>(
  name: string,
  query: string,
  rowSchema: z.ZodType<T>,
  /**
   * The subscriptions the query is about, when it is about a few: it is then sent with those
   * alone as the request scope (those of them inside an explicit subscription scope), up to 1000 a
   * request, not over the scan's whole scope. A management-group scope is not applied then: the
   * query must say where each subscription sits.
   */
  about?: readonly string[],
) => Promise<QueryRows<T>>;

/** What the scan cost in Resource Graph: requests sent and rows received, over all queries. */
export interface ResourceGraphStats {
  requests: number;
  rows: number;
}

/**
 * One query over the whole tenant, whatever the scan's scope: for what lives outside any
 * subscription (built-in role definitions, which a subscription-scoped query never returns).
 */
export type QueryTenant = <T>(name: string, query: string, rowSchema: z.ZodType<T>) => Promise<QueryRows<T>>;

export interface ResourceGraphRunner {
  queryAll: QueryAll;
  queryTenant: QueryTenant;
  stats: ResourceGraphStats;
  /**
   * The subscription groups the scan's queries go out in, once they go by groups (an explicit list
   * longer than one group, or Resource Graph's 10,000-subscription cut-off); null while one request
   * covers the whole scope.
   */
  subscriptionGroups(): string[][] | null;
  /**
   * Runs a query over the whole scope, or, when the scope is or turns out to be cut off, returns the
   * subscription groups instead of running the query once per group: for what the groups answer
   * themselves (how many subscriptions there are).
   */
  wholeOrGroups<T>(
    name: string,
    query: string,
    rowSchema: z.ZodType<T>,
  ): Promise<{ rows: QueryRows<T> } | { groups: string[][] }>;
}

/**
 * A result Resource Graph cut at its first page and offered no way to page: `take`/`limit`, or
 * `summarize`, whose results are "simplified, first page only" (query-language.md, supported
 * operators). The caller may ask again over a smaller scope.
 */
export class TruncatedResult extends Error {
  constructor(
    message: string,
    readonly totalRecords: number,
  ) {
    super(message);
  }
}

/**
 * Resource Graph's answer header when a tenant- or management-group-scoped query covered only the
 * first 10,000 subscriptions (guidance-for-throttled-requests.md, "Query across subscriptions").
 */
export const SUBSCRIPTION_LIMIT_HEADER = "x-ms-tenant-subscription-limit-hit";

/**
 * Resource Graph's refusal of a tenant or management-group scope too large to query at once,
 * unless partial scopes are allowed (FACTS.md, Resource Graph limits).
 */
export const TOO_MANY_SUBSCRIPTIONS = "TooManySubscriptionsUnderScope";

/**
 * Every query reads role assignments made above its scope too (management groups, the tenant
 * root): with the default `AtScopeAndBelow` a subscription-scoped query leaves them out
 * (QueryRequestOptions.authorizationScopeFilter, Resource Graph 2024-04-01). Tables other than
 * `authorizationresources` ignore it.
 */
export const AUTHORIZATION_SCOPE_FILTER = "AtScopeAboveAndBelow" as const;

const DEFAULT_THROTTLE_WAIT_BUDGET_MS = 120_000;
/** When a 429 names no reset time, the documented window of the quota: 5 seconds. */
const DEFAULT_QUOTA_WAIT_MS = 5000;

function isTooManySubscriptions(error: unknown): boolean {
  if (!isRestError(error) || error.statusCode !== 400) return false;
  // The generated client keeps the error body's details (where the reason's code is) on `details`.
  const details = JSON.stringify((error as { details?: unknown }).details ?? null);
  const said = `${error.code ?? ""} ${error.message} ${error.response?.bodyAsText ?? ""} ${details}`;
  return said.includes(TOO_MANY_SUBSCRIPTIONS);
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `x-ms-user-quota-resets-after` is hh:mm:ss. */
export function parseResetsAfter(value: string | undefined | null): number | null {
  const match = value?.match(/^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/);
  if (!match) return null;
  return ((Number(match[1]) * 60 + Number(match[2])) * 60 + Number(match[3])) * 1000;
}

export function createResourceGraphClient(connection: AzureConnection): ResourceGraphClient {
  return new ResourceGraphClient(connection.credential, {
    endpoint: connection.armEndpoint,
    retryOptions: connection.retryOptions,
    ...(connection.tlsCa ? { tlsOptions: { ca: connection.tlsCa } } : {}),
    ...(connection.requestTimeoutMs
      ? {
          additionalPolicies: [
            { policy: timeoutPolicy(connection.requestTimeoutMs), position: "perCall" as const },
          ],
        }
      : {}),
  });
}

export function groupsOf<T>(items: T[], size: number): T[][] {
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += size) groups.push(items.slice(i, i + size));
  return groups;
}

/** Subscriptions whose management-group ancestors include one of the given groups (for a cut-off MG scope). */
export const subscriptionsUnderQuery = (managementGroups: string[]) => `resourcecontainers
| where type =~ 'microsoft.resources/subscriptions'
| mv-expand ancestor = properties.managementGroupAncestorsChain
| where tostring(ancestor.name) in~ (${managementGroups.map((g) => `'${g.replace(/'/g, "")}'`).join(", ")})
| project id = strcat(tolower(subscriptionId), '/', tolower(tostring(ancestor.name))), subscriptionId = tolower(subscriptionId)`;

/** The query for one group (exported so the query syntax test checks it). */
export const MANAGEMENT_GROUP_MEMBERS_QUERY = subscriptionsUnderQuery(["landing-zones"]);

/** Where queries go: the whole scope in one request, or groups of subscriptions. */
type Scope = { kind: "whole"; params: { managementGroups?: string[] } } | GroupScope;
/**
 * Past the cut-off a query that reads every subscription goes by `wide` where the management
 * group tree gives it: whole groups of at most the cut-off, then the subscriptions they leave
 * over, by groups. Planned at the first such query (undefined until then); null where it is never
 * planned (an explicit subscription list: a management group would reach past it) or saves nothing.
 */
type GroupScope = { kind: "groups"; groups: string[][]; wide?: WideScope[] | null };

/**
 * A request's scope: whole management groups (`checkedAt` when Resource Graph's own view of their
 * members was last checked against the plan), or subscriptions.
 */
type WideScope = { managementGroups: ManagementGroupScope; checkedAt?: number } | { subscriptions: string[] };

/**
 * How long a check of a management group's members holds: a subscription moved out of it later
 * would be read by no request of that scope, so a query after this long checks again (Resource
 * Graph's own freshness is "typically under 1 minute").
 */
const MEMBERS_CHECK_MS = 60_000;

/**
 * Which subscriptions Resource Graph itself places under a management-group scope. Its view of
 * the hierarchy can lag ARM's, from which the plan was made (freshness "typically under 1
 * minute"): a planned member it does not show would be read by no request, so it is read by
 * subscription groups. The set is bounded at the cut-off; a set that does not hold every member
 * counted is not trusted.
 */
export const SCOPE_MEMBERS_QUERY = `resourcecontainers
| where type =~ 'microsoft.resources/subscriptions'
| summarize members = count(), subscriptions = make_set(tolower(subscriptionId), 10000)`;

const scopeMembersSchema = z.object({ members: z.number().int(), subscriptions: z.array(z.string()) });

type Item = Record<string, unknown>;

class InconsistentPages extends Error {}

const idOf = (item: unknown): string | null => {
  const id = typeof item === "object" && item !== null ? (item as Item).id : undefined;
  return typeof id === "string" && id.length > 0 ? id : null;
};

/**
 * Pages through `$skipToken` to the end. Before the next page it waits out a spent quota
 * (`x-ms-user-quota-remaining: 0`); 429 and 5xx answers are retried by the SDK's pipeline,
 * honouring Retry-After. Explicit subscription lists go out in groups; a tenant or management
 * group scope that Resource Graph cuts off is re-run in groups of the subscriptions ARM lists.
 * A result that changed while it was paged (rows missed or repeated) is read once more, then
 * reported; a result Resource Graph cannot page is an error, never a silent cut.
 */
export function resourceGraphQuery(
  client: ResourceGraphClient,
  configured: ScanScope,
  options: ResourceGraphOptions,
): ResourceGraphRunner {
  const sleep = options.sleep ?? defaultSleep;
  const stats: ResourceGraphStats = { requests: 0, rows: 0 };
  let scope: Scope =
    configured.subscriptions.length > 0 && configured.managementGroups.length === 0
      ? {
          kind: "groups",
          groups: groupsOf(configured.subscriptions, options.subscriptionGroupSize),
          wide: null,
        }
      : {
          kind: "whole",
          params:
            configured.managementGroups.length > 0 ? { managementGroups: configured.managementGroups } : {},
        };
  if (scope.kind === "groups" && scope.groups.length > 1) {
    options.onScope?.({
      reason: "SCAN_SUBSCRIPTIONS is sent in groups",
      groups: scope.groups.length,
      subscriptions: configured.subscriptions.length,
    });
  }

  // The quota is per identity, so a spent quota holds back the next request of any query.
  let quotaResetsAt = 0;
  let throttleBudget = options.throttleWaitBudgetMs ?? DEFAULT_THROTTLE_WAIT_BUDGET_MS;
  // The management group tree, once asked for (see readTree).
  let tree: Promise<{ descendants: Descendant[] } | { error: unknown }> | undefined;
  // Set when Resource Graph refused the whole scope rather than cutting it off: said so in messages.
  let refusedAsTooMany = false;

  /**
   * One request. A 429 that reached us carried no Retry-After (the SDK's pipeline retries those
   * that do): Resource Graph documents only `x-ms-user-quota-resets-after`, so that is waited out,
   * within the scan's budget of waits, and the request sent again.
   */
  async function send(
    request: Parameters<ResourceGraphClient["resources"]>[0],
    onResponse: NonNullable<NonNullable<Parameters<ResourceGraphClient["resources"]>[1]>["onResponse"]>,
  ) {
    for (;;) {
      if (Date.now() < quotaResetsAt) await sleep(quotaResetsAt - Date.now());
      stats.requests += 1;
      try {
        return await client.resources(request, { onResponse });
      } catch (error) {
        if (!isRestError(error) || error.statusCode !== 429) throw error;
        const wait =
          parseResetsAfter(error.response?.headers.get("x-ms-user-quota-resets-after")) ??
          DEFAULT_QUOTA_WAIT_MS;
        if (wait > throttleBudget)
          throw new Error(
            `Resource Graph throttled the request (429) and asked to wait ${Math.ceil(wait / 1000)} s, beyond what is left of the scan's budget of waits (${Math.floor(throttleBudget / 1000)} s).`,
            { cause: error },
          );
        throttleBudget -= wait;
        quotaResetsAt = Date.now() + wait;
      }
    }
  }

  /** One query over one scope to its last page: every item, and whether the scope was cut off. */
  async function pages(
    name: string,
    query: string,
    params: { subscriptions?: string[]; managementGroups?: string[]; allowPartialScopes?: boolean },
    onItem: (item: unknown, page: number, index: number) => void,
  ): Promise<{ limitHit: boolean }> {
    let skipToken: string | undefined;
    let page = 0;
    let limitHit = false;
    let totalRecords: number | undefined;
    let received = 0;
    let withoutId = 0;
    const ids = new Set<string>();
    do {
      let response;
      const { allowPartialScopes, ...scopeParams } = params;
      try {
        response = await send(
          {
            ...scopeParams,
            query,
            options: {
              ...(allowPartialScopes ? { allowPartialScopes } : {}),
              top: options.pageSize,
              resultFormat: "objectArray",
              authorizationScopeFilter: AUTHORIZATION_SCOPE_FILTER,
              ...(skipToken ? { skipToken } : {}),
            },
          },
          (raw) => {
            if (raw.headers.get(SUBSCRIPTION_LIMIT_HEADER)?.toLowerCase() === "true") limitHit = true;
            if (raw.headers.get("x-ms-user-quota-remaining") === "0") {
              const wait =
                parseResetsAfter(raw.headers.get("x-ms-user-quota-resets-after")) ?? DEFAULT_QUOTA_WAIT_MS;
              quotaResetsAt = Date.now() + wait;
            }
          },
        );
      } catch (error) {
        // A scope too large to query at once is handled as the cut-off is: in subscription groups.
        if (!params.subscriptions?.length && isTooManySubscriptions(error)) {
          // Said in the cut-off's messages; a planned management-group scope is read again by its subscriptions.
          if (scope.kind === "whole") refusedAsTooMany = true;
          return { limitHit: true };
        }
        throw error;
      }
      page += 1;
      if (!Array.isArray(response.data))
        throw new Error(`Resource Graph answered the ${name} query without a row array.`);
      // A scope cut off answers nothing worth reading, cut or not: it is asked again in groups.
      if (limitHit && !allowPartialScopes) {
        stats.rows += response.data.length;
        return { limitHit };
      }
      if (response.resultTruncated === "true" && !response.skipToken) {
        stats.rows += response.data.length;
        options.onPage?.({
          query: name,
          page,
          rows: received,
          totalRecords: response.totalRecords,
          pageRows: response.data.length,
        });
        throw new TruncatedResult(
          `Resource Graph truncated the ${name} query (${response.count} of ${response.totalRecords} rows) and offered no way to page.`,
          response.totalRecords,
        );
      }
      stats.rows += response.data.length;
      // Pages are separate runs of the query: a total that moves means rows moved between pages.
      if (totalRecords !== undefined && response.totalRecords !== totalRecords) throw new InconsistentPages();
      totalRecords = response.totalRecords;
      response.data.forEach((item: unknown, index: number) => {
        received += 1;
        const found = idOf(item);
        const id = found ? idKey(found) : undefined;
        if (id === undefined) withoutId += 1;
        else if (ids.has(id)) return;
        else ids.add(id);
        onItem(item, page, index);
      });
      options.onPage?.({
        query: name,
        page,
        rows: received,
        totalRecords: response.totalRecords,
        pageRows: response.data.length,
      });
      skipToken = response.skipToken;
    } while (skipToken);
    if (totalRecords !== undefined && ids.size + withoutId !== totalRecords) throw new InconsistentPages();
    return { limitHit };
  }

  /**
   * One query over one scope, read again once if its pages did not add up. Each item is converted
   * as it arrives, so the raw rows are not kept alongside what they are read into.
   */
  async function consistent<E>(
    name: string,
    query: string,
    params: { subscriptions?: string[]; managementGroups?: string[]; allowPartialScopes?: boolean },
    convert: (item: unknown, where: string) => E,
  ): Promise<{ entries: E[]; limitHit: boolean }> {
    for (let attempt = 1; ; attempt++) {
      const entries: E[] = [];
      try {
        const { limitHit } = await pages(name, query, params, (item, page, index) =>
          entries.push(convert(item, `page ${page}, row ${index}`)),
        );
        return { entries, limitHit };
      } catch (error) {
        if (!(error instanceof InconsistentPages)) throw error;
        if (attempt >= 2) {
          throw new Error(
            `The ${name} query's result changed while it was being paged (rows were missed or repeated), twice; its inventory is incomplete. Scan again.`,
            { cause: error },
          );
        }
      }
    }
  }

  /**
   * The requests a query over every subscription takes, by management group: null when the tree
   * cannot be read (said through onScope) or saves no request over the subscription groups.
   */
  async function wideScopes(groups: string[][]): Promise<WideScope[] | null> {
    const read = readTree();
    if (!read) return null;
    const { roots, limit, answer } = read;
    const listed = groups.flat();
    const answered = await answer;
    if ("error" in answered) {
      options.onScope?.({
        reason: `management groups not read (${errorMessage(answered.error)}; Reader on ${roots.join(", ")} reads them, MANAGEMENT_GROUP_SCOPE_LIMIT=0 stops asking); every subscription group is its own request`,
        groups: groups.length,
        subscriptions: listed.length,
      });
      return null;
    }
    const plan = planScopes(roots, answered.descendants, listed, limit);
    // Planned once per scope: the tree (a row per subscription) is not kept for the rest of the scan.
    answered.descendants = [];
    const wide: WideScope[] = [
      ...plan.scopes.map((scope) => ({ managementGroups: scope })),
      ...groupsOf(plan.leftover, options.subscriptionGroupSize).map((subscriptions) => ({ subscriptions })),
    ];
    if (wide.length >= groups.length) {
      options.onScope?.({
        reason: `management groups save no request (${plan.scopes.length} within the cut-off); every subscription group is its own request`,
        groups: groups.length,
        subscriptions: listed.length,
      });
      return null;
    }
    options.onScope?.({
      reason: `${plan.scopes.length} request(s) by management group, ${plan.leftover.length} subscription(s) by groups`,
      groups: wide.length,
      subscriptions: listed.length,
    });
    return wide;
  }

  /**
   * The management group tree under the scope's roots, read once (ARM, not Resource Graph's
   * quota); null when the scan does not plan by management group.
   */
  function readTree() {
    const limit = options.managementGroupScopeLimit ?? 0;
    const list = options.listManagementGroups;
    const roots = treeRoots(configured, options.tenantRootGroup);
    if (limit <= 0 || !list || roots.length === 0) return null;
    tree ??= (async () => {
      const descendants: Descendant[] = [];
      for (const root of roots) for (const d of await list(root)) descendants.push(d);
      return { descendants };
    })().catch((error: unknown) => ({ error }));
    return { roots, limit, answer: tree };
  }

  /** After a cut-off: the subscriptions to scan, listed through ARM, in groups. */
  async function groupsAfterCutOff(name: string): Promise<string[][]> {
    const what = configured.managementGroups.length
      ? `management group(s) ${configured.managementGroups.join(", ")}`
      : "the tenant";
    const missed = refusedAsTooMany
      ? `Resource Graph refused ${what} as too large to query at once (${TOO_MANY_SUBSCRIPTIONS}) in the ${name} query; it was not scanned`
      : options.pastCutOff
        ? `Resource Graph covered only the first 10,000 subscriptions of ${what} when last asked; the ${name} query was not sent over it`
        : `Resource Graph covered only the first 10,000 subscriptions of ${what} in the ${name} query; the rest were not scanned`;
    if (!options.listSubscriptions) throw new Error(`${missed}. Set SCAN_SUBSCRIPTIONS to scan them.`);
    let listed: string[];
    try {
      listed = await options.listSubscriptions();
    } catch (error) {
      throw new Error(
        `${missed}, and listing subscriptions through Azure Resource Manager failed: ${errorMessage(error)}`,
        { cause: error },
      );
    }
    let groups = groupsOf(listed, options.subscriptionGroupSize);
    if (configured.managementGroups.length > 0) {
      // ARM lists every readable subscription; keep those under the configured management groups.
      const under = new Set<string>();
      for (const group of groups) {
        // A row per subscription and configured group above it (nested groups give two): each id
        // is kept once.
        const { entries } = await consistent(
          "management group membership",
          subscriptionsUnderQuery(configured.managementGroups),
          { subscriptions: group },
          (item) => (item as Item | null)?.subscriptionId,
        );
        for (const id of entries) if (typeof id === "string" && id) under.add(id);
      }
      groups = groupsOf([...under], options.subscriptionGroupSize);
    }
    options.onScope?.({
      reason: options.pastCutOff
        ? `${SUBSCRIPTION_LIMIT_HEADER} when last asked`
        : `${refusedAsTooMany ? TOO_MANY_SUBSCRIPTIONS : SUBSCRIPTION_LIMIT_HEADER} on the ${name} query`,
      groups: groups.length,
      subscriptions: groups.reduce((n, g) => n + g.length, 0),
    });
    // Read the tree now, beside the queries that come first: ready when a query over every
    // subscription plans its scopes.
    readTree();
    return groups;
  }

  /** The request scopes of a query about these subscriptions only. */
  function scopesAbout(about: readonly string[]): string[][] {
    const wanted = [...new Set(about.map((id) => idKey(id)))];
    const allowed = scope.kind === "groups" ? new Set(scope.groups.flat().map((id) => idKey(id))) : null;
    return groupsOf(
      wanted.filter((id) => allowed === null || allowed.has(id)),
      MAX_SUBSCRIPTIONS_PER_REQUEST,
    );
  }

  const queryTenant: QueryTenant = async (name, query, rowSchema) => {
    // A cut-off or a refused scope only touches rows of subscriptions, which the scoped queries read.
    const { entries } = await consistent(
      name,
      query,
      { allowPartialScopes: true },
      readerOf(name, rowSchema),
    );
    return splitEntries(entries);
  };

  const queryAll: QueryAll = async <T>(
    name: string,
    query: string,
    rowSchema: z.ZodType<T>,
    about?: readonly string[],
  ) => {
    const read = readerOf(name, rowSchema);
    let collected: Entry<T>[] = [];
    const narrowed = about ? scopesAbout(about) : null;
    if (!narrowed && scope.kind === "whole" && options.pastCutOff)
      scope = { kind: "groups", groups: await groupsAfterCutOff(name) };
    if (narrowed) {
      for (const group of narrowed)
        collected.push(...(await consistent(name, query, { subscriptions: group }, read)).entries);
    } else if (scope.kind === "whole") {
      const { entries, limitHit } = await consistent(name, query, scope.params, read);
      if (limitHit) scope = { kind: "groups", groups: await groupsAfterCutOff(name) };
      else collected = entries;
    }
    if (!narrowed && scope.kind === "groups") {
      if (scope.wide === undefined) scope.wide = await wideScopes(scope.groups);
      const seen = new Set<string>();
      const planned = scope.wide;
      const next: WideScope[] = [];
      for (const wide of planned ?? scope.groups.map((subscriptions) => ({ subscriptions }))) {
        const { entries, became } = await readWide(name, query, wide, read);
        next.push(...became);
        for (const entry of entries) {
          const id = entry.id ? idKey(entry.id) : undefined;
          if (id !== undefined) {
            if (seen.has(id)) continue;
            seen.add(id);
          }
          collected.push(entry);
        }
      }
      // What later queries send: a scope checked or found cut off is not asked the same again.
      if (planned && scope.kind === "groups") scope.wide = next;
    }

    return splitEntries(collected);
  };

  /**
   * One wide scope's rows, and what the scope is for the queries after this one. A management-group
   * scope is first checked against Resource Graph's own view of its members: members it does not
   * place there are read by subscription groups beside it. A scope whose check or request fails, is
   * cut off or refused (it grew since the tree was read), or cannot be paged (a `summarize` past
   * its first page), is read by its subscriptions instead, as it would have been without a plan.
   */
  async function readWide<E>(
    name: string,
    query: string,
    wide: WideScope,
    read: (item: unknown, where: string) => E,
  ): Promise<{ entries: E[]; became: WideScope[] }> {
    const bySubscriptions = async (subscriptions: string[]) => {
      const entries: E[] = [];
      const groups = groupsOf(subscriptions, options.subscriptionGroupSize);
      for (const group of groups)
        for (const entry of (await consistent(name, query, { subscriptions: group }, read)).entries)
          entries.push(entry);
      return { entries, became: groups.map((group) => ({ subscriptions: group })) };
    };
    if ("subscriptions" in wide) return bySubscriptions(wide.subscriptions);
    const scope = wide.managementGroups;
    const instead = async (why: string) => {
      options.onScope?.({
        reason: `management group(s) ${scope.managementGroups.join(", ")} ${why} in the ${name} query; read by subscription groups`,
        groups: Math.ceil(scope.subscriptions.length / options.subscriptionGroupSize),
        subscriptions: scope.subscriptions.length,
      });
      return bySubscriptions(scope.subscriptions);
    };
    let checkedAt = wide.checkedAt;
    let missing: string[] = [];
    if (checkedAt === undefined || Date.now() - checkedAt > MEMBERS_CHECK_MS) {
      const found = await scopeMembers(scope.managementGroups);
      if ("problem" in found) return instead(found.problem);
      checkedAt = Date.now();
      missing = scope.subscriptions.filter((s) => !found.members.has(s));
      if (missing.length > 0)
        options.onScope?.({
          reason: `${missing.length} subscription(s) that ARM places under management group(s) ${scope.managementGroups.join(", ")} are not under them in Resource Graph; read by subscription groups`,
          groups: Math.ceil(missing.length / options.subscriptionGroupSize),
          subscriptions: missing.length,
        });
    }
    const checked: WideScope = { managementGroups: scope, checkedAt };
    let whole;
    try {
      whole = await consistent(name, query, { managementGroups: scope.managementGroups }, read);
    } catch (error) {
      // This query by the scope's subscriptions; the scope stays for the queries after it.
      const byGroups = await instead(`failed (${errorMessage(error)})`);
      return { entries: byGroups.entries, became: [checked] };
    }
    // Cut off or refused: the scope grew past what one request covers, for every query after too.
    if (whole.limitHit) return instead("were cut off or refused");
    const rest = await bySubscriptions(missing);
    return { entries: [...whole.entries, ...rest.entries], became: [checked, ...rest.became] };
  }

  /** The subscriptions Resource Graph places under these management groups, or why it did not say in full. */
  async function scopeMembers(
    managementGroups: string[],
  ): Promise<{ members: Set<string> } | { problem: string }> {
    try {
      const { entries, limitHit } = await consistent(
        "management group members",
        SCOPE_MEMBERS_QUERY,
        { managementGroups },
        (item) => scopeMembersSchema.safeParse(item),
      );
      if (limitHit) return { problem: "were cut off or refused when their members were checked" };
      const only = entries.length === 1 ? entries[0]! : null;
      if (!only?.success) return { problem: "did not say their members in one readable row" };
      const { members, subscriptions } = only.data;
      if (subscriptions.length !== members)
        return { problem: `listed ${subscriptions.length} of their ${members} members` };
      return { members: new Set(subscriptions.map((id) => idKey(id))) };
    } catch (error) {
      return { problem: `could not have their members checked (${errorMessage(error)})` };
    }
  }

  async function wholeOrGroups<T>(
    name: string,
    query: string,
    rowSchema: z.ZodType<T>,
  ): Promise<{ rows: QueryRows<T> } | { groups: string[][] }> {
    if (scope.kind === "whole" && options.pastCutOff)
      scope = { kind: "groups", groups: await groupsAfterCutOff(name) };
    if (scope.kind === "whole") {
      const { entries, limitHit } = await consistent(name, query, scope.params, readerOf(name, rowSchema));
      if (!limitHit) return { rows: splitEntries(entries) };
      scope = { kind: "groups", groups: await groupsAfterCutOff(name) };
    }
    return { groups: scope.groups };
  }

  return {
    queryAll,
    queryTenant,
    stats,
    subscriptionGroups: () => (scope.kind === "groups" && scope.groups.length > 1 ? scope.groups : null),
    wholeOrGroups,
  };
}

type Entry<T> = { id: string | undefined; row?: T; error?: RowError };

/** Reads one item with the row schema; a row it cannot read becomes a named error. */
function readerOf<T>(name: string, rowSchema: z.ZodType<T>) {
  return (item: unknown, where: string): Entry<T> => {
    const id = idOf(item) ?? undefined;
    const parsed = rowSchema.safeParse(item);
    if (parsed.success) return { id, row: parsed.data };
    const issue = parsed.error.issues[0];
    const named = id ?? namedBy(item) ?? `(no id; ${where})`;
    const message = `Resource Graph returned a ${name} row that cannot be read, ${named}: ${jsonPath(issue?.path ?? [])} ${issue?.message ?? ""}`;
    return { id, error: { id: named, message: message.trim() } };
  };
}

function splitEntries<T>(collected: Entry<T>[]): QueryRows<T> {
  const rows: T[] = [];
  const unreadable: RowError[] = [];
  for (const entry of collected) {
    if (entry.error) unreadable.push(entry.error);
    else rows.push(entry.row as T);
  }
  return { rows, unreadable };
}

/** Rows without an id of their own may still say whose they are (a peering row names its VNet). */
function namedBy(item: unknown): string | null {
  if (typeof item !== "object" || item === null) return null;
  const vnetId = (item as Item).vnetId;
  return typeof vnetId === "string" && vnetId.length > 0 ? `a row of ${vnetId}` : null;
}
