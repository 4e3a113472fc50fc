import { odata, type TableEntityResult, type TransactionAction } from "@azure/data-tables";
import { z } from "zod";
import { idKey } from "../azure/resource-id";
import { findingSchema, type Finding } from "../scanners/findings";
import { deltaOf, reconcile, type Delta, type ScanFacts, type StoredFinding } from "../findings/reconcile";
import { alertMessageSchema } from "../findings/alert-message";
import { findingAlert } from "../findings/transitions";
import type { Storage } from "./storage";
import { chunks, isConcurrencyConflict, statusOf } from "./tables";

const MAX_ATTEMPTS = 5;

/**
 * Findings are spread over 16 partitions by the first hex digit of their id, so changed findings
 * can be written in transactions (which must stay inside one partition) of up to 100.
 */
export const partitionOf = (findingId: string) => findingId.charAt(0);

/**
 * Table Storage allows at most 15 discrete comparisons in one $filter (Query Entities,
 * learn.microsoft.com/rest/api/storageservices/querying-tables-and-entities).
 */
const FILTER_COMPARISONS = 15;

/** The VNet a peering finding lies in, as ARM compares ids: the column a VNet re-check reads by. */
const vnetKeyOf = (finding: Finding) => (finding.kind === "vnet-peering" ? idKey(finding.localVnetId) : "");

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
  /** Peering findings: idKey of their VNet's id (missing on findings stored before it existed). */
  localVnetKey: z.string().optional(),
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
    ...(f.kind === "vnet-peering" ? { localVnetKey: vnetKeyOf(f) } : {}),
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

/** Where a page of the findings table starts (the SDK's continuation token, decoded). */
export interface TablePosition {
  partitionKey: string;
  rowKey?: string;
}

/**
 * Next keys as Table Storage hands them back: opaque, and in Azure an encoded form of the key
 * (e.g. `1!8!cGFydDE-`), so their shape is bounded, not assumed.
 */
const nextKey = z.string().regex(/^[\w!*+/=.-]{1,512}$/);
const positionSchema = z.strictObject({ nextPartitionKey: nextKey, nextRowKey: nextKey.optional() });
const toSdkToken = (p: TablePosition) =>
  Buffer.from(
    JSON.stringify({ nextPartitionKey: p.partitionKey, ...(p.rowKey ? { nextRowKey: p.rowKey } : {}) }),
  ).toString("base64");

/** A position as text for a link (base64url of its JSON). */
export const positionText = (p: TablePosition): string =>
  Buffer.from(toSdkToken(p), "base64").toString("base64url");

/** A position from text (the SDK's base64 token, or a link's base64url); null when it is not one. */
export function positionFromText(text: string): TablePosition | null {
  if (!/^[\w+/=-]{1,2048}$/.test(text)) return null;
  let parsed;
  try {
    parsed = positionSchema.safeParse(JSON.parse(Buffer.from(text, "base64url").toString("utf8")));
  } catch {
    return null;
  }
  if (!parsed.success) return null;
  const p = parsed.data;
  return { partitionKey: p.nextPartitionKey, ...(p.nextRowKey ? { rowKey: p.nextRowKey } : {}) };
}

const byId = (stored: StoredFinding[]) => new Map(stored.map((s) => [s.finding.id, s] as const));

/** The findings table: one entity per finding, written only when it changes. */
export class FindingsStore {
  /** Peering findings read without their VNet column (stored before it existed): a full scan adds it. */
  private readonly unindexed = new Map<string, StoredFinding>();

  constructor(
    private readonly storage: Storage,
    private readonly tableName = "findings",
  ) {}

  async list(): Promise<StoredFinding[]> {
    return this.read();
  }

  /**
   * One page of stored findings in table order (at most `limit`, maybe fewer even when more follow:
   * Table Storage ends a page at its timeout or a partition boundary, learn.microsoft.com/rest/api/
   * storageservices/query-timeout-and-pagination), and where the next page starts.
   */
  async page(
    filter: string | undefined,
    limit: number,
    from?: TablePosition,
  ): Promise<{ findings: StoredFinding[]; next?: TablePosition }> {
    const table = await this.storage.table(this.tableName);
    const pages = table
      .listEntities<Record<string, unknown>>(filter ? { queryOptions: { filter } } : {})
      .byPage({
        maxPageSize: limit,
        ...(from ? { continuationToken: toSdkToken(from) } : {}),
      });
    const { value, done } = await pages.next();
    if (done || !value) return { findings: [] };
    const next = value.continuationToken ? positionFromText(value.continuationToken) : undefined;
    if (next === null) throw new Error("Table Storage returned a continuation token this store cannot read.");
    return { findings: value.map(fromEntity), ...(next ? { next } : {}) };
  }

