import { errorMessage } from "../errors";
import { AllowlistStore } from "../store/allowlist-store";
import { FindingsStore } from "../store/findings-store";
import { ScanRunsStore, type Trigger } from "../store/scan-runs";
import type { Storage } from "../store/storage";
import { TableTenantCache } from "../store/tenant-cache-table";
import type { ScanReport } from "./report";
import { runScan, scopeOf, type ScanOptions } from "./run-scan";

export interface RecordedScanOptions extends Omit<ScanOptions, "allowlist" | "tenantCache"> {
  storage: Storage;
  trigger: Trigger;
  /** An allowlist file's entries; without it the stored allowlist applies. */
  allowlist?: ScanOptions["allowlist"];
}

/**
 * A scan that remembers: reads the stored allowlist and tenant cache, reconciles its findings
 * with the stored ones, records the run, and reports what changed.
 */
export async function runRecordedScan(options: RecordedScanOptions): Promise<ScanReport> {
  const { storage, trigger } = options;
  const allowlist = options.allowlist ?? (await new AllowlistStore(storage).list());
  const tenantCache = new TableTenantCache(storage, options.config.TENANT_CACHE_TTL_HOURS * 3600_000);
  const report = await runScan({ ...options, allowlist, tenantCache });
  try {
    const { delta } = await new FindingsStore(storage).save(report.findings, {
      scanId: report.scanId,
      at: report.finishedAt,
      complete: report.complete,
    });
    await new ScanRunsStore(storage).record(report, trigger, scopeOf(options.config), delta);
    return { ...report, delta };
  } catch (error) {
    throw new Error(
      `The scan ran but its findings could not be stored in ${storage.describe}: ${errorMessage(error)}`,
      {
        cause: error,
      },
    );
  }
}
