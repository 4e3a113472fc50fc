import { objectIdOf } from "./credential";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { NetworkProvider, type NetworkOptions } from "./arm-network";
import { GraphDirectory, type GraphDirectoryCounters } from "./graph/directory";
import { authorizationRowInScope, AUTHORIZATION_SCOPE_FILTERS } from "./resource-graph/authorization-scope";
import { servePolicies } from "./graph/policies";
import { serveLogAnalytics, type LogAnalyticsOptions } from "./log-analytics/query";
import { ArmReadLimits, readThrottled } from "./arm/read-limits";
import { managementGroupAncestors, serveManagementGroups } from "./arm/management-groups";
import { isVisible, type Estate, type EstateSubscription } from "./estate";
import { KqlError, runQuery, type Row } from "./kql";
import { graphTables, type GraphTables } from "./tables";
import { loopbackTlsIdentity } from "./tls";

/** An answer the sandbox gives instead of the real one, to show how the scanner copes. */
export interface Fault {
  status: number;
  retryAfterSeconds?: number;
  /**
   * A 429 as Resource Graph documents it: only `x-ms-user-quota-remaining: 0` and
   * `x-ms-user-quota-resets-after` (this many seconds), no Retry-After
   * (guidance-for-throttled-requests.md, "Understand throttling headers").
   */
  quotaResetsAfterSeconds?: number;
  message?: string;
}

export interface SandboxOptions {
  estate: Estate;
  /** Resource Graph's per-identity quota; Azure allows about 15 requests per 5 seconds. */
  quota?: { requests: number; windowMs: number };
  /**
   * Called with the 1-based number of each Resource Graph request and its query text (undefined when
   * the body names none); a fault replaces the answer.
   */
  resourceGraphFault?: (requestNumber: number, query: string | undefined) => Fault | undefined;
  /** Whether the scanner holds Graph's CrossTenantInformation.ReadBasic.All (default true). */
  graphAccess?: boolean;
  /** Whether the scanner holds Graph's Directory.Read.All, which getByIds needs (default true). */
  directoryAccess?: boolean;
  /**
   * How many subscriptions a tenant- or management-group-scoped query covers before Resource Graph
   * cuts it off and says so in `x-ms-tenant-subscription-limit-hit` (10,000 in Azure; tests set less).
   */
  tenantSubscriptionLimit?: number;
  /**
   * Re-run the query for every page, as Resource Graph does, so changes to `estate` between pages
   * show up as missed or repeated rows (the docs warn of both). Off by default: pages come from one run.
   */
  volatile?: boolean;
  /** Subscriptions per page of ARM's `GET /subscriptions` (its page size is not documented). */
  subscriptionListPageSize?: number;
  /**
   * Descendants per page of ARM's management-group descendants without `$top` (default 100; Azure
   * does not document its page size).
   */
  descendantsPageSize?: number;
  /**
   * Whether the scanner may read management groups (default true). When false, the descendants
   * request is refused with 403 AuthorizationFailed, as ARM refuses a principal without a role there.
   */
  managementGroupsReadable?: boolean;
  /** Called with the 1-based number of each `GET /subscriptions` page request; a fault replaces the answer. */
  subscriptionListFault?: (requestNumber: number) => Fault | undefined;
  /** Called with the subscription id of each `GET /subscriptions/{id}` (a tenant lookup); a fault replaces the answer. */
  subscriptionLookupFault?: (subscriptionId: string) => Fault | undefined;
  /** The network provider's delays and Event Grid target (see NetworkOptions). */
  network?: NetworkOptions;
  /**
   * Past how many subscriptions a tenant- or management-group-scoped query is refused with 400
   * `TooManySubscriptionsUnderScope` unless the request sets `options.allowPartialScopes`
   * (FACTS.md, Resource Graph limits; about 18,000 in Azure, tests set less).
   */
  maxSubscriptionsUnderScope?: number;
  /** Members per page of Graph's `transitiveMembers` (default 100). */
  memberPageSize?: number;
  /** Properties Graph's directory answers leave out (a fault mode: see GraphDirectoryOptions). */
  omitGraphProperties?: string[];
  /** The Log Analytics query API's partial results and query log (see LogAnalyticsOptions). */
  logAnalytics?: LogAnalyticsOptions;
}

