import { FindingsStore } from "../store/findings-store";
import { ScanRunsStore } from "../store/scan-runs";
import type { Storage } from "../store/storage";
import { needsAction, sortFindings, type ScanReport } from "../findings/report";

/** How many recent runs are looked through for the latest complete one. */
const RUNS_LOOKED_AT = 50;

/**
 * The report behind `GET /api/report`: the latest complete scan's header (time, scope, errors,
 * stats, and its checks and coverage where its report was kept with the run), with the stored
 * findings that are not resolved, stale ones included and named (finding id to when last verified).
 * Undefined while no complete scan has finished.
 */
export async function storedReport(
  storage: Storage,
): Promise<{ report: ScanReport; stale: Map<string, string> } | undefined> {
  const runsStore = new ScanRunsStore(storage);
  const run = (await runsStore.latest(RUNS_LOOKED_AT)).find((r) => r.complete);
  if (!run) return undefined;
  const kept = await runsStore.report(run.scanId);
  const stored = (await new FindingsStore(storage).list()).filter((s) => s.state !== "resolved");
  const findings = sortFindings(stored.map((s) => s.finding));
  const stale = new Map(
    stored.flatMap((s) => (s.coverage ? [[s.finding.id, s.coverage.lastVerified] as const] : [])),
  );
  const violations = findings.filter(needsAction).length;
  const report: ScanReport = {
    schemaVersion: 1,
    scanId: run.scanId,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    homeTenantId: run.homeTenantId,
    complete: run.complete,
    errors: run.errors,
    stats: { ...run.stats, findings: findings.length, violations, allowed: findings.length - violations },
    ...(kept?.checks ? { checks: kept.checks } : {}),
    findings,
    coverage: kept?.coverage ?? {
      scope: run.scope,
      subscriptions: [
        ...new Set(
          findings.filter((f) => !stale.has(f.id) && f.localSubscriptionId).map((f) => f.localSubscriptionId),
        ),
      ],
      lostSubscriptions: run.lostSubscriptions,
    },
  };
  return { report, stale };
}
