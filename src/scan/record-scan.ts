import { idKey } from "../azure/resource-id";
import { coverageLostAlerts, flushAlerts, scanAlerts, scanFailedAlert } from "../alerts/emit";
import { errorMessage } from "../errors";
import { silentLogger } from "../log";
import { AlertOutbox } from "../store/alert-outbox";
import { AllowlistStore } from "../store/allowlist-store";
import { FindingsStore } from "../store/findings-store";
import { ScanRunsStore, type Trigger } from "../store/scan-runs";
import type { Storage } from "../store/storage";
import { SubscriptionCoverageStore } from "../store/subscription-coverage";
import { TableTenantCache } from "../store/tenant-cache-table";
import { nextRecords, withLatestVerification } from "../findings/coverage";
import { keepCreator, reconcile, type ScanFacts, type StoredFinding } from "../findings/reconcile";
import { needsAction, sortFindings, type ScanReport } from "../findings/report";
import { confirmNewViolations, confirmResolutions } from "./confirm";
import type { Finding } from "../scanners/findings";
import { newScanId, scanWithCoverage, scopeOf, type ScanOptions } from "./run-scan";

/** The boundaries between the steps of a recorded scan, in order. */
export const SCAN_STAGES = [
  "scanned",
  "alerts-stored",
  "findings-saved",
  "coverage-saved",
  "run-recorded",
  "alerts-enqueued",
] as const;
export type ScanStage = (typeof SCAN_STAGES)[number];

export interface RecordedScanOptions extends Omit<ScanOptions, "allowlist" | "tenantCache"> {
  storage: Storage;
  trigger: Trigger;
  /** An allowlist file's entries; without it the stored allowlist applies. */
  allowlist?: ScanOptions["allowlist"];
  /** Called at each stage boundary; the fault tests throw here to abandon the run like a crash. */
  atStage?: (stage: ScanStage) => void | Promise<void>;
  /** For a scan asked through the API: when it was queued (its run record is keyed by it). */
  requestedAt?: string;
}

/**
 * A scan that keeps nothing but its run record: it reads the stored findings only to say which
 * subscriptions it lost sight of, and answers what it saw.
 */
export async function dryScan(options: RecordedScanOptions): Promise<ScanReport> {
  const { storage, config } = options;
  const stored = await new FindingsStore(storage).list();
  const { report } = await scanWithCoverage({
    ...options,
    allowlist: options.allowlist ?? (await new AllowlistStore(storage).list()),
    storedSubscriptions: unresolvedBySubscription(stored).keys(),
    knownSubscriptions: await new SubscriptionCoverageStore(storage).list(),
  });
  const none = { new: [], resolved: [], reopened: [], changed: [] };
  await new ScanRunsStore(storage).record(report, options.trigger, scopeOf(config), none, {
    ...(options.requestedAt ? { requestedAt: options.requestedAt } : {}),
    dryRun: true,
  });
  return report;
}

/** The finding kinds whose check ran in this scan (a skipped check's findings stay as they were). */
function checkedKinds(report: ScanReport): ReadonlySet<string> | undefined {
  return report.checks
    ? new Set(report.checks.filter((c) => c.status === "ran").map((c) => c.id))
    : undefined;
}

