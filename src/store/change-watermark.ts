import { z } from "zod";
import type { Storage } from "./storage";
import { statusOf } from "./tables";

const KEYS = { partitionKey: "peering-changes", rowKey: "watermark" } as const;

const rowSchema = z.object({
  /** The end of the last window whose changes were fully handled; "" before the first. */
  watermark: z.string(),
  /** Since when the change feed could not be read; "" while it can (so the warning is logged once). */
  unavailableSince: z.string().default(""),
  /**
   * When a poll last met Resource Graph's subscription cut-off at the tenant or management-group
   * scope; "" under it. While recent, the next polls go to subscription groups at once.
   */
  cutOffSeenAt: z.string().default(""),
});
export type ChangeWatermark = z.infer<typeof rowSchema>;

/** Where the change poller stands in Resource Graph's change feed, kept between polls. */
export class ChangeWatermarkStore {
  constructor(
    private readonly storage: Storage,
    private readonly tableName = "changewatermark",
  ) {}

  async get(): Promise<ChangeWatermark> {
    const table = await this.storage.table(this.tableName);
    try {
      return rowSchema.parse(await table.getEntity(KEYS.partitionKey, KEYS.rowKey));
    } catch (error) {
      if (statusOf(error) === 404) return { watermark: "", unavailableSince: "", cutOffSeenAt: "" };
      throw error;
    }
  }

  async set(value: ChangeWatermark): Promise<void> {
    const table = await this.storage.table(this.tableName);
    await table.upsertEntity({ ...KEYS, ...value }, "Replace");
  }
}
