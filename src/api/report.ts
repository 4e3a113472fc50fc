import { REPORT_CSP, reportHtml } from "../report/html";
import { storedReport } from "../scan/stored-report";
import { readAuthOf, type ApiDeps } from "./deps";
import { requireReader } from "./principal";
import { ApiError, methodNotAllowed, NO_QUERY, parseQuery, type ApiRequest, type ApiResponse } from "./http";

/**
 * `GET /api/report` (function key, and `Findings.Read` under API_READ_AUTH=role): the HTML report (`scan --format html`) of the latest complete
 * scan, from the stored findings. Sent with the page's own Content-Security-Policy as a header,
 * never cached, never sniffed as anything but HTML.
 */
export async function reportApi(request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
  if (request.method !== "GET") throw methodNotAllowed(request, ["GET"]);
  requireReader(request, readAuthOf(deps));
  parseQuery(NO_QUERY, request.query);
  const stored = await storedReport(deps.storage);
  if (!stored)
    throw new ApiError(
      404,
      "Not found",
      "No complete scan has finished yet: run one (POST /api/scans) or wait for the scheduled scan.",
    );
  return {
    status: 200,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": REPORT_CSP,
      "x-content-type-options": "nosniff",
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
    },
    text: reportHtml(stored.report, { stale: stored.stale }),
  };
}
