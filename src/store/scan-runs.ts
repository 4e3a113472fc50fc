import { odata } from "@azure/data-tables";
import { z } from "zod";
import type { ScanScope } from "../azure/resource-graph";
import type { Delta } from "../findings/reconcile";
import { scanReportSchema, type ScanReport } from "../findings/report";
import type { Storage } from "./storage";

export type Trigger = "timer" | "http" | "cli";
export type RunStatus = "queued" | "running" | "finished" | "failed";

/** Delta ids kept per run; counts are always complete (a property holds at most 64 KiB). */
const MAX_IDS = 200;
/** A report is kept with its run in string properties of 32 Ki characters (64 KiB), up to this many. */
const REPORT_CHUNKS = 14;
const CHUNK_CHARS = 32 * 1024;

/** A scan that finished (complete or not) and what it found and covered. */
export interface ScanRun {
  scanId: string;
  status: "finished";
  trigger: Trigger;
  /** Management groups or subscriptions scanned; both empty: everything the identity can read. */
  scope: ScanScope;
  startedAt: string;
  finishedAt: string;
  homeTenantId: string;
  complete: boolean;
  errors: ScanReport["errors"];
  stats: ScanReport["stats"];
  deltaCounts: Record<keyof Delta, number>;
  /** Up to 200 ids of each kind of change. */
  delta: Delta;
  /** Subscriptions that held unresolved findings and were out of the scan's sight. */
  lostSubscriptions: string[];
  dryRun: boolean;
}

/** A scan asked for through the API that has not finished: waiting on the queue, running, or failed. */
export interface PendingRun {
  scanId: string;
  status: "queued" | "running" | "failed";
  trigger: Trigger;
  scope: ScanScope;
  requestedAt: string;
  dryRun: boolean;
  startedAt?: string;
  /** Why it failed, for `failed`. */
  failure?: string;
}

export type ScanRunRecord = ScanRun | PendingRun;

const scopeSchema = z.object({ managementGroups: z.array(z.string()), subscriptions: z.array(z.string()) });
const json = <T extends z.ZodType>(schema: T) => z.string().transform((s) => schema.parse(JSON.parse(s)));

const finishedSchema = z.object({
  scanId: z.string(),
  status: z.literal("finished").default("finished"),
  trigger: z.enum(["timer", "http", "cli"]),
  scope: json(scopeSchema),
  startedAt: z.string(),
  finishedAt: z.string(),
  homeTenantId: z.string(),
  complete: z.boolean(),
  errors: json(z.array(z.object({ source: z.string(), message: z.string() }))),
  stats: json(scanReportSchema.shape.stats),
  deltaCounts: json(
    z.object({ new: z.number(), resolved: z.number(), reopened: z.number(), changed: z.number() }),
  ),
  delta: json(scanReportSchema.shape.delta.unwrap()),
  lostSubscriptions: json(z.array(z.string())).default([]),
  dryRun: z.boolean().default(false),
});

const pendingSchema = z.object({
  scanId: z.string(),
  status: z.enum(["queued", "running", "failed"]),
  trigger: z.enum(["timer", "http", "cli"]),
  scope: json(scopeSchema),
  requestedAt: z.string(),
  dryRun: z.boolean(),
  startedAt: z.string().optional(),
  failure: z.string().optional(),
});

/** Newest first in Table order: row keys count down with time. */
const rowKeyOf = (at: string, scanId: string) =>
  `${String(9_999_999_999_999 - Date.parse(at)).padStart(13, "0")}-${scanId}`;
const PARTITION = "run";

function parseRun(entity: Record<string, unknown>): ScanRunRecord {
  if (entity.status === "queued" || entity.status === "running" || entity.status === "failed") {
    const p = pendingSchema.parse(entity);
    return {
      scanId: p.scanId,
      status: p.status,
      trigger: p.trigger,
      scope: p.scope,
      requestedAt: p.requestedAt,
      dryRun: p.dryRun,
      ...(p.startedAt ? { startedAt: p.startedAt } : {}),
      ...(p.failure ? { failure: p.failure } : {}),
    };
  }
  return finishedSchema.parse(entity);
}

/**
 * One entity per scan: who asked for it, what it covered, what changed, and (for scans asked
 * through the API) where it stands. Not per finding. A queued scan keeps the row key of its
 * request, so every later state replaces the same entity.
 */
export class ScanRunsStore {
  constructor(
    private readonly storage: Storage,
    private readonly tableName = "scanruns",
  ) {}

  async queued(run: Omit<PendingRun, "status">): Promise<void> {
    const table = await this.storage.table(this.tableName);
    await table.createEntity({
      partitionKey: PARTITION,
      rowKey: rowKeyOf(run.requestedAt, run.scanId),
      ...run,
      status: "queued",
      scope: JSON.stringify(run.scope),
    });
  }

  /** Moves a requested scan to `running` or `failed` (its record keeps the request's row key). */
  async update(
    scanId: string,
    requestedAt: string,
    change: { status: "running"; startedAt: string } | { status: "failed"; failure: string },
  ): Promise<void> {
    const table = await this.storage.table(this.tableName);
    await table.updateEntity(
      { partitionKey: PARTITION, rowKey: rowKeyOf(requestedAt, scanId), ...change },
      "Merge",
    );
  }

