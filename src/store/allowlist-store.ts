import { randomBytes } from "node:crypto";
import { odata, type TableClient, type TransactionAction } from "@azure/data-tables";
import { z } from "zod";
import { allowlistEntryInputSchema, ENTRY_LIMITS, type AllowlistEntry } from "../allowlist/entry";
import { byId, canonicalEntry } from "../allowlist/export";
import { describeIssues } from "../validation";
import type { Storage } from "./storage";
import { cleanText } from "../text";
import { batches, chunks, isConcurrencyConflict, statusOf } from "./tables";

/** An allowlist entry as kept in Table Storage: who added it and when, and when its content last changed. */
export type StoredAllowlistEntry = AllowlistEntry & {
  createdAt: string;
  createdBy: string;
  updatedAt: string;
};

export interface ReplaceResult {
  added: number;
  changed: number;
  removed: number;
  unchanged: number;
}

const READ_ATTEMPTS = 5;
const POINTER = { partitionKey: "current", rowKey: "pointer" } as const;

const versionPrefix = (version: number) => `v${String(version).padStart(10, "0")}`;

const pointerSchema = z.object({
  version: z.number().int().positive(),
  partition: z.string().regex(/^v\d{10}-[0-9a-f]{8}$/),
});

const stampsSchema = z.strictObject({
  createdAt: z.iso.datetime(),
  createdBy: z.string().min(1),
  updatedAt: z.iso.datetime(),
});

interface Pointer {
  etag: string;
  version: number;
  partition: string;
}

interface LiveAllowlist {
  pointer?: Pointer;
  entries: StoredAllowlistEntry[];
}

type Row = Record<string, unknown> & { etag: string; partitionKey?: string; rowKey?: string };

function invalidRow(table: string, row: Row, problems: string[]): Error {
  return new Error(
    `Row ${row.partitionKey}/${row.rowKey} of table ${table} is not a valid allowlist entry ` +
      `(edited by hand?): ${problems.join("; ")}`,
  );
}

/** Rows can be edited by hand in Storage Explorer, so each is checked as strictly as an allowlist file. */
function entryOfRow(table: string, row: Row): StoredAllowlistEntry {
  const {
    etag: _etag,
    timestamp: _timestamp,
    partitionKey: _partitionKey,
    rowKey,
    createdAt,
    createdBy,
    updatedAt,
    kinds,
    ...fields
  } = row;
  const entry = allowlistEntryInputSchema.safeParse({
    id: rowKey,
    ...fields,
    ...(kinds === undefined ? {} : { kinds: kindsOfCell(kinds) }),
  });
  const stamps = stampsSchema.safeParse({ createdAt, createdBy, updatedAt });
  const problems = [
    ...(entry.success ? [] : describeIssues(entry.error)),
    ...(stamps.success ? [] : describeIssues(stamps.error)),
  ];
  if (!entry.success || !stamps.success) throw invalidRow(table, row, problems);
  return { ...entry.data, id: String(rowKey), ...stamps.data };
}

/** Table Storage holds no arrays: `kinds` is kept as comma-separated text. */
const kindsOfCell = (cell: unknown): unknown => (typeof cell === "string" ? cell.split(",") : cell);

/** Only the properties an entry has: Table Storage would otherwise keep empty columns. */
function rowOfEntry(partition: string, entry: StoredAllowlistEntry) {
  const { id, kinds, ...fields } = canonicalEntry(entry);
  return {
    partitionKey: partition,
    rowKey: id,
    ...fields,
    ...(kinds ? { kinds: kinds.join(",") } : {}),
    createdAt: entry.createdAt,
    createdBy: entry.createdBy,
    updatedAt: entry.updatedAt,
  };
}

/** Entries as they will read back (trimmed, no trailing slash), so re-imports compare like with like. */
function normalised(entries: AllowlistEntry[], actor: string): AllowlistEntry[] {
  if (actor.trim() === "") throw new Error("An allowlist import needs the name of who imports it.");
  const seen = new Set<string>();
  return entries.map((entry) => {
    if (!entry.id) throw new Error("Every allowlist entry to store needs an id.");
    if (seen.has(entry.id)) throw new Error(`Allowlist entry id ${entry.id} is used twice.`);
    seen.add(entry.id);
    const result = allowlistEntryInputSchema.safeParse(canonicalEntry(entry));
    if (!result.success)
      throw new Error(`Allowlist entry ${entry.id} is not valid: ${describeIssues(result.error).join("; ")}`);
    return { ...result.data, id: entry.id };
  });
}

