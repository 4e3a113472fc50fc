import { odata, type TableEntityResult, type TransactionAction } from "@azure/data-tables";
import { z } from "zod";
import { findingSchema, type Finding } from "../scanners/findings";
import { deltaOf, reconcile, type Delta, type ScanFacts, type StoredFinding } from "../scan/reconcile";
import { alertMessageSchema } from "../alerts/message";
import { findingAlert } from "../alerts/transitions";
import type { Storage } from "./storage";
import { chunks, isConcurrencyConflict } from "./tables";

const MAX_ATTEMPTS = 5;

/**
 * Findings are spread over 16 partitions by the first hex digit of their id, so changed findings
 * can be written in transactions (which must stay inside one partition) of up to 100.
 */
export const partitionOf = (findingId: string) => findingId.charAt(0);

const entitySchema = z.object({
  partitionKey: z.string(),
  rowKey: z.string(),
  etag: z.string(),
  finding: z.string(),
  state: z.enum(["open", "allowed", "expired-exception", "resolved"]),
  firstSeen: z.string(),
  firstScanId: z.string(),
  lastSeen: z.string(),
  lastScanId: z.string(),
  history: z.string(),
  /** "" once the alerts went out (a Merge update cannot remove a property). */
  pendingAlerts: z.string().optional(),
  /** "stale" while the finding's subscription is out of the scan's sight. */
  coverage: z.string().optional(),
  lastVerified: z.string().optional(),
});

const historySchema = z.array(
  z.object({
    at: z.string(),
    scanId: z.string(),
    event: z.enum(["new", "reopened", "resolved", "changed", "stale", "verified"]),
    state: z.enum(["open", "allowed", "expired-exception", "resolved"]),
  }),
);

function toEntity(stored: StoredFinding) {
  const f = stored.finding;
  return {
    partitionKey: partitionOf(f.id),
    rowKey: f.id,
    kind: f.kind,
    status: f.status,
    severity: f.severity,
    localSubscriptionId: f.localSubscriptionId,
    finding: JSON.stringify(f),
    state: stored.state,
    firstSeen: stored.firstSeen,
    firstScanId: stored.firstScanId,
    lastSeen: stored.lastSeen,
    lastScanId: stored.lastScanId,
    history: JSON.stringify(stored.history),
    pendingAlerts: stored.pendingAlerts.length > 0 ? JSON.stringify(stored.pendingAlerts) : "",
    ...(stored.coverage
      ? { coverage: stored.coverage.state, lastVerified: stored.coverage.lastVerified }
      : {}),
  };
}

function fromEntity(raw: TableEntityResult<Record<string, unknown>>): StoredFinding {
  const parsed = entitySchema.safeParse(raw);
  if (!parsed.success)
    throw new Error(`Stored finding ${raw.rowKey} is not readable: ${parsed.error.issues[0]?.message}`);
  const e = parsed.data;
  return {
    finding: findingSchema.parse(JSON.parse(e.finding)),
    state: e.state,
    firstSeen: e.firstSeen,
    firstScanId: e.firstScanId,
    lastSeen: e.lastSeen,
    lastScanId: e.lastScanId,
    history: historySchema.parse(JSON.parse(e.history)),
    pendingAlerts: e.pendingAlerts ? z.array(alertMessageSchema).parse(JSON.parse(e.pendingAlerts)) : [],
    ...(e.coverage === "stale"
      ? { coverage: { state: "stale", lastVerified: e.lastVerified ?? e.lastSeen } }
      : {}),
    etag: e.etag,
  };
}

function groupBy<T>(items: Iterable<T>, key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}

/** The finding's alert, if its change calls for one, goes into the same entity write as the change. */
function withAlert(write: StoredFinding): StoredFinding {
  const alert = findingAlert(write);
  return alert ? { ...write, pendingAlerts: [...write.pendingAlerts, alert] } : write;
}

const byId = (stored: StoredFinding[]) => new Map(stored.map((s) => [s.finding.id, s] as const));

/** The findings table: one entity per finding, written only when it changes. */
export class FindingsStore {
  constructor(
    private readonly storage: Storage,
    private readonly tableName = "findings",
  ) {}

  async list(): Promise<StoredFinding[]> {
    return this.read();
  }

  /** Findings whose alerts are written but not yet on the queue. */
  async withPendingAlerts(): Promise<StoredFinding[]> {
    return this.read("pendingAlerts gt ''");
  }

  /**
   * Marks a finding's pending alerts as sent. If the finding was written again meanwhile, its new
   * version still carries them: they go out once more, and the dispatcher drops the copies.
   */
  async clearPendingAlerts(stored: StoredFinding): Promise<void> {
    const table = await this.storage.table(this.tableName);
    const id = stored.finding.id;
    try {
      await table.updateEntity({ partitionKey: partitionOf(id), rowKey: id, pendingAlerts: "" }, "Merge", {
        etag: stored.etag,
      });
    } catch (error) {
      if (!isConcurrencyConflict(error)) throw error;
    }
  }

  private async read(filter?: string): Promise<StoredFinding[]> {
    const table = await this.storage.table(this.tableName);
    const found: StoredFinding[] = [];
    const options = filter ? { queryOptions: { filter } } : {};
    for await (const entity of table.listEntities<Record<string, unknown>>(options))
      found.push(fromEntity(entity));
    return found;
  }

  /**
   * Reconciles this scan's findings with the stored ones and writes what changed. Each write
   * carries the ETag it was computed from; when another scan wrote the partition meanwhile, the
   * partition is read again and reconciled anew, so no update is lost.
   */
  async save(
    current: readonly Finding[],
    scan: ScanFacts,
    /** The stored findings when the caller has just read them. */
    storedNow?: StoredFinding[],
  ): Promise<{ delta: Delta; writes: number }> {
    const stored = storedNow ?? (await this.list());
    const storedByPartition = groupBy(stored, (s) => partitionOf(s.finding.id));
    const currentByPartition = groupBy(current, (f) => partitionOf(f.id));
    const partitions = new Set([...storedByPartition.keys(), ...currentByPartition.keys()]);
    const committed: StoredFinding[] = [];

    for (const partition of partitions) {
      let before = byId(storedByPartition.get(partition) ?? []);
      for (let attempt = 1; ; attempt++) {
        const writes = reconcile(before, currentByPartition.get(partition) ?? [], scan).map(withAlert);
        try {
          await this.write(writes, committed);
          break;
        } catch (error) {
          if (!isConcurrencyConflict(error) || attempt >= MAX_ATTEMPTS) throw error;
          before = byId(await this.read(odata`PartitionKey eq ${partition}`));
        }
      }
    }
    return { delta: deltaOf(committed), writes: committed.length };
  }

  private async write(writes: StoredFinding[], committed: StoredFinding[]): Promise<void> {
    const table = await this.storage.table(this.tableName);
    for (const chunk of chunks(writes)) {
      const actions: TransactionAction[] = chunk.map((w) =>
        w.etag ? ["update", toEntity(w), "Replace", { etag: w.etag }] : ["create", toEntity(w)],
      );
      await table.submitTransaction(actions);
      committed.push(...chunk);
    }
  }
}
