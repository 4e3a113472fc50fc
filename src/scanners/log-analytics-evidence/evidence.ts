import type { QueryLogs } from "../../azure/log-analytics";
import { errorMessage } from "../../errors";
import type { Logger } from "../../log";
import type { CheckRun } from "../../findings/report";
import { GUID_PATTERN } from "../../validation";
import type { Finding } from "../findings";
import { createdResourceOf, firstWrites, signInSummaries, withEvidence, type Creator } from "./attach";
import {
  creatorQuery,
  creatorRowSchema,
  MAX_CREATOR_RESOURCES,
  QUOTABLE_RESOURCE_ID,
  SIGN_IN_TABLES,
  signInRowSchema,
  signInsQuery,
  type CreatorRow,
  type SignInRow,
} from "./query";

/** The evidence step as it shows in the report's `checks[]`. */
export const EVIDENCE_CHECK = {
  id: "log-analytics-evidence",
  title: "Who created each finding's resource and who of its tenant signs in (Log Analytics)",
} as const;

export interface EvidenceOptions {
  /** The workspace's query function; null when LOG_ANALYTICS_WORKSPACE_ID is not set. */
  query: QueryLogs | null;
  homeTenantId: string;
  /** ISO 8601 durations: how far back sign-ins and the Activity log are read. */
  signInWindow: string;
  activityWindow: string;
  log: Logger;
}

/** What one table gave: its rows, or why not. */
type Read<T> = { rows: T[]; problem: string | null; failed: boolean } | { denied: string };

/**
 * Reads the Log Analytics evidence for a scan's findings and puts it on them: one query per table,
 * bounded by the findings' tenants (sign-ins) and resources (the Activity log), so the cost follows
 * the findings, not the estate. Optional: without a workspace, or without Log Analytics Reader on
 * it, the step is skipped and named; a table that fails or answers in part makes it degraded,
 * named. Never an error of the scan: evidence adds to findings, it never decides them.
 */
export async function gatherEvidence(
  findings: readonly Finding[],
  options: EvidenceOptions,
): Promise<{ findings: Finding[]; check: CheckRun }> {
  const { id, title } = EVIDENCE_CHECK;
  const skipped = (reason: string) => ({
    findings: [...findings],
    check: { id, title, status: "skipped" as const, reason },
  });
  if (!options.query) return skipped("LOG_ANALYTICS_WORKSPACE_ID is not set");
  const query = options.query;
  const home = options.homeTenantId.toLowerCase();
  const tenants = [
    ...new Set(
      findings
        .map((f) => f.remoteTenantId?.toLowerCase())
        .filter((t): t is string => !!t && GUID_PATTERN.test(t) && t !== home),
    ),
  ].sort();
  const wanted = [
    ...new Set(
      findings
        .map(createdResourceOf)
        .filter((r): r is string => r !== null)
        .map((r) => r.toLowerCase()),
    ),
  ].sort();
  const quotable = wanted.filter((r) => QUOTABLE_RESOURCE_ID.test(r));
  const resources = quotable.slice(0, MAX_CREATOR_RESOURCES);
  const problems: string[] = [];
  if (quotable.length < wanted.length)
    problems.push(
      `the creators of ${wanted.length - quotable.length} resource(s) whose ids cannot be quoted in KQL were not asked`,
    );
  if (quotable.length > resources.length)
    problems.push(
      `the creators of ${quotable.length - resources.length} resource(s) past the first ${MAX_CREATOR_RESOURCES} were not asked`,
    );

  async function read<T>(
    name: string,
    kql: string,
    window: string,
    schema: { safeParse(row: unknown): { success: true; data: T } | { success: false } },
  ): Promise<Read<T>> {
    try {
      const answer = await query(kql, window);
      if ("denied" in answer) return answer;
      const rows: T[] = [];
      let unreadable = 0;
      for (const row of answer.rows) {
        const parsed = schema.safeParse(row);
        if (parsed.success) rows.push(parsed.data);
        else unreadable += 1;
      }
      const notes = [
        ...(answer.partial ? [`${name} answered in part (${answer.partial})`] : []),
        ...(unreadable > 0 ? [`${unreadable} row(s) of ${name} could not be read`] : []),
      ];
      return { rows, problem: notes.length > 0 ? notes.join("; ") : null, failed: false };
    } catch (error) {
      return { rows: [], problem: `${name} could not be read: ${errorMessage(error)}`, failed: true };
    }
  }

  const signInRows: SignInRow[] = [];
  let signInsRead = tenants.length > 0;
  let failures = 0;
  let asked = 0;
  for (const table of tenants.length > 0 ? SIGN_IN_TABLES : []) {
    asked += 1;
    const result = await read(table, signInsQuery(table, tenants), options.signInWindow, signInRowSchema);
    if ("denied" in result) return skipped(result.denied);
    signInRows.push(...result.rows);
    if (result.problem) problems.push(result.problem);
    if (result.failed) {
      failures += 1;
      // Half the sign-ins would be a count that looks whole: none is said instead.
      signInsRead = false;
    }
  }
  let creators: Map<string, Creator> | null = null;
  if (resources.length > 0) {
    asked += 1;
    const result = await read<CreatorRow>(
      "AzureActivity",
      creatorQuery(resources),
      options.activityWindow,
      creatorRowSchema,
    );
    if ("denied" in result) return skipped(result.denied);
    if (result.problem) problems.push(result.problem);
    if (result.failed) failures += 1;
    else creators = firstWrites(result.rows);
  }
  options.log("info", "log-analytics-evidence", {
    tenants: tenants.length,
    resources: resources.length,
    queries: asked,
  });

  const enriched = withEvidence(findings, {
    signIns: signInsRead ? signInSummaries(signInRows, options.signInWindow) : null,
    tenants: new Set(tenants),
    creators,
    window: options.signInWindow,
  });
  if (asked === 0) problems.push("no finding has another tenant or a created resource to ask about");
  const status =
    asked > 0 && failures === asked ? "failed" : asked > 0 && problems.length > 0 ? "degraded" : "ran";
  return {
    findings: enriched,
    check: { id, title, status, ...(problems.length > 0 ? { reason: problems.join("; ") } : {}) },
  };
}
