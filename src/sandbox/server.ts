import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import type { Estate } from "./estate";
import { KqlError, runQuery, type Row } from "./kql";
import { graphTables, type GraphTables } from "./tables";
import { loopbackTlsIdentity } from "./tls";

/** An answer the sandbox gives instead of the real one, to show how the scanner copes. */
export interface Fault {
  status: number;
  retryAfterSeconds?: number;
  message?: string;
}

export interface SandboxOptions {
  estate: Estate;
  /** Resource Graph's per-identity quota; Azure allows about 15 requests per 5 seconds. */
  quota?: { requests: number; windowMs: number };
  /** Called with the 1-based number of each Resource Graph request; a fault replaces the answer. */
  resourceGraphFault?: (requestNumber: number) => Fault | undefined;
  /** Whether the scanner holds Graph's CrossTenantInformation.ReadBasic.All (default true). */
  graphAccess?: boolean;
}

export interface SandboxCounters {
  resourceGraphRequests: number;
  /** Requests refused with 429 because the identity's quota was spent. */
  throttledRequests: number;
  subscriptionLookups: number;
  tenantLookups: number;
}

export interface RunningSandbox {
  /** https://127.0.0.1:<port>: the ARM and Microsoft Graph endpoint in one. */
  url: string;
  /** The certificate clients must trust (PEM). */
  ca: string;
  counters: SandboxCounters;
  close(): Promise<void>;
}

const MAX_PAGE = 1000;
const MAX_PAGINGS = 200;

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
    })
    .optional(),
});

interface Paging {
  query: string;
  scopeKey: string;
  rows: Row[];
  offset: number;
}

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

const bearer = (req: IncomingMessage) => {
  const header = req.headers.authorization;
  return header?.startsWith("Bearer ") ? header.slice(7) : undefined;
};

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
  const tables: GraphTables = graphTables(estate);
  const counters: SandboxCounters = {
    resourceGraphRequests: 0,
    throttledRequests: 0,
    subscriptionLookups: 0,
    tenantLookups: 0,
  };
  const pagings = new Map<string, Paging>();
  const windows = new Map<string, { start: number; used: number }>();

  function scoped(request: z.infer<typeof queryRequestSchema>): Record<string, Row[]> {
    let allowed: Set<string> | undefined;
    if (request.managementGroups?.length) {
      const groups = new Set(request.managementGroups.map((g) => g.toLowerCase()));
      allowed = new Set(
        estate.subscriptions
          .filter((s) => s.managementGroups.some((g) => groups.has(g.toLowerCase())))
          .map((s) => s.subscriptionId.toLowerCase()),
      );
    } else if (request.subscriptions?.length) {
      allowed = new Set(request.subscriptions.map((s) => s.toLowerCase()));
    }
    const inScope = (row: Row) => !allowed || allowed.has(String(row.subscriptionId).toLowerCase());
    return {
      resources: tables.resources.filter(inScope),
      resourcecontainers: tables.resourcecontainers.filter(inScope),
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
    const fault = options.resourceGraphFault?.(counters.resourceGraphRequests);
    if (fault) {
      return send(
        res,
        fault.status,
        armError(
          fault.status === 429 ? "RateLimiting" : "ServiceError",
          fault.message ?? "Injected by the sandbox.",
        ),
        fault.retryAfterSeconds !== undefined ? { "retry-after": String(fault.retryAfterSeconds) } : {},
      );
    }

    const now = Date.now();
    let window = windows.get(token);
    if (!window || now - window.start >= quota.windowMs) window = { start: now, used: 0 };
    windows.set(token, window);
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
      request = queryRequestSchema.parse(JSON.parse(await readBody(req)));
    } catch {
      return send(
        res,
        400,
        armError("BadRequest", "The request body is not a valid Resource Graph query request."),
        quotaHeaders,
      );
    }
    const top = request.options?.$top ?? MAX_PAGE;
    if (top < 1 || top > MAX_PAGE) {
      return send(res, 400, armError("BadRequest", `$top must be between 1 and ${MAX_PAGE}.`), quotaHeaders);
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
    let paging: Paging;
    let pageable = true;
    const skipToken = request.options?.$skipToken;
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
      try {
        const result = runQuery(request.query, scoped(request));
        pageable = result.pageable;
        paging = { query: request.query, scopeKey, rows: result.rows, offset: request.options?.$skip ?? 0 };
      } catch (error) {
        if (!(error instanceof KqlError)) throw error;
        return send(
          res,
          400,
          {
            error: {
              code: "BadRequest",
              message: "Please provide below info when asking for support: the query is invalid.",
              details: [{ code: "InvalidQuery", message: `Query is invalid. ${error.message}` }],
            },
          },
          quotaHeaders,
        );
      }
    }

    const data = paging.rows.slice(paging.offset, paging.offset + top);
    const more = paging.offset + top < paging.rows.length;
    const body: Record<string, unknown> = {
      totalRecords: paging.rows.length,
      count: data.length,
      data,
      facets: [],
      resultTruncated: more && !pageable ? "true" : "false",
    };
    if (more && pageable) {
      const next = randomBytes(12).toString("base64url");
      pagings.set(next, { ...paging, offset: paging.offset + top });
      if (pagings.size > MAX_PAGINGS) pagings.delete(pagings.keys().next().value!);
      body.$skipToken = next;
    }
    send(res, 200, body, quotaHeaders);
  }

  function subscription(req: IncomingMessage, res: ServerResponse, id: string): void {
    counters.subscriptionLookups += 1;
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
    if (req.method === "POST" && path.toLowerCase() === "/providers/microsoft.resourcegraph/resources") {
      return resourceGraph(req, res);
    }
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
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
