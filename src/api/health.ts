import { doctorFailed, runDoctor } from "../doctor/run-doctor";
import { readAuthOf, type ApiDeps } from "./deps";
import { requireReader } from "./principal";
import { methodNotAllowed, type ApiRequest, type ApiResponse } from "./http";

/**
 * `GET /api/health` (behind the function key, and `Findings.Read` under API_READ_AUTH=role): the same live checks as `cross-tenant-scanner
 * doctor`, with the app's own identity and settings. 200 when nothing fails, 503 otherwise; the
 * body is doctor's JSON, `{ checks: [{ id, status, detail, fix }] }`.
 */
export async function healthApi(
  request: ApiRequest,
  deps: ApiDeps,
  env: Record<string, string | undefined> = process.env,
): Promise<ApiResponse> {
  if (request.method !== "GET") throw methodNotAllowed(request, ["GET"]);
  requireReader(request, readAuthOf(deps));
  const checks = await runDoctor({ env, connect: async () => deps.connection });
  return { status: doctorFailed(checks) ? 503 : 200, body: { checks } };
}
