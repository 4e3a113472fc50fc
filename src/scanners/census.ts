import { idKey } from "../azure/resource-id";
import { z } from "zod";
import { TruncatedResult } from "../azure/resource-graph";
import { errorMessage } from "../errors";
import type { ScanContext, ScanError } from "./scanner";
import { REMOTE_TENANT_JOIN, rowCollector, text, windowName, type WindowsRead } from "./windows";

/**
 * Past Resource Graph's 10,000-subscription cut-off each subscription group is its own request
 * scope, and the `resourcecontainers` join sees only the group's own subscriptions: a peering to a
 * same-tenant hub in another group would come back as a candidate. So, per group, a census first:
 * which remote subscriptions the group's items point at, as sets per local tenant (at most 16
 * rows a tenant, however many subscriptions a hub points at), classified against ARM's subscription list and the
 * tenant cache; then the candidate rows only of the remote subscriptions that are foreign or
 * unknown.
 */

/**
 * `summarize` results are "simplified, first page only" (learn.microsoft.com/azure/governance/
 * resource-graph/concepts/query-language, supported operators) and a page holds at most 1000 rows:
 * a census that would be longer, or whose set of remote subscriptions reached its bound (censusSetMax), is
 * asked again over smaller parts of its group, each sized by the total Resource Graph reported to
 * fill about this share of a page.
 */
export const CENSUS_PAGE_SHARE = 0.8;

/**
 * How long the filter list of remote subscriptions in one candidate query may get. Resource Graph
 * publishes no limit on a query's length; this keeps each query near the size of the queries it
 * already takes (about 400 subscription ids), and a longer list is split into more queries.
 */
export const MAX_FILTER_TEXT = 16_000;

/**
 * The most remote subscriptions one census row's set holds (`make_set(x, max)`,
 * learn.microsoft.com/kusto/query/make-set-aggregation-function): five ids per row of a Resource
 * Graph page (5,000 at the default 1000 rows, about 200 KB of ids), so a group's census of 16 rows
 * a tenant holds up to 80,000 remote subscriptions before it is cut. A set that reaches it may
 * have been cut, so its group is counted again in smaller parts.
 */
export const censusSetMax = (pageSize: number) => 5 * pageSize;

export const censusRowSchema = z.object({
  localTenantId: text,
  /** The remote subscriptions pointed at from that tenant (one bucket of them). */
  remotes: z.array(text),
  /** Items (peerings, connections) pointing there from that tenant. */
  items: z.number().int(),
  /** 1 when some container holds more items than this window reads (peerings; absent: read on). */
  more: z.number().int().nullish(),
  /**
   * The local subscriptions whose items point into this row's remote subscriptions (peerings), at
   * most LOCALS_MAX; absent, or at the bound: any subscription of the census's part may.
   */
  locals: z.array(text).nullish(),
});
export type CensusRow = z.infer<typeof censusRowSchema>;

/** The census of one group: its rows, and the subscriptions whose census alone outgrew a page. */
export interface GroupCensus {
  rows: CensusRow[];
  /** Subscriptions whose census could not be read in one page: read them unfiltered. */
  unfiltered: string[];
}

