import { createHash } from "node:crypto";
import type { Storage } from "./storage";
import { isConcurrencyConflict, statusOf } from "./tables";

/** A claim older than this is taken to belong to a dispatcher that died while posting. */
export const CLAIM_LEASE_MS = 5 * 60_000;

export type Claim = "claimed" | "delivered" | "busy";

interface Row {
  state: "sending" | "delivered";
  claimedAt: string;
  etag: string;
}

/**
 * Which alert went to which destination. A dispatcher claims an alert before posting it and marks
 * it delivered after, so a copy of the message, or a second dispatcher, never posts it twice.
 */
export class AlertDeliveries {
  constructor(
    private readonly storage: Storage,
    private readonly now: () => number = Date.now,
    private readonly tableName = "alertdeliveries",
  ) {}

  private keys(destination: string, idempotencyKey: string) {
    return { partitionKey: destination, rowKey: createHash("sha256").update(idempotencyKey).digest("hex") };
  }

  async claim(destination: string, idempotencyKey: string): Promise<Claim> {
    const table = await this.storage.table(this.tableName);
    const keys = this.keys(destination, idempotencyKey);
    const claimedAt = new Date(this.now()).toISOString();
    try {
      await table.createEntity({
        ...keys,
        state: "sending",
        claimedAt,
        idempotencyKey: idempotencyKey.slice(0, 512),
      });
      return "claimed";
    } catch (error) {
      if (!isConcurrencyConflict(error)) throw error;
    }
    let row: Row;
    try {
      row = await table.getEntity<Row>(keys.partitionKey, keys.rowKey);
    } catch (error) {
      // Released in between: let the queue try again shortly.
      if (statusOf(error) === 404) return "busy";
      throw error;
    }
    if (row.state === "delivered") return "delivered";
    if (this.now() - Date.parse(row.claimedAt) < CLAIM_LEASE_MS) return "busy";
    try {
      await table.updateEntity({ ...keys, state: "sending", claimedAt }, "Merge", { etag: row.etag });
      return "claimed";
    } catch (error) {
      if (isConcurrencyConflict(error)) return "busy";
      throw error;
    }
  }

  async delivered(destination: string, idempotencyKey: string): Promise<void> {
    const table = await this.storage.table(this.tableName);
    await table.updateEntity({ ...this.keys(destination, idempotencyKey), state: "delivered" }, "Merge");
  }

  /** Gives the claim back after a failed post, so the next try may post. */
  async release(destination: string, idempotencyKey: string): Promise<void> {
    const table = await this.storage.table(this.tableName);
    const keys = this.keys(destination, idempotencyKey);
    try {
      await table.deleteEntity(keys.partitionKey, keys.rowKey);
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }
}