  /** Findings whose alerts are written but not yet on the queue. */
  async withPendingAlerts(): Promise<StoredFinding[]> {
    return this.read("pendingAlerts gt ''");
  }

  /**
   * Marks findings' pending alerts as sent, a transaction per partition and 100 findings. If a
   * finding was written again meanwhile (its transaction fails on the ETag), its new version still
   * carries them: they go out once more, and the dispatcher drops the copies; the others of that
   * transaction are then marked one by one.
   */
  async clearPendingAlerts(stored: readonly StoredFinding[]): Promise<void> {
    const table = await this.storage.table(this.tableName);
    const clear = (s: StoredFinding) =>
      ({ partitionKey: partitionOf(s.finding.id), rowKey: s.finding.id, pendingAlerts: "" }) as const;
    for (const partition of groupBy(stored, (s) => partitionOf(s.finding.id)).values()) {
      for (const chunk of chunks(partition)) {
        try {
          await table.submitTransaction(
            chunk.map((s): TransactionAction => ["update", clear(s), "Merge", { etag: s.etag }]),
          );
          continue;
        } catch (error) {
          if (!isConcurrencyConflict(error)) throw error;
        }
        for (const s of chunk) {
          try {
            await table.updateEntity(clear(s), "Merge", { etag: s.etag });
          } catch (error) {
            if (!isConcurrencyConflict(error)) throw error;
          }
        }
      }
    }
  }

  private async read(filter?: string): Promise<StoredFinding[]> {
    const table = await this.storage.table(this.tableName);
    const found: StoredFinding[] = [];
    const options = filter ? { queryOptions: { filter } } : {};
    for await (const entity of table.listEntities<Record<string, unknown>>(options)) {
      const stored = fromEntity(entity);
      if (stored.finding.kind === "vnet-peering" && entity.localVnetKey === undefined)
        this.unindexed.set(stored.finding.id, stored);
      found.push(stored);
    }
    return found;
  }