const sameContent = (a: AllowlistEntry, b: AllowlistEntry) =>
  JSON.stringify(canonicalEntry(a)) === JSON.stringify(canonicalEntry(b));

/** The new version's entries, keeping who created each existing entry and when it last changed. */
function merge(
  before: StoredAllowlistEntry[],
  entries: AllowlistEntry[],
  actor: string,
  now: string,
): { stored: StoredAllowlistEntry[]; result: ReplaceResult } {
  const previous = new Map(before.map((entry) => [entry.id, entry]));
  const result: ReplaceResult = { added: 0, changed: 0, removed: 0, unchanged: 0 };
  const stored = entries.map((entry): StoredAllowlistEntry => {
    const old = previous.get(entry.id);
    if (!old) {
      result.added++;
      return { ...canonicalEntry(entry), createdAt: now, createdBy: actor, updatedAt: now };
    }
    const same = sameContent(old, entry);
    result[same ? "unchanged" : "changed"]++;
    return {
      ...canonicalEntry(entry),
      createdAt: old.createdAt,
      createdBy: old.createdBy,
      updatedAt: same ? old.updatedAt : now,
    };
  });
  const ids = new Set(entries.map((entry) => entry.id));
  result.removed = before.filter((entry) => !ids.has(entry.id)).length;
  return { stored: stored.sort(byId), result };
}

/** Deletes every row the filter selects, partition by partition, in transactions. */
async function deleteRows(table: TableClient, filter: string): Promise<void> {
  const byPartition = new Map<string, string[]>();
  for await (const row of table.listEntities({
    queryOptions: { filter, select: ["PartitionKey", "RowKey"] },
  })) {
    const rows = byPartition.get(row.partitionKey!) ?? [];
    rows.push(row.rowKey!);
    byPartition.set(row.partitionKey!, rows);
  }
  for (const [partitionKey, rowKeys] of byPartition) {
    for (const chunk of chunks(rowKeys)) {
      await table.submitTransaction(
        chunk.map((rowKey): TransactionAction => ["delete", { partitionKey, rowKey }]),
      );
    }
  }
}

/** Leftover rows are never read (the pointer does not name them) and the next import sweeps them again. */
async function bestEffort(work: Promise<void>): Promise<void> {
  try {
    await work;
  } catch {
    // Deliberately ignored: see above.
  }
}

/** Another change of the allowlist won the race; nothing of this one was kept. */
export class AllowlistConflictError extends Error {
  override name = "AllowlistConflictError";
}

/**
 * The allowlist in Table Storage, replaced as a whole. Each version lives in its own partition
 * (`v<10-digit version>-<8 hex>`); the `current`/`pointer` row names the live one. An import writes
 * a new partition, then moves the pointer with its ETag, so readers see the old allowlist or the
 * new one and never a mix, whatever the number of entries.
 */
export class AllowlistStore {
  constructor(
    private readonly storage: Storage,
    private readonly tableName = "allowlist",
  ) {}

  async list(): Promise<StoredAllowlistEntry[]> {
    const table = await this.storage.table(this.tableName);
    return (await this.readLive(table)).entries;
  }

  /**
   * Makes `entries` the allowlist. Fails, changing nothing, when another import moved the pointer
   * first; then the caller should look at the allowlist and import again.
   */
  async replaceAll(entries: AllowlistEntry[], actor: string, now = new Date()): Promise<ReplaceResult> {
    return this.change(() => entries, actor, now);
  }

  /**
   * Adds an entry or replaces the one with its id. Like every change it is based on the allowlist
   * as read, so a concurrent change makes it fail rather than be overwritten.
   */
  async upsert(entry: AllowlistEntry, actor: string, now = new Date()): Promise<ReplaceResult> {
    return this.change((live) => [...live.filter((e) => e.id !== entry.id), entry], actor, now);
  }

