import { flushAlerts, scanAlerts, scanFailedAlert } from "../alerts/emit";
import { errorMessage } from "../errors";
import { silentLogger } from "../log";
import { AlertOutbox } from "../store/alert-outbox";
import { AllowlistStore } from "../store/allowlist-store";
import { FindingsStore } from "../store/findings-store";
import { ScanRunsStore, type Trigger } from "../store/scan-runs";
import type { Storage } from "../store/storage";
import { TableTenantCache } from "../store/tenant-cache-table";
import type { ScanReport } from "./report";
import { newScanId, runScan, scopeOf, type ScanOptions } from "./run-scan";

export interface RecordedScanOptions extends Omit<ScanOptions, "allowlist" | "tenantCache"> {
  storage: Storage;
  trigger: Trigger;
  /** An allowlist file's entries; without it the stored allowlist applies. */
  allowlist?: ScanOptions["allowlist"];
}

/**
 * A scan that remembers: reads the stored allowlist and tenant cache, reconciles its findings
 * with the stored ones (their alerts written in the same entities), records the run, then puts
 * the alerts on the queue and reports what changed.
 */
export async function runRecordedScan(options: RecordedScanOptions): Promise<ScanReport> {
  const { storage, trigger, config } = options;
  const log = options.log ?? silentLogger;
  const scanId = options.scanId ?? newScanId((options.now ?? (() => new Date()))());
  const allowlist = options.allowlist ?? (await new AllowlistStore(storage).list());
  const tenantCache = new TableTenantCache(storage, config.TENANT_CACHE_TTL_HOURS * 3600_000);

  let report: ScanReport;
  try {
    report = await runScan({ ...options, scanId, allowlist, tenantCache });
  } catch (error) {
    await new AlertOutbox(storage).add([scanFailedAlert(scanId, new Date(), errorMessage(error))]);
    await sendAlerts(options);
    throw error;
  }

  let delta;
  try {
    ({ delta } = await new FindingsStore(storage).save(report.findings, {
      scanId: report.scanId,
      at: report.finishedAt,
      complete: report.complete,
    }));
    await new ScanRunsStore(storage).record(report, trigger, scopeOf(config), delta);
    await new AlertOutbox(storage).add(scanAlerts(report, allowlist, config));
  } catch (error) {
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
  });
  return { ...report, delta };
}

/** Alerts that cannot be queued now stay pending and go out after the next scan. */
async function sendAlerts(options: RecordedScanOptions): Promise<void> {
  try {
    await flushAlerts(options.storage, options.config, options.log ?? silentLogger);
  } catch (error) {
    (options.log ?? silentLogger)("warn", "alerts-not-enqueued", {
      reason: errorMessage(error),
      next: "they stay pending and are sent after the next scan",
    });
  }
}
