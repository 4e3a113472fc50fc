import { createHash } from "node:crypto";
import type { TenantCache } from "../azure/tenant-cache";
import type { Storage } from "./storage";
import { statusOf } from "./tables";

/**
 * The tenant cache in Table Storage, shared by every scan and instance. Keys are `kind:id`
 * (kind becomes the partition); a null value records that nobody knew. The id part comes from
 * outside (a subscription, tenant or domain named by Azure or Graph), so it is hashed into the row
 * key: no character of it can make the key invalid or name another entry.
 */
export class TableTenantCache implements TenantCache {
  constructor(
    private readonly storage: Storage,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    private readonly tableName = "tenantcache",
  ) {}

  private keys(key: string): { partitionKey: string; rowKey: string } {
    const at = key.indexOf(":");
    return {
      partitionKey: key.slice(0, at),
      rowKey: createHash("sha256")
        .update(key.slice(at + 1))
        .digest("hex"),
    };
  }

  async get(key: string): Promise<{ value: string | null } | undefined> {
    const { partitionKey, rowKey } = this.keys(key);
    const table = await this.storage.table(this.tableName);
    try {
      const entity = await table.getEntity<{ value?: string; expiresAt: string }>(partitionKey, rowKey);
      if (Date.parse(entity.expiresAt) <= this.now()) return undefined;
      return { value: entity.value ?? null };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async set(key: string, value: string | null): Promise<void> {
    const table = await this.storage.table(this.tableName);
    const expiresAt = new Date(this.now() + this.ttlMs).toISOString();
    await table.upsertEntity(
      { ...this.keys(key), ...(value === null ? {} : { value }), expiresAt },
      "Replace",
    );
  }
}