  /**
   * Records a finished scan with its report. `requestedAt` names the queued record it completes;
   * recording again (a retried message) replaces it.
   */
  async record(
    report: ScanReport,
    trigger: Trigger,
    scope: ScanScope,
    delta: Delta,
    options: { requestedAt?: string; dryRun?: boolean } = {},
  ): Promise<ScanRun> {
    const run: ScanRun = {
      scanId: report.scanId,
      status: "finished",
      trigger,
      scope,
      startedAt: report.startedAt,
      finishedAt: report.finishedAt,
      homeTenantId: report.homeTenantId,
      complete: report.complete,
      errors: report.errors.slice(0, 50),
      stats: report.stats,
      deltaCounts: {
        new: delta.new.length,
        resolved: delta.resolved.length,
        reopened: delta.reopened.length,
        changed: delta.changed.length,
      },
      delta: {
        new: delta.new.slice(0, MAX_IDS),
        resolved: delta.resolved.slice(0, MAX_IDS),
        reopened: delta.reopened.slice(0, MAX_IDS),
        changed: delta.changed.slice(0, MAX_IDS),
      },
      lostSubscriptions: report.coverage?.lostSubscriptions ?? [],
      dryRun: options.dryRun ?? false,
    };
    const text = JSON.stringify({ ...report, delta });
    const chunks = Math.ceil(text.length / CHUNK_CHARS);
    const table = await this.storage.table(this.tableName);
    await table.upsertEntity(
      {
        partitionKey: PARTITION,
        rowKey: rowKeyOf(options.requestedAt ?? run.startedAt, run.scanId),
        ...run,
        scope: JSON.stringify(run.scope),
        errors: JSON.stringify(run.errors),
        stats: JSON.stringify(run.stats),
        deltaCounts: JSON.stringify(run.deltaCounts),
        delta: JSON.stringify(run.delta),
        lostSubscriptions: JSON.stringify(run.lostSubscriptions),
        ...(chunks <= REPORT_CHUNKS
          ? Object.fromEntries(
              Array.from({ length: chunks }, (_, i) => [
                `report${i}`,
                text.slice(i * CHUNK_CHARS, (i + 1) * CHUNK_CHARS),
              ]),
            )
          : {}),
      },
      "Replace",
    );
    return run;
  }

  /**
   * Finished scans that kept state, newest first (dry runs looked but kept nothing). Runs recorded
   * before scans could be queued have no status: they are finished.
   */
  async latest(limit: number): Promise<ScanRun[]> {
    return (await this.read(
      limit,
      undefined,
      (run) => run.status === "finished" && !run.dryRun,
    )) as ScanRun[];
  }

  /**
   * What a findings listing needs of the runs: the latest finished scan that kept state and when
   * the latest complete one (of the last `limit` such) finished. Reads those columns only, never
   * the reports kept with the runs. A column $select names but an entity lacks comes back null.
   */
  async latestIds(limit = 50): Promise<{ scanId?: string; lastComplete?: string }> {
    const table = await this.storage.table(this.tableName);
    const entities = table.listEntities<Record<string, unknown>>({
      queryOptions: { select: ["scanId", "status", "dryRun", "complete", "finishedAt"] },
    });
    let scanId: string | undefined;
    let finished = 0;
    for await (const e of entities) {
      // Runs recorded before scans could be queued have no status: they are finished.
      if ((e.status != null && e.status !== "finished") || e.dryRun === true) continue;
      scanId ??= z.string().parse(e.scanId);
      if (e.complete === true) return { scanId, lastComplete: z.string().parse(e.finishedAt) };
      if (++finished >= limit) break;
    }
    return scanId ? { scanId } : {};
  }

  /** Every recorded scan, queued to finished, newest first. */
  async recent(limit: number): Promise<ScanRunRecord[]> {
    return this.read(limit);
  }

  async get(scanId: string): Promise<ScanRunRecord | undefined> {
    const [run] = await this.read(1, odata`scanId eq ${scanId}`);
    return run;
  }

  /** The report a finished scan answered, when it was small enough to keep with its run. */
  async report(scanId: string): Promise<ScanReport | undefined> {
    const table = await this.storage.table(this.tableName);
    const entities = table.listEntities<Record<string, unknown>>({
      queryOptions: { filter: odata`scanId eq ${scanId}` },
    });
    for await (const entity of entities) {
      if (typeof entity.report0 !== "string") return undefined;
      let text = "";
      for (let i = 0; typeof entity[`report${i}`] === "string"; i++) text += entity[`report${i}`] as string;
      return scanReportSchema.parse(JSON.parse(text));
    }
    return undefined;
  }

  private async read(
    limit: number,
    filter?: string,
    keep: (run: ScanRunRecord) => boolean = () => true,
  ): Promise<ScanRunRecord[]> {
    const table = await this.storage.table(this.tableName);
    const runs: ScanRunRecord[] = [];
    const options = filter ? { queryOptions: { filter } } : {};
    for await (const entity of table.listEntities<Record<string, unknown>>(options)) {
      const run = parseRun(entity);
      if (keep(run)) runs.push(run);
      if (runs.length >= limit) break;
    }
    return runs;
  }
}
