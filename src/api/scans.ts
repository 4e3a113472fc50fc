import { z } from "zod";
import { runLeasedScan, type LeasedScanResult } from "../scan/leased-scan";
import { newScanId } from "../scan/run-scan";
import { errorMessage } from "../errors";
import { ScanLease } from "../store/scan-lease";
import { ScanRunsStore } from "../store/scan-runs";
import { GUID_PATTERN } from "../validation";
import type { ApiDeps } from "./deps";
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

const scanRequestSchema = z.strictObject({
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

const SCAN_ID = /^[\w.-]{1,80}$/;
const location = (scanId: string) => `/api/scans/${scanId}`;

/** `POST /api/scans`: runs a scan and answers with its report, or 202 and where to look if it takes long. */
async function startScan(request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
  const { scope, dryRun } = parseBody(scanRequestSchema, request);
  const config = scope
    ? {
        ...deps.config,
        SCAN_MANAGEMENT_GROUPS: scope.managementGroups ?? [],
        SCAN_SUBSCRIPTIONS: scope.subscriptions ?? [],
      }
    : deps.config;
  const scanId = newScanId(new Date());
  const scan = runLeasedScan({ ...deps, config, trigger: "http", scanId, dryRun: dryRun ?? false });
  const waited = await new Promise<LeasedScanResult | undefined>((resolve, reject) => {
    const timer = setTimeout(() => resolve(undefined), config.HTTP_SCAN_WAIT_SECONDS * 1000);
    scan.then(
      (result) => {
        clearTimeout(timer);
        resolve(result);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
  if (!waited) {
    scan.catch((error: unknown) => deps.log("error", "scan-failed", { scanId, error: errorMessage(error) }));
    return { status: 202, headers: { location: location(scanId) }, body: { scanId, status: "running" } };
  }
  return reportOrConflict(waited);
}

function reportOrConflict(result: LeasedScanResult): ApiResponse {
  if (result.ran) return { status: 200, body: result.report };
  const { scanId, trigger, startedAt } = result.running;
  throw new ApiError(
    409,
    "Conflict",
    `Scan ${scanId} (${trigger}) is running since ${startedAt}; try again when it has finished.`,
    {
      location: location(scanId),
    },
  );
}

/** `GET /api/scans/{id}`: a running scan, or the record of a finished one. */
async function getScan(scanId: string, deps: ApiDeps): Promise<ApiResponse> {
  if (!SCAN_ID.test(scanId)) throw new ApiError(400, "Bad request", `'${scanId}' is not a scan id.`);
  const running = await new ScanLease(deps.storage).running();
  if (running?.scanId === scanId) return { status: 200, body: { status: "running", ...running } };
  const run = await new ScanRunsStore(deps.storage).get(scanId);
  if (!run) throw new ApiError(404, "Not found", `There is no scan ${scanId}.`);
  return { status: 200, body: { status: "finished", ...run } };
}

export async function scansApi(request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
  const id = request.params.id;
  if (!(request.method === "GET" && !id)) parseQuery(NO_QUERY, request.query);
  if (request.method === "POST" && !id) return startScan(request, deps);
  if (request.method === "GET" && id) return getScan(id, deps);
  if (request.method === "GET") {
    const { limit } = parseQuery(listQuerySchema, request.query);
    return { status: 200, body: { scans: await new ScanRunsStore(deps.storage).latest(limit) } };
  }
  throw methodNotAllowed(request, id ? ["GET"] : ["GET", "POST"]);
}
