import { odata } from "@azure/data-tables";
import { z } from "zod";
import type { ScanScope } from "../azure/resource-graph";
import type { Delta } from "../scan/reconcile";
import type { ScanReport } from "../scan/report";
import type { Storage } from "./storage";

export type Trigger = "timer" | "http" | "cli";

/** Delta ids kept per run; counts are always complete (a property holds at most 64 KiB). */
const MAX_IDS = 200;

export interface ScanRun {
  scanId: string;
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
}

const runSchema = z.object({
  scanId: z.string(),
  trigger: z.enum(["timer", "http", "cli"]),
  scope: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
  homeTenantId: z.string(),
  complete: z.boolean(),
  errors: z.string(),
  stats: z.string(),
  deltaCounts: z.string(),
  delta: z.string(),
});

/** Newest first in Table order: row keys count down with time. */
const rowKeyOf = (startedAt: string, scanId: string) =>
  `${String(9_999_999_999_999 - Date.parse(startedAt)).padStart(13, "0")}-${scanId}`;

/** One entity per scan: who started it, what it covered, and what changed. Not per finding. */
export class ScanRunsStore {
  constructor(
    private readonly storage: Storage,
    private readonly tableName = "scanruns",
  ) {}

  async record(report: ScanReport, trigger: Trigger, scope: ScanScope, delta: Delta): Promise<ScanRun> {
    const run: ScanRun = {
      scanId: report.scanId,
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
    };
    const table = await this.storage.table(this.tableName);
    await table.createEntity({
      partitionKey: "run",
      rowKey: rowKeyOf(run.startedAt, run.scanId),
      ...run,
      scope: JSON.stringify(run.scope),
      errors: JSON.stringify(run.errors),
      stats: JSON.stringify(run.stats),
      deltaCounts: JSON.stringify(run.deltaCounts),
      delta: JSON.stringify(run.delta),
    });
    return run;
  }

  async latest(limit: number): Promise<ScanRun[]> {
    return this.read(limit);
  }

  async get(scanId: string): Promise<ScanRun | undefined> {
    const [run] = await this.read(1, odata`scanId eq ${scanId}`);
    return run;
  }

  private async read(limit: number, filter?: string): Promise<ScanRun[]> {
    const table = await this.storage.table(this.tableName);
    const runs: ScanRun[] = [];
    const options = filter ? { queryOptions: { filter } } : {};
    for await (const entity of table.listEntities<Record<string, unknown>>(options)) {
      const e = runSchema.parse(entity);
      runs.push({
        ...e,
        scope: JSON.parse(e.scope),
        errors: JSON.parse(e.errors),
        stats: JSON.parse(e.stats),
        deltaCounts: JSON.parse(e.deltaCounts),
        delta: JSON.parse(e.delta),
      });
      if (runs.length >= limit) break;
    }
    return runs;
  }
}