export interface SandboxCounters {
  resourceGraphRequests: number;
  /** Requests refused with 429 because the identity's quota was spent. */
  throttledRequests: number;
  subscriptionLookups: number;
  /** Pages of ARM's `GET /subscriptions`. */
  subscriptionListRequests: number;
  /** Requests (pages) of ARM's management-group descendants (sandbox/arm/management-groups.ts). */
  managementGroupDescendantsRequests: number;
  /** ARM reads refused with 429 under ARM's read limits (sandbox/arm/read-limits.ts). */
  armThrottled: number;
  tenantLookups: number;
  /** Graph `directoryObjects/getByIds` requests. */
  directoryLookups: number;
  /** Graph's directory reads by kind (getByIds, users, group members, domain lookups). */
  graph: GraphDirectoryCounters;
  /** Resource Graph requests answered (quota and faults aside), by query text: what each check cost. */
  resourceGraphQueries: Map<string, number>;
}

export interface RunningSandbox {
  /** https://127.0.0.1:<port>: the ARM and Microsoft Graph endpoint in one. */
  url: string;
  /** The certificate clients must trust (PEM). */
  ca: string;
  counters: SandboxCounters;
  /** ARM's network provider over the live estate: its writes, change records and events. */
  network: NetworkProvider;
  close(): Promise<void>;
}

const MAX_PAGE = 1000;
const MAX_PAGINGS = 200;
/**
 * At most 1000 subscriptions in one request (resource-graph/troubleshoot/general.md, "Too many
 * subscriptions"; guidance-for-throttled-requests.md recommends groups under 300).
 */
const MAX_SUBSCRIPTIONS_PER_REQUEST = 1000;
/** A tenant or management-group scope covers the first 10,000 subscriptions (guidance-for-throttled-requests.md). */
const TENANT_SUBSCRIPTION_LIMIT = 10_000;
/** Past about 18,000 subscriptions a tenant scope is refused (FACTS.md, Resource Graph limits). */
const MAX_SUBSCRIPTIONS_UNDER_SCOPE = 18_000;
const ARM_SUBSCRIPTION_PAGE = 100;

const queryRequestSchema = z.object({
  query: z.string().min(1),
  subscriptions: z.array(z.string()).optional(),
  managementGroups: z.array(z.string()).optional(),
  options: z
    .object({
      $top: z.number().int().optional(),
      $skip: z.number().int().min(0).optional(),
      $skipToken: z.string().optional(),
      resultFormat: z.string().optional(),
      allowPartialScopes: z.boolean().optional(),
      authorizationScopeFilter: z.enum(AUTHORIZATION_SCOPE_FILTERS).optional(),
    })
    .optional(),
});

interface Paging {
  query: string;
  scopeKey: string;
  /** The rows of the run that served the first page; null in volatile mode, which runs again per page. */
  rows: Row[] | null;
  offset: number;
}

/**
 * An invalid request as Resource Graph answers it: 400 BadRequest with the reason in `details`.
 * Modelled on the documented error response (ErrorResponse: code, message, details[]); the exact
 * detail codes Azure uses for each limit are not published.
 */
const badRequest = (detailCode: string, detail: string) => ({
  error: {
    code: "BadRequest",
    message: "Please provide below info when asking for support: the query or its scope is invalid.",
    details: [{ code: detailCode, message: detail }],
  },
});

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  res.end(JSON.stringify(body));
}

const armError = (code: string, message: string) => ({ error: { code, message } });

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** The query text of a Resource Graph request body, for faults aimed at one check's query. */
function queryOf(body: string): string | undefined {
  try {
    const query = (JSON.parse(body) as { query?: unknown }).query;
    return typeof query === "string" ? query : undefined;
  } catch {
    return undefined;
  }
}

const bearer = (req: IncomingMessage) => {
  const header = req.headers.authorization;
  return header?.startsWith("Bearer ") ? header.slice(7) : undefined;
};

/** The quota is per identity (guidance-for-throttled-requests.md), not per token: a fresh token shares it. */
/** The caller: the token's object id, or the token itself when it names none. */
const identityOf = (token: string): string => objectIdOf(token) ?? token;

