import { idKey } from "../azure/resource-id";
import { z } from "zod";
import type { QueryRows } from "../azure/resource-graph";
import { errorMessage } from "../errors";
import type { ScanContext, ScanError } from "./scanner";

/**
 * Resource Graph refuses an mv-expand `limit` above 400 (query-language.md, "mv-expand": RowLimit
 * max of 400), so arrays that can be longer (a resource's private endpoint connections) are read
 * in windows of 400 with `array_slice`, one query per window, as peerings are.
 */
export const WINDOW = 400;

/** A windowed read: its name, what it reads, how many windows, the query of each, the row type. */
export interface WindowsRead<T> {
  /** Names the queries in logs: "peering", "peering (window 2, from 400)". */
  name: string;
  /** Names the items in errors: "VNet peerings". */
  what: string;
  windows: number;
  windowQuery(window: number): string;
  rowSchema: z.ZodType<T>;
}

/** The name of one window's query in logs. */
export const windowName = (name: string, window: number) =>
  window === 0 ? name : `${name} (window ${window + 1}, from ${window * WINDOW})`;

/** Rows gathered over several queries, de-duplicated by id; unreadable rows become errors. */
export function rowCollector<T extends { id: string }>(source: string, errors: ScanError[]) {
  const rows: T[] = [];
  const seen = new Set<string>();
  return {
    rows,
    add(result: QueryRows<T>): void {
      for (const row of result.rows) {
        if (seen.has(idKey(row.id))) continue;
        seen.add(idKey(row.id));
        rows.push(row);
      }
      for (const bad of result.unreadable) errors.push({ source, message: bad.message });
    },
  };
}

/**
 * Runs a windowed query for windows 0 to `windows - 1` and returns their rows, de-duplicated by
 * id; unreadable rows become errors. Returns null when a query failed (the error is recorded).
 */
export async function readWindows<T extends { id: string }>(
  context: ScanContext,
  source: string,
  read: WindowsRead<T>,
  errors: ScanError[],
): Promise<T[] | null> {
  const collected = rowCollector<T>(source, errors);
  for (let window = 0; window < read.windows; window++) {
    try {
      collected.add(
        await context.queryAll(windowName(read.name, window), read.windowQuery(window), read.rowSchema),
      );
    } catch (error) {
      errors.push({
        source,
        message: `Reading ${read.what} from Resource Graph failed: ${errorMessage(error)}`,
      });
      return null;
    }
  }
  return collected.rows;
}

/** Text Resource Graph may leave out: read as "" so one odd row is still judged. */
export const text = z
  .string()
  .nullish()
  .transform((s) => s ?? "");

/** The leftouter join that names each remote subscription's tenant where Resource Graph knows it. */
export const REMOTE_TENANT_JOIN = `join kind=leftouter (
    resourcecontainers
    | where type =~ 'microsoft.resources/subscriptions'
    | project remoteSubscriptionId = tolower(subscriptionId), remoteTenantId = tolower(tenantId)
  ) on remoteSubscriptionId
| where isempty(remoteTenantId) or remoteTenantId != tolower(tenantId)`;
