import { z } from "zod";
import { LISTED_STATES, listFindingsPage } from "../scan/findings-view";
import { SEVERITIES } from "../scanners/finding";
import { positionFromText, positionText } from "../store/findings-store";
import { readAuthOf, type ApiDeps } from "./deps";
import { requireReader } from "./principal";
import { methodNotAllowed, parseQuery, queryInteger, type ApiRequest, type ApiResponse } from "./http";

/** Findings per page unless `limit` says otherwise; at most a Table Storage page (1000). */
export const FINDINGS_PAGE_SIZE = 100;

const querySchema = z.strictObject({
  status: z.enum(LISTED_STATES).optional(),
  severity: z.enum(SEVERITIES).optional(),
  limit: queryInteger(1, 1000).default(FINDINGS_PAGE_SIZE),
  /** Where the next page starts, as a nextLink gives it; outside text, decoded and checked, never passed on raw. */
  continuation: z
    .string()
    .transform(
      (text, ctx) =>
        positionFromText(text) ?? (ctx.addIssue("must be a continuation from a nextLink"), z.NEVER),
    )
    .optional(),
});

/**
 * `GET /api/findings?status=&severity=&limit=&continuation=`: one page of the stored findings and
 * where they stand, filtered in the table query; `nextLink` asks for the next page until it is absent.
 */
export async function findingsApi(request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
  if (request.method !== "GET") throw methodNotAllowed(request, ["GET"]);
  requireReader(request, readAuthOf(deps));
  const { status, severity, limit, continuation } = parseQuery(querySchema, request.query);
  const { findings, next } = await listFindingsPage(
    deps.storage,
    { ...(status ? { state: status } : {}), ...(severity ? { severity } : {}) },
    limit,
    continuation,
  );
  const nextLink = next
    ? `/api/findings?${new URLSearchParams({
        ...(status ? { status } : {}),
        ...(severity ? { severity } : {}),
        limit: String(limit),
        continuation: positionText(next),
      }).toString()}`
    : undefined;
  return { status: 200, body: { count: findings.length, findings, ...(nextLink ? { nextLink } : {}) } };
}
