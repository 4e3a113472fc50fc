import { z } from "zod";
import type { Storage } from "./storage";
import { isConcurrencyConflict, statusOf } from "./tables";

/** Longer than any scan may run (the host stops a function after 10 minutes, see host.json). */
export const LEASE_MS = 30 * 60_000;

/** Which lease a row holds, and how long it lasts: the scan's, or a lighter one of its own. */
export interface LeaseKind {
  rowKey: string;
  durationMs: number;
}
const SCAN_LEASE: LeaseKind = { rowKey: "scan", durationMs: LEASE_MS };
const PARTITION = "lease";

const holderSchema = z.object({
  scanId: z.string(),
  trigger: z.string(),
  startedAt: z.string(),
  expiresAt: z.string(),
});
export type LeaseHolder = z.infer<typeof holderSchema>;

export type LeaseResult =
  | {
      acquired: true;
      release: () => Promise<void>;
      /** The holder of the expired lease this one replaced: a scan that stopped without releasing it. */
      takenOver?: LeaseHolder;
    }
  | { acquired: false; holder: LeaseHolder };

/**
 * One scan at a time across every instance: a lease row with an expiry, taken with ETags. A
 * lease whose holder died runs out and can then be taken over.
 */
export class ScanLease {
  constructor(
    private readonly storage: Storage,
    private readonly now: () => number = Date.now,
    private readonly tableName = "locks",
    private readonly kind: LeaseKind = SCAN_LEASE,
  ) {}

  async holder(): Promise<(LeaseHolder & { etag: string }) | undefined> {
    const table = await this.storage.table(this.tableName);
    try {
      const row = await table.getEntity<Record<string, unknown>>(PARTITION, this.kind.rowKey);
      return { ...holderSchema.parse(row), etag: row.etag };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** The running scan, if a live lease names one. */
  async running(): Promise<LeaseHolder | undefined> {
    const holder = await this.holder();
    return holder && Date.parse(holder.expiresAt) > this.now() ? holder : undefined;
  }

  async acquire(scanId: string, trigger: string): Promise<LeaseResult> {
    const table = await this.storage.table(this.tableName);
    const now = this.now();
    const row = {
      partitionKey: PARTITION,
      rowKey: this.kind.rowKey,
      scanId,
      trigger,
      startedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.kind.durationMs).toISOString(),
    };
    const current = await this.holder();
    try {
      if (!current) await table.createEntity(row);
      else if (Date.parse(current.expiresAt) <= now)
        await table.updateEntity(row, "Replace", { etag: current.etag });
      else return { acquired: false, holder: current };
    } catch (error) {
      if (!isConcurrencyConflict(error)) throw error;
      const winner = await this.holder();
      if (!winner) throw error;
      return { acquired: false, holder: winner };
    }
    const takenOver = current ? holderSchema.parse(current) : undefined;
    return {
      acquired: true,
      ...(takenOver ? { takenOver } : {}),
      release: async () => {
        const mine = await this.holder();
        if (mine?.scanId !== scanId) return;
        try {
          await table.deleteEntity(PARTITION, this.kind.rowKey, { etag: mine.etag });
        } catch (error) {
          if (!isConcurrencyConflict(error) && statusOf(error) !== 404) throw error;
        }
      },
    };
  }
}