  /** Removes the entry with this id; false when there is none. */
  async remove(id: string, actor: string, now = new Date()): Promise<boolean> {
    const result = await this.change((live) => live.filter((e) => e.id !== id), actor, now);
    return result.removed > 0;
  }

  private async change(
    next: (live: StoredAllowlistEntry[]) => AllowlistEntry[],
    actor: string,
    now: Date,
  ): Promise<ReplaceResult> {
    const table = await this.storage.table(this.tableName);
    const live = await this.readLive(table);
    // Who made the change comes from a request header or the environment: outside text too.
    const by = cleanText(actor, ENTRY_LIMITS.owner);
    const incoming = normalised(next(live.entries), by);
    const { stored, result } = merge(live.entries, incoming, by, now.toISOString());
    if (result.added + result.changed + result.removed === 0) return result;

    const version = (live.pointer?.version ?? 0) + 1;
    const partition = `${versionPrefix(version)}-${randomBytes(4).toString("hex")}`;
    const ownRows = odata`PartitionKey eq ${partition}`;
    try {
      await this.write(table, partition, stored);
    } catch (error) {
      await bestEffort(deleteRows(table, ownRows));
      throw error;
    }
    try {
      await this.flip(table, live.pointer, { version, partition });
    } catch (error) {
      // After any other failure the flip may have happened after all, so the rows must stay.
      // 412: the pointer moved since it was read; 409: another first import created it.
      if (!isConcurrencyConflict(error)) throw error;
      await bestEffort(deleteRows(table, ownRows));
      throw new AllowlistConflictError(
        `Another allowlist import or change finished while this one was running, so this one changed nothing ` +
          `in table ${this.tableName} of ${this.storage.describe}. Check the allowlist and try again.`,
        { cause: error },
      );
    }
    // Every older version, and any partition a failed or crashed import left behind.
    await bestEffort(
      deleteRows(
        table,
        odata`PartitionKey ge 'v' and PartitionKey lt ${versionPrefix(version + 1)} and PartitionKey ne ${partition}`,
      ),
    );
    return result;
  }

  private async readPointer(table: TableClient): Promise<Pointer | undefined> {
    let row: Row;
    try {
      row = await table.getEntity<Record<string, unknown>>(POINTER.partitionKey, POINTER.rowKey);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
    const pointer = pointerSchema.safeParse(row);
    if (!pointer.success) throw invalidRow(this.tableName, row, describeIssues(pointer.error));
    return { etag: row.etag, ...pointer.data };
  }

  private async readLive(table: TableClient): Promise<LiveAllowlist> {
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const pointer = await this.readPointer(table);
      if (!pointer) return { entries: [] };
      const entries: StoredAllowlistEntry[] = [];
      const filter = odata`PartitionKey eq ${pointer.partition}`;
      for await (const row of table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
        entries.push(entryOfRow(this.tableName, row));
      }
      // An import that moved the pointer meanwhile may have been deleting the rows just read.
      if ((await this.readPointer(table))?.etag === pointer.etag)
        return { pointer, entries: entries.sort(byId) };
    }
    throw new Error(
      `The allowlist in table ${this.tableName} of ${this.storage.describe} changed ${READ_ATTEMPTS} times ` +
        `while it was being read. Try again.`,
    );
  }

  /** Batches are split by count and by bytes; the pointer flip afterwards is what makes the change atomic. */
  private async write(table: TableClient, partition: string, entries: StoredAllowlistEntry[]): Promise<void> {
    const rows = entries.map((entry) => rowOfEntry(partition, entry));
    for (const batch of batches(rows, (row) => `Allowlist entry ${row.rowKey}`)) {
      await table.submitTransaction(batch.map((row): TransactionAction => ["create", row]));
    }
  }

  private async flip(
    table: TableClient,
    current: Pointer | undefined,
    next: { version: number; partition: string },
  ): Promise<void> {
    const row = { ...POINTER, ...next };
    if (current) await table.updateEntity(row, "Replace", { etag: current.etag });
    else await table.createEntity(row);
  }
}