/** Splits `items` into `parts` nearly equal slices. */
function slices<T>(items: T[], parts: number): T[][] {
  const size = Math.ceil(items.length / parts);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A subscription counted as one of a group's fan-outs: above this many census rows on its own. */
export const FAN_OUT_ROWS = 10;

export const fanOutRowSchema = z.object({ subscriptionId: z.string().min(1), censusRows: z.number().int() });

/** The census query of a check, and its count of census rows per subscription (the fan-outs). */
export interface CensusQueries {
  name: string;
  /** The census query, given the most remote subscriptions one row's set may hold. */
  census(setMax: number): string;
  /** Subscriptions giving more than FAN_OUT_ROWS census rows each, with how many. */
  fanOut: string;
  /**
   * A whole group's census is first asked through this request, which brings other rows with it
   * (the peering census with the array summary, array-summary.ts): `read` gives its census rows
   * and the messages of those that cannot be read.
   */
  first?: {
    read(setMax: number, group: string[]): Promise<{ rows: CensusRow[]; unreadable: string[] }>;
  };
}

/**
 * Cuts a group whose census outgrew a page: its fan-outs (hubs) packed into parts of at most
 * `rows` census rows by their own counts, and the rest of the group as one part.
 */
export function packByFanOut(group: string[], fanOuts: Map<string, number>, rows: number): string[][] {
  const parts: string[][] = [];
  let part: string[] = [];
  let filled = 0;
  const rest: string[] = [];
  for (const subscription of group) {
    const count = fanOuts.get(idKey(subscription));
    if (count === undefined) {
      rest.push(subscription);
      continue;
    }
    if (part.length > 0 && filled + count > rows) {
      parts.push(part);
      part = [];
      filled = 0;
    }
    part.push(subscription);
    filled += count;
  }
  if (part.length > 0) parts.push(part);
  if (rest.length > 0) parts.push(rest);
  return parts;
}

/**
 * The census of one group, cut where Resource Graph cut it at its first page: first by the
 * group's fan-outs (one more request), then, where a part is still cut, into parts sized by the
 * total Resource Graph reported. Unreadable rows are returned as messages.
 */
export async function censusOf(
  context: Pick<ScanContext, "queryAll" | "config">,
  queries: CensusQueries,
  group: string[],
  unreadable: string[],
  fanOutsAsked = false,
): Promise<GroupCensus> {
  const pageRows = CENSUS_PAGE_SHARE * context.config.RESOURCE_GRAPH_PAGE_SIZE;
  const setMax = censusSetMax(context.config.RESOURCE_GRAPH_PAGE_SIZE);
  const ownCensus = () =>
    context
      .queryAll(queries.name, queries.census(setMax), censusRowSchema, group)
      .then((r) => ({ rows: r.rows, unreadable: r.unreadable.map((u) => u.message) }));
  try {
    // The whole group (not yet cut) is asked through the request it shares, where there is one;
    // when that request fails (its other part may be what failed), the census is asked on its own.
    const result =
      queries.first && !fanOutsAsked
        ? await queries.first.read(setMax, group).catch((error: unknown) => {
            if (error instanceof TruncatedResult) throw error;
            return ownCensus();
          })
        : await ownCensus();
    // A set that reached its bound may have been cut: its remote subscriptions, or the local ones
    // that point there (which decide where candidates are read).
    if (result.rows.some((row) => row.remotes.length >= setMax))
      throw new TruncatedResult(
        `A set of remote subscriptions of the ${queries.name} query reached ${setMax}`,
        2 * pageRows,
      );
    unreadable.push(...result.unreadable);
    return { rows: result.rows, unfiltered: [] };
  } catch (error) {
    if (!(error instanceof TruncatedResult)) throw error;
    if (group.length < 2) return { rows: [], unfiltered: group };
    let parts: string[][] | null = null;
    if (!fanOutsAsked) {
      try {
        const counted = await context.queryAll(
          `${queries.name} fan-out`,
          queries.fanOut,
          fanOutRowSchema,
          group,
        );
        const fanOuts = new Map(counted.rows.map((r) => [idKey(r.subscriptionId), r.censusRows]));
        // Each subscription's own count bounds what it adds to a part: parts may fill a page.
        if (fanOuts.size > 0) parts = packByFanOut(group, fanOuts, context.config.RESOURCE_GRAPH_PAGE_SIZE);
      } catch (countError) {
        if (!(countError instanceof TruncatedResult)) throw countError;
      }
    }
    parts ??= slices(group, Math.min(group.length, Math.max(2, Math.ceil(error.totalRecords / pageRows))));
    const census: GroupCensus = { rows: [], unfiltered: [] };
    for (const part of parts) {
      const read = await censusOf(context, queries, part, unreadable, true);
      census.rows.push(...read.rows);
      census.unfiltered.push(...read.unfiltered);
    }
    return census;
  }
}

/**
 * The remote subscriptions of a census that are candidates: any whose tenant is not known to be
 * the local one (foreign, unknown, or not a subscription id at all). Same-tenant remotes in other
 * groups never leave Resource Graph.
 */
export async function candidateRemotes(
  rows: CensusRow[],
  context: Pick<ScanContext, "tenants">,
): Promise<string[]> {
  const candidates = new Set<string>();
  const tenants = new Map<string, string | null | undefined>();
  for (const row of rows) {
    for (const remoteId of row.remotes) {
      const remote = idKey(remoteId);
      if (candidates.has(remote)) continue;
      if (!tenants.has(remote))
        tenants.set(remote, remote ? await context.tenants.tenantIfKnown(remote) : undefined);
      const tenant = tenants.get(remote);
      if (tenant && idKey(tenant) === idKey(row.localTenantId)) continue;
      candidates.add(remote);
    }
  }
  return [...candidates].sort();
}

/**
 * The most local subscriptions a census row names (`make_set(x, max)`): enough for a row of spokes,
 * while a row of hubs (each of a group's hubs points into every bucket) stays a few KB. A row that
 * reaches it may have been cut, so its whole part is read where it holds a candidate.
 */
export const LOCALS_MAX = 100;

/** Where candidate items are read: some subscriptions, and the candidate remotes they point at. */
export interface CandidateScope {
  subscriptions: string[];
  remotes: string[];
}

/**
 * The scopes of the candidate reads: the subscriptions whose census rows hold a candidate remote
 * (a row's `locals`, or its whole part where the row does not say, names none, reaches
 * LOCALS_MAX, or names a subscription outside the part), packed in row order into
 * scopes of at most `size` subscriptions across groups, each with the candidate remotes of its
 * rows. So the reads follow the candidates, not the number of groups; every subscription that
 * points at a candidate is in a scope with that candidate.
 */
export function candidateScopes(
  censuses: { rows: CensusRow[]; subscriptions: string[] }[],
  candidates: readonly string[],
  size: number,
): CandidateScope[] {
  const wanted = new Set(candidates.map((id) => idKey(id)));
  const scopes: CandidateScope[] = [];
  let subscriptions = new Map<string, string>();
  let remotes = new Set<string>();
  const close = () => {
    if (subscriptions.size > 0)
      scopes.push({ subscriptions: [...subscriptions.values()], remotes: [...remotes].sort() });
    subscriptions = new Map();
    remotes = new Set();
  };
  for (const census of censuses) {
    const inPart = new Set(census.subscriptions.map((id) => idKey(id)));
    for (const row of census.rows) {
      const pointed = row.remotes.map((id) => idKey(id)).filter((id) => wanted.has(id));
      if (pointed.length === 0) continue;
      // Locals that may be cut (at the bound) or say nothing (none, or some outside the part) are
      // not trusted: the whole part.
      const named = row.locals ?? [];
      const trusted =
        named.length > 0 && named.length < LOCALS_MAX && named.every((id) => inPart.has(idKey(id)));
      for (const local of trusted ? named : census.subscriptions) {
        const key = idKey(local);
        if (!subscriptions.has(key) && subscriptions.size >= size) close();
        subscriptions.set(key, local);
        // A scope's remotes are those of every row that put a subscription in it.
        for (const remote of pointed) remotes.add(remote);
      }
    }
  }
  close();
  return scopes;
}

/** A KQL string literal of an id (ids are GUIDs; anything else is dropped of quotes and backslashes). */
const literal = (id: string) => `'${id.replace(/['\\]/g, "")}'`;

/**
 * The `in` lists of remote subscriptions, each short enough for one query
 * (`| where remoteSubscriptionId in (...)`).
 */
export function filterLists(remotes: string[], maxText = MAX_FILTER_TEXT): string[] {
  const lists: string[] = [];
  let current: string[] = [];
  let length = 0;
  for (const remote of remotes) {
    const item = literal(remote);
    if (current.length > 0 && length + item.length + 2 > maxText) {
      lists.push(current.join(", "));
      current = [];
      length = 0;
    }
    current.push(item);
    length += item.length + 2;
  }
  if (current.length > 0) lists.push(current.join(", "));
  return lists;
}

/**
 * A windowed check's candidate query (private endpoint connections, virtual-network rules, private
 * link service lists) in two: what expands the items, each with its `remoteSubscriptionId`, and
 * the join on `resourcecontainers` (windows.ts REMOTE_TENANT_JOIN) with the projection after it.
 */
function cutAtJoin(candidates: string): { expansion: string; judged: string } {
  const at = candidates.indexOf(`| ${REMOTE_TENANT_JOIN}`);
  if (at < 0) throw new Error("The candidate query has no remote tenant join to cut at.");
  return { expansion: candidates.slice(0, at), judged: candidates.slice(at) };
}

/** The census of a windowed check's items: sets of remote subscriptions per local tenant and last hex digit. */
export function windowedCensusQuery(candidates: string, setMax: number): string {
  return `${cutAtJoin(candidates).expansion}| extend localTenantId = tolower(tenantId), bucket = substring(remoteSubscriptionId, 35, 1)
| summarize remotes = make_set(remoteSubscriptionId, ${setMax}), items = count() by localTenantId, bucket`;
}

/** How many remote subscriptions each subscription's items point at, for those above `over`. */
export function windowedFanOutQuery(candidates: string, over: number): string {
  return `${cutAtJoin(candidates).expansion}| summarize items = count() by subscriptionId, remoteSubscriptionId
| summarize censusRows = count() by subscriptionId
| where censusRows > ${over}`;
}

/** The candidate query filtered to some remote subscriptions (a list from filterLists). */
export function windowedFilteredQuery(candidates: string, list: string): string {
  const { expansion, judged } = cutAtJoin(candidates);
  return `${expansion}| where remoteSubscriptionId in (${list})\n${judged}`;
}

/**
 * Past the cut-off: a windowed check's candidates group by group, each window by a census of
 * remote subscriptions first, then the candidate query filtered to the foreign or unknown ones
 * (a subscription whose census alone does not fit is read unfiltered). Rows are de-duplicated by
 * id; unreadable rows become errors. Returns null when a query failed (the error is recorded).
 */
export async function readByCensus<T extends { id: string }>(
  context: ScanContext,
  source: string,
  read: WindowsRead<T>,
  groups: string[][],
  errors: ScanError[],
): Promise<T[] | null> {
  const collected = rowCollector<T>(source, errors);
  try {
    for (const group of groups) {
      for (let window = 0; window < read.windows; window++) {
        const query = read.windowQuery(window);
        const name = windowName(read.name, window);
        const unreadable: string[] = [];
        const census = await censusOf(
          context,
          {
            name: `${name} census`,
            census: (setMax) => windowedCensusQuery(query, setMax),
            fanOut: windowedFanOutQuery(query, FAN_OUT_ROWS),
          },
          group,
          unreadable,
        );
        for (const message of unreadable) errors.push({ source, message });
        for (const list of filterLists(await candidateRemotes(census.rows, context)))
          collected.add(
            await context.queryAll(name, windowedFilteredQuery(query, list), read.rowSchema, group),
          );
        if (census.unfiltered.length > 0)
          collected.add(
            await context.queryAll(`${name} (unfiltered)`, query, read.rowSchema, census.unfiltered),
          );
      }
    }
  } catch (error) {
    errors.push({
      source,
      message: `Reading ${read.what} from Resource Graph failed: ${errorMessage(error)}`,
    });
    return null;
  }
  return collected.rows;
}
