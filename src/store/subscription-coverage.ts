import { z } from "zod";
import type { SubscriptionRecord } from "../findings/coverage";
import type { Storage } from "./storage";
import { chunks } from "./tables";

const PARTITION = "subscription";

const entitySchema = z.object({
  rowKey: z.string(),
  lastVerifiedAt: z.string(),
  lastVerifiedScanId: z.string(),
  managementGroups: z.string(),
  /** "" while the subscription is visible (a property cannot hold null). */
  lostSince: z.string(),
});

/**
 * One entity per subscription that held findings: when a scan last saw it, under which
 * management groups, and since when it is out of sight. Few rows: findings are rare.
 */
export class SubscriptionCoverageStore {
  constructor(
    private readonly storage: Storage,
    private readonly tableName = "subscriptioncoverage",
  ) {}

  async list(): Promise<Map<string, SubscriptionRecord>> {
    const table = await this.storage.table(this.tableName);
    const records = new Map<string, SubscriptionRecord>();
    for await (const raw of table.listEntities<Record<string, unknown>>()) {
      const e = entitySchema.parse(raw);
      records.set(e.rowKey, {
        subscriptionId: e.rowKey,
        lastVerifiedAt: e.lastVerifiedAt,
        lastVerifiedScanId: e.lastVerifiedScanId,
        managementGroups: z.array(z.string()).parse(JSON.parse(e.managementGroups)),
        lostSince: e.lostSince || null,
      });
    }
    return records;
  }

  async save(records: readonly SubscriptionRecord[]): Promise<void> {
    const table = await this.storage.table(this.tableName);
    for (const chunk of chunks(records)) {
      await table.submitTransaction(
        chunk.map((r) => [
          "upsert",
          {
            partitionKey: PARTITION,
            rowKey: r.subscriptionId,
            lastVerifiedAt: r.lastVerifiedAt,
            lastVerifiedScanId: r.lastVerifiedScanId,
            managementGroups: JSON.stringify(r.managementGroups),
            lostSince: r.lostSince ?? "",
          },
          "Replace",
        ]),
      );
    }
  }
}