/** Lower-case subscription -> its unresolved stored findings. */
function unresolvedBySubscription(stored: readonly StoredFinding[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of stored) {
    // Tenant-wide findings (a policy, a management-group scope) lie in no subscription to lose sight of.
    if (s.state === "resolved" || !s.finding.localSubscriptionId) continue;
    const id = idKey(s.finding.localSubscriptionId);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/**
 * A scan that remembers: reads the stored allowlist, findings and tenant cache, reconciles its
 * findings with the stored ones inside what the scan covered (their alerts written in the same
 * entities), records the run, then puts the alerts on the queue and reports what changed.
 * Each step can be repeated after a crash: alerts are stored before the state that would stop
 * them being raised again, and their keys make the repeat one alert.
 */
export async function runRecordedScan(options: RecordedScanOptions): Promise<ScanReport> {
  const { storage, trigger, config } = options;
  const log = options.log ?? silentLogger;
  const atStage = options.atStage ?? (() => undefined);
  const scanId = options.scanId ?? newScanId((options.now ?? (() => new Date()))());
  const allowlist = options.allowlist ?? (await new AllowlistStore(storage).list());
  const tenantCache = new TableTenantCache(storage, config.TENANT_CACHE_TTL_HOURS * 3600_000);
  const findingsStore = new FindingsStore(storage);
  const subscriptions = new SubscriptionCoverageStore(storage);
  const stored = await findingsStore.list();
  const runs = new ScanRunsStore(storage);
  const recorded = await subscriptions.list();
  const known = recorded.size > 0 ? withLatestVerification(recorded, await runs.latest(20)) : recorded;
  const unresolved = unresolvedBySubscription(stored);

  let outcome;
  try {
    outcome = await scanWithCoverage({
      ...options,
      scanId,
      allowlist,
      tenantCache,
      storedSubscriptions: unresolved.keys(),
      knownSubscriptions: known,
    });
  } catch (error) {
    await new AlertOutbox(storage).add([scanFailedAlert(scanId, new Date(), errorMessage(error))]);
    await sendAlerts(options);
    throw error;
  }
  const { facts, visible } = outcome;
  const storedById = new Map(stored.map((s) => [s.finding.id, s]));
  const confirmed = await confirmNewViolations(outcome.report.findings, storedById, {
    connection: options.connection,
    config,
    allowlist,
    tenantCache,
    now: new Date(outcome.report.startedAt),
    log,
  });
  // ARM's re-read of a peering knows nothing of the Log Analytics evidence: it is carried over.
  const evidenceById = new Map(outcome.report.findings.map((f) => [f.id, f.evidence]));
  const withEvidence = confirmed.map((f) => {
    const evidence = evidenceById.get(f.id);
    return f.evidence || !evidence ? f : { ...f, evidence };
  });
  // The report tells the creator the store keeps: Event Grid's record where it came first.
  const report = withFindings(
    outcome.report,
    withEvidence.map((f) => keepCreator(f, storedById.get(f.id))),
  );
  const scanFacts: ScanFacts = {
    scanId: report.scanId,
    at: report.finishedAt,
    complete: report.complete,
    coverage: facts,
    checked: checkedKinds(report),
  };
  const peeringsGone = await confirmResolutions(wouldResolvePeerings(stored, report.findings, scanFacts), {
    connection: options.connection,
    log,
  });
  await atStage("scanned");

  let delta;
  try {
    const records = nextRecords(
      known,
      visible ?? [],
      facts.unseen,
      { scanId, at: report.finishedAt },
      new Set(unresolved.keys()),
    );
    await new AlertOutbox(storage).add([
      ...scanAlerts(report, allowlist, config),
      ...coverageLostAlerts(report, records.newlyLost, unresolved),
    ]);
    await atStage("alerts-stored");
    ({ delta } = await findingsStore.save(report.findings, { ...scanFacts, peeringsGone }, { stored }));
    await atStage("findings-saved");
    await subscriptions.save(records.writes);
    await atStage("coverage-saved");
    await runs.record(
      report,
      trigger,
      scopeOf(config),
      delta,
      options.requestedAt ? { requestedAt: options.requestedAt } : {},
    );
    await atStage("run-recorded");
  } catch (error) {
    // Best effort: storage that is down takes this alert with it, and the next scan reports the
    // abandoned run when it takes over the lease.
    await new AlertOutbox(storage)
      .add([scanFailedAlert(scanId, new Date(), `its results could not be stored: ${errorMessage(error)}`)])
      .catch(() => undefined);
    throw new Error(
      `The scan ran but its findings could not be stored in ${storage.describe}: ${errorMessage(error)}`,
      {
        cause: error,
      },
    );
  }
  await sendAlerts(options);
  log("info", "scan-recorded", {
    scanId,
    ...Object.fromEntries(Object.entries(delta).map(([k, v]) => [k, v.length])),
    lostSubscriptions: report.coverage?.lostSubscriptions.length ?? 0,
  });
  return { ...report, delta };
}

/** The stored peering findings this scan would resolve, before ARM is asked whether they are gone. */
function wouldResolvePeerings(
  stored: readonly StoredFinding[],
  findings: readonly Finding[],
  scan: ScanFacts,
): Finding[] {
  return reconcile(new Map(stored.map((s) => [s.finding.id, s] as const)), findings, scan)
    .filter((w) => w.finding.kind === "vnet-peering" && w.history.at(-1)?.event === "resolved")
    .map((w) => w.finding);
}

/** The report with the findings ARM confirmed or corrected: its counts follow them. */
function withFindings(report: ScanReport, findings: Finding[]): ScanReport {
  const violations = findings.filter(needsAction).length;
  return {
    ...report,
    findings: sortFindings(findings),
    stats: { ...report.stats, findings: findings.length, violations, allowed: findings.length - violations },
  };
}

/** Alerts that cannot be queued now stay pending and go out after the next scan. */
async function sendAlerts(options: RecordedScanOptions): Promise<void> {
  try {
    await flushAlerts(options.storage, options.config, options.log ?? silentLogger, () =>
      options.atStage?.("alerts-enqueued"),
    );
  } catch (error) {
    (options.log ?? silentLogger)("warn", "alerts-not-enqueued", {
      reason: errorMessage(error),
      next: "they stay pending and are sent after the next scan",
    });
  }
}
