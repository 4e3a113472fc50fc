import { errorMessage } from "../errors";
import { scanFailedAlert } from "../alerts/emit";
import { AlertOutbox } from "../store/alert-outbox";
import { ScanLease, type LeaseHolder } from "../store/scan-lease";
import { ScanRunsStore } from "../store/scan-runs";
import { ScheduledScanOwed } from "../store/scheduled-scan-owed";
import type { Storage } from "../store/storage";
import { silentLogger, type Logger } from "../log";
import { dryScan, runRecordedScan, type RecordedScanOptions } from "./record-scan";
import type { ScanReport } from "../findings/report";
import { newScanId } from "./run-scan";

export interface LeasedScanOptions extends RecordedScanOptions {
  /** Scan and report without keeping state or sending alerts. */
  dryRun?: boolean;
}

export type LeasedScanResult = { ran: true; report: ScanReport } | { ran: false; running: LeaseHolder };

/**
 * A scan whose lease ran out without a recorded run stopped mid-way (its instance was stopped or
 * lost its storage): it could not say so itself, so the scan that takes the lease over does, with
 * a `scan-failed` alert. A queued scan still waiting for its retry is left to that retry.
 */
export async function reportAbandoned(
  storage: Storage,
  abandoned: LeaseHolder | undefined,
  now: Date,
  log: Logger,
): Promise<void> {
  if (!abandoned) return;
  const run = await new ScanRunsStore(storage).get(abandoned.scanId);
  if (run) return;
  log("warn", "scan-abandoned", { scanId: abandoned.scanId, since: abandoned.startedAt });
  await new AlertOutbox(storage).add([
    scanFailedAlert(
      abandoned.scanId,
      now,
      `it started at ${abandoned.startedAt} (${abandoned.trigger}) and stopped before recording its results; its lease ran out at ${abandoned.expiresAt}. Nothing was marked resolved by it; the next scan covers the same ground.`,
    ),
  ]);
}

/** A scan of the Functions app: never two at once; the one that finds a scan running skips and says so. */
export async function runLeasedScan(options: LeasedScanOptions): Promise<LeasedScanResult> {
  const log = options.log ?? silentLogger;
  const now = options.now ?? (() => new Date());
  const scanId = options.scanId ?? newScanId(now());
  const lease = await new ScanLease(options.storage, () => now().getTime()).acquire(scanId, options.trigger);
  if (!lease.acquired) {
    // A timer scan kept out by a requested one is owed: the requested scan runs it when done.
    if (options.trigger === "timer" && lease.holder.trigger === "http")
      await new ScheduledScanOwed(options.storage).owe(now());
    log("warn", "scan-skipped", {
      reason: "another scan is running",
      runningScanId: lease.holder.scanId,
      since: lease.holder.startedAt,
    });
    return { ran: false, running: lease.holder };
  }
  try {
    await reportAbandoned(options.storage, lease.takenOver, now(), log);
    if (options.trigger === "timer") await new ScheduledScanOwed(options.storage).clear();
    const report = options.dryRun
      ? await dryScan({ ...options, scanId })
      : await runRecordedScan({ ...options, scanId });
    return { ran: true, report };
  } finally {
    // A lease that cannot be released (storage gone) runs out by itself; the scan's outcome stands.
    await lease
      .release()
      .catch((error: unknown) => log("warn", "lease-not-released", { error: errorMessage(error) }));
  }
}
