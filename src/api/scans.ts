import { z } from "zod";
import { requestScan, ScanQueueFullError } from "../scan/queued-scan";
import { ScanLease } from "../store/scan-lease";
import { ScanRunsStore, type ScanRunRecord } from "../store/scan-runs";
import { GUID_PATTERN } from "../validation";
import { readAuthOf, type ApiDeps } from "./deps";
import { requireReader } from "./principal";
import {
  ApiError,
  methodNotAllowed,
  NO_QUERY,
  parseBody,
  parseQuery,
  queryInteger,
  type ApiRequest,
  type ApiResponse,
} from "./http";

/** The body of `POST /api/scans`. */
export const scanBodySchema = z.strictObject({
  scope: z
    .strictObject({
      managementGroups: z
        .array(z.string().regex(/^[\w.()-]{1,90}$/, "must be a management group id"))
        .max(100)
        .optional(),
      subscriptions: z.array(z.string().regex(GUID_PATTERN, "must be a GUID")).max(1000).optional(),
    })
    .optional(),
  dryRun: z.boolean().optional(),
});

const listQuerySchema = z.strictObject({ limit: queryInteger(1, 100).default(20) });

/** How often a waiting `POST /api/scans?wait=` looks at the scan's record. */
const POLL_MS = 250;

const SCAN_ID = /^[\w.-]{1,80}$/;
const location = (scanId: string) => `/api/scans/${scanId}`;

/**
 * `POST /api/scans[?wait=seconds]`: records a queued scan and puts it on the `scan-requests`
 * queue, where the queue function runs it; answers 202 and where to look, or, when asked to
 * wait and the scan finishes in time, 200 with its report. A scan of the same scope already
 * queued or running is answered instead of queuing another.
 */
async function startScan(request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
  const { wait } = parseQuery(
    z.strictObject({
      wait: queryInteger(0, deps.config.HTTP_SCAN_WAIT_SECONDS).optional(),
    }),
    request.query,
  );
  const { scope, dryRun } = parseBody(scanBodySchema, request);
  const asked = {
    scope: scope
      ? { managementGroups: scope.managementGroups ?? [], subscriptions: scope.subscriptions ?? [] }
      : {
          managementGroups: deps.config.SCAN_MANAGEMENT_GROUPS,
          subscriptions: deps.config.SCAN_SUBSCRIPTIONS,
        },
    dryRun: dryRun ?? false,
  };
  const { run, existing } = await requestScan(deps, asked).catch((error: unknown) => {
    if (error instanceof ScanQueueFullError)
      throw new ApiError(429, "Too many requests", error.message, {
        "retry-after": String(error.retryAfterSeconds),
      });
    throw error;
  });
  if (existing) deps.log("info", "scan-already-requested", { scanId: run.scanId, status: run.status });

  if (wait) {
    const runs = new ScanRunsStore(deps.storage);
    const deadline = Date.now() + wait * 1000;
    while (Date.now() < deadline) {
      const now = await runs.get(run.scanId);
      if (now?.status === "finished") {
        return { status: 200, body: (await runs.report(run.scanId)) ?? now };
      }
      if (now?.status === "failed") return { status: 200, body: now };
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))),
      );
    }
  }
  return {
    status: 202,
    headers: { location: location(run.scanId) },
    body: { scanId: run.scanId, status: run.status, requestedAt: run.requestedAt },
  };
}

/** `GET /api/scans/{id}`: where a scan stands (`queued`, `running`, `finished` or `failed`). */
async function getScan(scanId: string, deps: ApiDeps): Promise<ApiResponse> {
  if (!SCAN_ID.test(scanId)) throw new ApiError(400, "Bad request", `'${scanId}' is not a scan id.`);
  const run: ScanRunRecord | undefined = await new ScanRunsStore(deps.storage).get(scanId);
  if (run) return { status: 200, body: run };
  // A timer scan has no record until it finishes; the lease names it while it runs.
  const running = await new ScanLease(deps.storage).running();
  if (running?.scanId === scanId) return { status: 200, body: { ...running, status: "running" } };
  throw new ApiError(404, "Not found", `There is no scan ${scanId}.`);
}

export async function scansApi(request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
  const id = request.params.id;
  if (request.method === "GET" || request.method === "POST") requireReader(request, readAuthOf(deps));
  if (request.method === "POST" && !id) return startScan(request, deps);
  if (request.method === "GET" && id) {
    parseQuery(NO_QUERY, request.query);
    return getScan(id, deps);
  }
  if (request.method === "GET") {
    const { limit } = parseQuery(listQuerySchema, request.query);
    return { status: 200, body: { scans: await new ScanRunsStore(deps.storage).recent(limit) } };
  }
  throw methodNotAllowed(request, id ? ["GET"] : ["GET", "POST"]);
}