const resetsAfter = (ms: number) => {
  const s = Math.ceil(ms / 1000);
  return `${String(Math.floor(s / 3600)).padStart(2, "0")}:${String(Math.floor(s / 60) % 60).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
};

/**
 * Serves an estate over the REST shapes the scanner uses: Resource Graph queries (evaluated as
 * KQL, paged, throttled), ARM's subscription endpoint and Graph's tenant information.
 */
export async function startSandbox(options: SandboxOptions): Promise<RunningSandbox> {
  const { estate } = options;
  const quota = options.quota ?? { requests: 15, windowMs: 5000 };
  const network = new NetworkProvider(estate, options.network);
  const graph = new GraphDirectory(estate, {
    ...(options.directoryAccess !== undefined ? { directoryAccess: options.directoryAccess } : {}),
    ...(options.graphAccess !== undefined ? { graphAccess: options.graphAccess } : {}),
    ...(options.memberPageSize !== undefined ? { memberPageSize: options.memberPageSize } : {}),
    ...(options.omitGraphProperties ? { omitProperties: options.omitGraphProperties } : {}),
  });
  const counters: SandboxCounters = {
    resourceGraphRequests: 0,
    throttledRequests: 0,
    subscriptionLookups: 0,
    subscriptionListRequests: 0,
    managementGroupDescendantsRequests: 0,
    armThrottled: 0,
    tenantLookups: 0,
    get directoryLookups() {
      return graph.counters.directoryLookups;
    },
    graph: graph.counters,
    resourceGraphQueries: new Map(),
  };
  const tenantLimit = options.tenantSubscriptionLimit ?? TENANT_SUBSCRIPTION_LIMIT;
  const armReads = new ArmReadLimits();
  const managementGroupOptions = {
    ...(options.descendantsPageSize !== undefined ? { pageSize: options.descendantsPageSize } : {}),
    readable: options.managementGroupsReadable !== false,
    onRequest: () => void (counters.managementGroupDescendantsRequests += 1),
    throttle: (token: string) => {
      const read = armReads.take("tenant", identityOf(token));
      if (!("retryAfterSeconds" in read)) return undefined;
      counters.armThrottled += 1;
      return read.retryAfterSeconds;
    },
  };
  /** In volatile mode the estate may have changed since the last request. */
  const tablesNow = (): GraphTables => (options.volatile ? graphTables(estate) : network.graphView());
  const pagings = new Map<string, Paging>();
  const windows = new Map<string, { start: number; used: number }>();

  /**
   * The tables as the request's scope sees them, and whether a tenant or management-group scope
   * was cut to its first `tenantLimit` subscriptions (by subscription id).
   */
  function scoped(request: z.infer<typeof queryRequestSchema>): {
    tables: Record<string, Row[]>;
    limitHit: boolean;
    tooMany?: number;
  } {
    const now = tablesNow();
    let allowed: Set<string>;
    let limitHit = false;
    if (request.subscriptions?.length) {
      allowed = new Set(request.subscriptions.map((s) => s.toLowerCase()));
    } else {
      const groups = new Set((request.managementGroups ?? []).map((g) => g.toLowerCase()));
      // The tenant root group, named by the tenant id, holds every subscription of the home tenant
      // (learn.microsoft.com/azure/governance/management-groups/overview, "Root management group").
      const home = estate.homeTenantId.toLowerCase();
      const underGroups = (s: EstateSubscription) =>
        (groups.has(home) && s.tenantId.toLowerCase() === home) ||
        s.managementGroups.some((g) => groups.has(g.toLowerCase()));
      const inScope = estate.subscriptions
        .filter((s) => isVisible(estate, s))
        .filter((s) => groups.size === 0 || underGroups(s))
        .map((s) => s.subscriptionId.toLowerCase())
        .sort();
      const refusedPast = options.maxSubscriptionsUnderScope ?? MAX_SUBSCRIPTIONS_UNDER_SCOPE;
      if (inScope.length > refusedPast && request.options?.allowPartialScopes !== true)
        return { tables: {}, limitHit: false, tooMany: inScope.length };
      limitHit = inScope.length > tenantLimit;
      allowed = new Set(inScope.slice(0, tenantLimit));
    }
    const inScope = (row: Row) => allowed.has(String(row.subscriptionId).toLowerCase());
    // Built only when a management-group row asks: the tree costs a pass over the estate.
    let ancestors: ((group: string) => string[]) | undefined;
    const groupAncestors = (group: string) => (ancestors ??= managementGroupAncestors(estate))(group);
    const scopeSubscriptions = estate.subscriptions.filter((s) =>
      allowed.has(s.subscriptionId.toLowerCase()),
    );
    const authorizationInScope = (row: Row) =>
      authorizationRowInScope(row, {
        subscriptionScoped: Boolean(request.subscriptions?.length),
        subscriptions: scopeSubscriptions,
        managementGroups: request.managementGroups ?? [],
        filter: request.options?.authorizationScopeFilter ?? "AtScopeAndBelow",
        inScope,
        groupAncestors,
        rootGroup: estate.homeTenantId,
      });
    return {
      tables: {
        resources: now.resources.filter(inScope),
        resourcecontainers: now.resourcecontainers.filter(inScope),
        resourcechanges: network.changeRows().filter(inScope),
        authorizationresources: now.authorizationresources.filter(authorizationInScope),
        managedserviceresources: now.managedserviceresources.filter(inScope),
      },
      limitHit,
    };
  }

  async function resourceGraph(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const token = bearer(req);
    if (!token)
      return send(
        res,
        401,
        armError("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."),
      );
    counters.resourceGraphRequests += 1;
    const requestText = await readBody(req);
    const fault = options.resourceGraphFault?.(counters.resourceGraphRequests, queryOf(requestText));
    if (fault) {
      return send(
        res,
        fault.status,
        armError(
          fault.status === 429 ? "RateLimiting" : "ServiceError",
          fault.message ?? "Injected by the sandbox.",
        ),
        {
          ...(fault.retryAfterSeconds !== undefined
            ? { "retry-after": String(fault.retryAfterSeconds) }
            : {}),
          ...(fault.quotaResetsAfterSeconds !== undefined
            ? {
                "x-ms-user-quota-remaining": "0",
                "x-ms-user-quota-resets-after": resetsAfter(fault.quotaResetsAfterSeconds * 1000),
              }
            : {}),
        },
      );
    }

    const now = Date.now();
    const who = identityOf(token);
    let window = windows.get(who);
    if (!window || now - window.start >= quota.windowMs) window = { start: now, used: 0 };
    windows.set(who, window);
    const resetMs = window.start + quota.windowMs - now;
    if (window.used >= quota.requests) {
      counters.throttledRequests += 1;
      return send(
        res,
        429,
        armError("RateLimiting", "Please provide below info when asking for support: too many requests."),
        {
          "retry-after": String(Math.ceil(resetMs / 1000)),
          "x-ms-user-quota-remaining": "0",
          "x-ms-user-quota-resets-after": resetsAfter(resetMs),
        },
      );
    }
    window.used += 1;
    const quotaHeaders = {
      "x-ms-user-quota-remaining": String(quota.requests - window.used),
      "x-ms-user-quota-resets-after": resetsAfter(resetMs),
    };

    let request: z.infer<typeof queryRequestSchema>;
    try {
      request = queryRequestSchema.parse(JSON.parse(requestText));
    } catch {
      return send(
        res,
        400,
        armError("BadRequest", "The request body is not a valid Resource Graph query request."),
        quotaHeaders,
      );
    }
    counters.resourceGraphQueries.set(
      request.query,
      (counters.resourceGraphQueries.get(request.query) ?? 0) + 1,
    );
    const top = request.options?.$top ?? MAX_PAGE;
    if (top < 1 || top > MAX_PAGE) {
      return send(res, 400, armError("BadRequest", `$top must be between 1 and ${MAX_PAGE}.`), quotaHeaders);
    }
    if ((request.subscriptions?.length ?? 0) > MAX_SUBSCRIPTIONS_PER_REQUEST) {
      return send(
        res,
        400,
        badRequest(
          "TooManySubscriptions",
          `The request names ${request.subscriptions!.length} subscriptions; at most ${MAX_SUBSCRIPTIONS_PER_REQUEST} are allowed. Send them in groups.`,
        ),
        quotaHeaders,
      );
    }
    if (request.options?.resultFormat && request.options.resultFormat !== "objectArray") {
      return send(
        res,
        400,
        armError("BadRequest", "The sandbox answers resultFormat objectArray only."),
        quotaHeaders,
      );
    }

    const scopeKey = JSON.stringify([request.subscriptions ?? [], request.managementGroups ?? []]);
    const skipToken = request.options?.$skipToken;
    let paging: Paging;
    if (skipToken) {
      const found = pagings.get(skipToken);
      if (!found || found.query !== request.query || found.scopeKey !== scopeKey) {
        return send(
          res,
          400,
          armError("BadRequest", "The $skipToken is invalid for this query and scope."),
          quotaHeaders,
        );
      }
      pagings.delete(skipToken);
      paging = found;
    } else {
      paging = { query: request.query, scopeKey, rows: null, offset: request.options?.$skip ?? 0 };
    }

    let result: { rows: Row[]; pageable: boolean };
    let limitHit = false;
    if (paging.rows && !options.volatile) {
      result = { rows: paging.rows, pageable: true };
    } else {
      try {
        const scope = scoped(request);
        if (scope.tooMany !== undefined) {
          return send(
            res,
            400,
            badRequest(
              "TooManySubscriptionsUnderScope",
              `The scope holds ${scope.tooMany} subscriptions, too many to query at once. Set options.allowPartialScopes to query the first ${tenantLimit}, or send subscriptions in groups.`,
            ),
            quotaHeaders,
          );
        }
        limitHit = scope.limitHit;
        result = runQuery(request.query, scope.tables);
      } catch (error) {
        if (!(error instanceof KqlError)) throw error;
        return send(res, 400, badRequest("InvalidQuery", `Query is invalid. ${error.message}`), quotaHeaders);
      }
    }
    const limitHeader: Record<string, string> = limitHit
      ? { "x-ms-tenant-subscription-limit-hit": "true" }
      : {};

    const data = result.rows.slice(paging.offset, paging.offset + top);
    const more = paging.offset + top < result.rows.length;
    const body: Record<string, unknown> = {
      totalRecords: result.rows.length,
      count: data.length,
      data,
      facets: [],
      // take/limit make a result Resource Graph cannot page (work-with-data.md, "Paging results").
      resultTruncated: more && !result.pageable ? "true" : "false",
    };
    if (more && result.pageable) {
      const next = randomBytes(12).toString("base64url");
      pagings.set(next, {
        ...paging,
        rows: options.volatile ? null : result.rows,
        offset: paging.offset + top,
      });
      if (pagings.size > MAX_PAGINGS) pagings.delete(pagings.keys().next().value!);
      body.$skipToken = next;
    }
    send(res, 200, body, { ...quotaHeaders, ...limitHeader });
  }

  /** ARM's `GET /subscriptions`: what the identity can read, paged through `nextLink`. */
  function subscriptionList(req: IncomingMessage, res: ServerResponse, url: URL): void {
    counters.subscriptionListRequests += 1;
    const fault = options.subscriptionListFault?.(counters.subscriptionListRequests);
    if (fault) {
      return send(
        res,
        fault.status,
        armError(
          fault.status === 429 ? "TooManyRequests" : "ServiceError",
          fault.message ?? "Injected by the sandbox.",
        ),
        fault.retryAfterSeconds !== undefined ? { "retry-after": String(fault.retryAfterSeconds) } : {},
      );
    }
    const token = bearer(req);
    if (!token)
      return send(
        res,
        401,
        armError("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."),
      );
    // A tenant-level read: ARM's bucket per principal (sandbox/arm/read-limits.ts).
    const read = armReads.take("tenant", identityOf(token));
    if ("retryAfterSeconds" in read) {
      counters.armThrottled += 1;
      const refused = readThrottled(read.retryAfterSeconds);
      return send(res, refused.status, refused.body, refused.headers);
    }
    const pageSize = options.subscriptionListPageSize ?? ARM_SUBSCRIPTION_PAGE;
    const start = Number(url.searchParams.get("$skiptoken") ?? "0") || 0;
    const visible = estate.subscriptions.filter((s) => isVisible(estate, s));
    const page = visible.slice(start, start + pageSize);
    const body: Record<string, unknown> = {
      value: page.map((s) => ({
        id: `/subscriptions/${s.subscriptionId}`,
        authorizationSource: "RoleBased",
        managedByTenants: [],
        subscriptionId: s.subscriptionId,
        tenantId: s.tenantId,
        displayName: s.displayName,
        state: s.state,
      })),
      count: { type: "Total", value: page.length },
    };
    if (start + pageSize < visible.length) {
      const next = new URL(url.toString());
      next.searchParams.set("$skiptoken", String(start + pageSize));
      body.nextLink = `https://${req.headers.host}${next.pathname}${next.search}`;
    }
    send(res, 200, body);
  }

  function subscription(req: IncomingMessage, res: ServerResponse, id: string): void {
    counters.subscriptionLookups += 1;
    const fault = options.subscriptionLookupFault?.(id);
    if (fault)
      return send(res, fault.status, armError("ServiceError", fault.message ?? "Injected by the sandbox."));
    const found = estate.subscriptions.find((s) => s.subscriptionId.toLowerCase() === id.toLowerCase());
    if (!found)
      return send(res, 404, armError("SubscriptionNotFound", `The subscription '${id}' could not be found.`));
    if (!bearer(req)) {
      return send(
        res,
        401,
        armError("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."),
        {
          "www-authenticate": `Bearer authorization_uri="https://login.windows.net/${found.tenantId}", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`,
        },
      );
    }
    send(res, 200, {
      id: `/subscriptions/${found.subscriptionId}`,
      subscriptionId: found.subscriptionId,
      tenantId: found.tenantId,
      displayName: found.displayName,
      state: found.state,
    });
  }

  function tenantInformation(req: IncomingMessage, res: ServerResponse, tenantId: string): void {
    counters.tenantLookups += 1;
    if (!bearer(req))
      return send(res, 401, {
        error: { code: "InvalidAuthenticationToken", message: "Access token is empty." },
      });
    if (options.graphAccess === false) {
      return send(res, 403, {
        error: {
          code: "Authorization_RequestDenied",
          message: "Insufficient privileges to complete the operation.",
        },
      });
    }
    const tenant = estate.tenants.find((t) => t.tenantId.toLowerCase() === tenantId.toLowerCase());
    if (!tenant)
      return send(res, 404, {
        error: { code: "Request_ResourceNotFound", message: `Tenant '${tenantId}' was not found.` },
      });
    send(res, 200, {
      "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.tenantInformation",
      tenantId: tenant.tenantId,
      displayName: tenant.displayName,
      defaultDomainName: tenant.defaultDomainName ?? null,
      federationBrandName: null,
    });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    const path = decodeURIComponent(url.pathname);
    if (await network.handle(req, res, path, url)) return;
    if (await graph.handle(req, res, path, url)) return;
    if (servePolicies(estate, req, res, path)) return;
    if (await serveLogAnalytics(estate, req, res, path, () => readBody(req), options.logAnalytics)) return;
    if (serveManagementGroups(estate, req, res, path, url, managementGroupOptions)) return;
    if (req.method === "POST" && path.toLowerCase() === "/providers/microsoft.resourcegraph/resources") {
      return resourceGraph(req, res);
    }
    if (req.method === "GET" && /^\/subscriptions\/?$/i.test(path)) return subscriptionList(req, res, url);
    const sub = req.method === "GET" && path.match(/^\/subscriptions\/([^/]+)\/?$/i);
    if (sub) return subscription(req, res, sub[1]!);
    const tenant =
      req.method === "GET" &&
      path.match(/^\/v1\.0\/tenantRelationships\/findTenantInformationByTenantId\(tenantId='([^']+)'\)$/i);
    if (tenant) return tenantInformation(req, res, tenant[1]!);
    send(res, 404, armError("NotFound", `The sandbox does not serve ${req.method} ${path}.`));
  }

  const tls = await loopbackTlsIdentity();
  const server: Server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    route(req, res).catch((error: unknown) => send(res, 500, armError("InternalServerError", String(error))));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    ca: tls.cert,
    counters,
    network,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
