import { z } from "zod";
import { LISTED_STATES, listFindings } from "../scan/findings-view";
import { SEVERITIES } from "../scanners/finding";
import { readAuthOf, type ApiDeps } from "./deps";
import { requireReader } from "./principal";
import { methodNotAllowed, parseQuery, type ApiRequest, type ApiResponse } from "./http";

const querySchema = z.strictObject({
  status: z.enum(LISTED_STATES).optional(),
  severity: z.enum(SEVERITIES).optional(),
});

/** `GET /api/findings?status=&severity=`: the stored findings and where they stand. */
export async function findingsApi(request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
  if (request.method !== "GET") throw methodNotAllowed(request, ["GET"]);
  requireReader(request, readAuthOf(deps));
  const { status, severity } = parseQuery(querySchema, request.query);
  const findings = await listFindings(deps.storage, {
    ...(status ? { state: status } : {}),
    ...(severity ? { severity } : {}),
  });
  return { status: 200, body: { count: findings.length, findings } };
}