  /**
   * The stored findings a re-check of some VNets can touch, without reading the table: the
   * peering findings of those VNets (by their VNet column), and the findings the re-check saw
   * (read by key, so one stored before the column existed is found too).
   */
  private async inVnets(
    vnets: ReadonlySet<string>,
    ids: readonly string[],
    partition?: string,
  ): Promise<StoredFinding[]> {
    const found = new Map<string, StoredFinding>();
    const inPartition = partition === undefined ? "" : `${odata`PartitionKey eq ${partition}`} and `;
    for (const keys of chunks([...vnets], FILTER_COMPARISONS - 1)) {
      const anyVnet = keys.map((key) => odata`localVnetKey eq ${key}`).join(" or ");
      for (const stored of await this.read(`${inPartition}(${anyVnet})`))
        found.set(stored.finding.id, stored);
    }
    const table = await this.storage.table(this.tableName);
    for (const id of ids) {
      if (found.has(id) || (partition !== undefined && partitionOf(id) !== partition)) continue;
      try {
        const entity = await table.getEntity<Record<string, unknown>>(partitionOf(id), id);
        found.set(id, fromEntity(entity));
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
    }
    return [...found.values()];
  }

  /**
   * Reconciles this scan's findings with the stored ones and writes what changed. Each write
   * carries the ETag it was computed from; when another scan wrote the partition meanwhile, the
   * partition is read again and reconciled anew, so no update is lost.
   */
  async save(
    current: readonly Finding[],
    scan: ScanFacts,
    options: {
      /** The stored findings when the caller has just read them. */
      stored?: StoredFinding[];
      /** A VNet re-check that sends its own alerts: collect them (see `pending`). */
      pending?: boolean;
    } = {},
  ): Promise<{
    delta: Delta;
    writes: number;
    /**
     * When asked: the findings this save read or wrote that carry alerts not yet on the queue,
     * with their present ETags, what a VNet re-check sends without reading the table for them.
     */
    pending: StoredFinding[];
  }> {
    const storedNow = options.stored;
    // Only a VNet re-check sends its own alerts; a full scan (and the poller) flushes every pending one.
    const collect = scan.vnets !== undefined && options.pending === true;
    const ids = current.map((f) => f.id);
    // A VNet re-check (an event, the change poller) costs its VNets' findings, not the table's.
    const scoped = scan.vnets && !storedNow ? scan.vnets : undefined;
    const stored = storedNow ?? (scoped ? await this.inVnets(scoped, ids) : await this.list());
    const storedByPartition = groupBy(stored, (s) => partitionOf(s.finding.id));
    const currentByPartition = groupBy(current, (f) => partitionOf(f.id));
    const partitions = new Set([...storedByPartition.keys(), ...currentByPartition.keys()]);
    const committed: StoredFinding[] = [];
    const pending: StoredFinding[] = [];

    for (const partition of partitions) {
      let before = byId(storedByPartition.get(partition) ?? []);
      for (let attempt = 1; ; attempt++) {
        const writes = reconcile(before, currentByPartition.get(partition) ?? [], scan).map(withAlert);
        try {
          await this.write(writes, committed);
          if (collect) {
            const written = new Set(writes.map((w) => w.finding.id));
            for (const s of before.values())
              if (!written.has(s.finding.id) && s.pendingAlerts.length > 0) pending.push(s);
          }
          break;
        } catch (error) {
          if (!isConcurrencyConflict(error) || attempt >= MAX_ATTEMPTS) throw error;
          before = byId(
            scoped
              ? await this.inVnets(scoped, ids, partition)
              : await this.read(odata`PartitionKey eq ${partition}`),
          );
        }
      }
    }
    if (!scan.vnets) await this.indexOlder(committed);
    // A transaction answers an update without its entity's new ETag: such a write is read back by key.
    const table = await this.storage.table(this.tableName);
    for (const c of collect ? committed.filter((w) => w.pendingAlerts.length > 0) : []) {
      if (c.etag) pending.push(c);
      else {
        const now = fromEntity(await table.getEntity(partitionOf(c.finding.id), c.finding.id));
        if (now.pendingAlerts.length > 0) pending.push(now);
      }
    }
    // A finding can be met twice (before a retried chunk, and as committed): one entry each, the
    // last, since a transaction may not hold the same row twice.
    const unique = [...new Map(pending.map((p) => [p.finding.id, p])).values()];
    return { delta: deltaOf(committed), writes: committed.length, pending: unique };
  }

  /**
   * Adds the VNet column to peering findings stored before it existed, once, after a whole-estate
   * save (a finding rewritten meanwhile has it already).
   */
  private async indexOlder(committed: readonly StoredFinding[]): Promise<void> {
    const written = new Set(committed.map((c) => c.finding.id));
    const table = await this.storage.table(this.tableName);
    for (const [id, stored] of this.unindexed) {
      if (written.has(id) || stored.finding.kind !== "vnet-peering") continue;
      try {
        await table.updateEntity(
          { partitionKey: partitionOf(id), rowKey: id, localVnetKey: vnetKeyOf(stored.finding) },
          "Merge",
          { etag: stored.etag },
        );
      } catch (error) {
        if (!isConcurrencyConflict(error)) throw error;
      }
    }
    this.unindexed.clear();
  }

  private async write(writes: StoredFinding[], committed: StoredFinding[]): Promise<void> {
    const table = await this.storage.table(this.tableName);
    for (const chunk of chunks(writes)) {
      const actions: TransactionAction[] = chunk.map((w) =>
        w.etag ? ["update", toEntity(w), "Replace", { etag: w.etag }] : ["create", toEntity(w)],
      );
      const response = await table.submitTransaction(actions);
      // As written: with the ETag the write gave it (none when the answer does not say).
      committed.push(
        ...chunk.map((w) => {
          const { etag: _before, ...written } = w;
          const etag = response.getResponseForEntity(w.finding.id)?.etag;
          return etag ? { ...written, etag } : written;
        }),
      );
    }
  }
}
