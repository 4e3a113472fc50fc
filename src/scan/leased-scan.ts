import { AllowlistStore } from "../store/allowlist-store";
import { ScanLease, type LeaseHolder } from "../store/scan-lease";
import { silentLogger } from "../log";
import { runRecordedScan, type RecordedScanOptions } from "./record-scan";
import type { ScanReport } from "./report";
import { newScanId, runScan } from "./run-scan";

export interface LeasedScanOptions extends RecordedScanOptions {
  /** Scan and report without keeping state or sending alerts. */
  dryRun?: boolean;
}

export type LeasedScanResult = { ran: true; report: ScanReport } | { ran: false; running: LeaseHolder };

/** A scan of the Functions app: never two at once; the one that finds a scan running skips and says so. */
export async function runLeasedScan(options: LeasedScanOptions): Promise<LeasedScanResult> {
  const log = options.log ?? silentLogger;
  const scanId = options.scanId ?? newScanId((options.now ?? (() => new Date()))());
  const lease = await new ScanLease(options.storage).acquire(scanId, options.trigger);
  if (!lease.acquired) {
    log("warn", "scan-skipped", {
      reason: "another scan is running",
      runningScanId: lease.holder.scanId,
      since: lease.holder.startedAt,
    });
    return { ran: false, running: lease.holder };
  }
  try {
    const report = options.dryRun
      ? await runScan({
          ...options,
          scanId,
          allowlist: options.allowlist ?? (await new AllowlistStore(options.storage).list()),
        })
      : await runRecordedScan({ ...options, scanId });
    return { ran: true, report };
  } finally {
    await lease.release();
  }
}
