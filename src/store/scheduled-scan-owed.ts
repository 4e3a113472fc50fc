import type { Storage } from "./storage";
import { statusOf } from "./tables";

const PARTITION = "lease";
const ROW = "scheduled-scan-owed";

/**
 * Remembers that a timer scan was skipped because requested scans held the lease, so the next
 * requested scan runs it first (see runRequestedScan). One row beside the scan lease.
 */
export class ScheduledScanOwed {
  constructor(
    private readonly storage: Storage,
    private readonly tableName = "locks",
  ) {}

  /** Records the debt; the first skip's time stays while it is owed. */
  async owe(at: Date): Promise<void> {
    const table = await this.storage.table(this.tableName);
    try {
      await table.createEntity({ partitionKey: PARTITION, rowKey: ROW, since: at.toISOString() });
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
    }
  }

  /** When a scheduled scan was first skipped, if one is owed. */
  async since(): Promise<string | undefined> {
    const table = await this.storage.table(this.tableName);
    try {
      const row = await table.getEntity<{ since?: unknown }>(PARTITION, ROW);
      return typeof row.since === "string" ? row.since : new Date(0).toISOString();
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async clear(): Promise<void> {
    const table = await this.storage.table(this.tableName);
    try {
      await table.deleteEntity(PARTITION, ROW);
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }
}
