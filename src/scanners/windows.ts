import { idKey } from "../azure/resource-id";
import { z } from "zod";
import { errorMessage } from "../errors";
import type { ScanContext, ScanError } from "./scanner";

/**
 * Resource Graph refuses an mv-expand `limit` above 400 (query-language.md, "mv-expand": RowLimit
 * max of 400), so arrays that can be longer (a resource's private endpoint connections) are read
 * in windows of 400 with `array_slice`, one query per window, as peerings are.
 */
export const WINDOW = 400;

/**
 * How many resources hold how many private endpoint connections, in each of the three arrays:
 * one query that both private endpoint checks read (the scan asks it once), so each check's
 * fixed cost per subscription group stays one request.
 */
export const CONNECTION_SUMMARY_QUERY = `resources
| where isnotnull(properties.privateLinkServiceConnections) or isnotnull(properties.manualPrivateLinkServiceConnections) or isnotnull(properties.privateEndpointConnections)
| extend automatic = array_length(properties.privateLinkServiceConnections),
    manual = array_length(properties.manualPrivateLinkServiceConnections),
    inbound = array_length(properties.privateEndpointConnections)
| summarize containers = count() by automatic, manual, inbound`;

export const connectionSummarySchema = z.object({
  automatic: z.number().int().nullable(),
  manual: z.number().int().nullable(),
  inbound: z.number().int().nullable(),
  containers: z.number().int(),
});
export type ConnectionSummaryRow = z.infer<typeof connectionSummarySchema>;

export interface WindowedRead<T extends { id: string; itemCount: number; containerId: string }> {
  /** Names the queries in logs and errors: "private endpoint connection". */
  name: string;
  /** Which of the summary's arrays this read expands. */
  array: "automatic" | "manual" | "inbound";
  windowQuery(window: number): string;
  rowSchema: z.ZodType<T>;
}

export interface WindowedRows<T> {
  rows: T[];
  /** Containers (endpoints, resources) with at least one item, and their items in all. */
  containers: number;
  items: number;
}

/**
 * Runs a windowed query for windows 0 to `windows - 1` and returns their rows, de-duplicated by
 * id; unreadable rows become errors. Returns null when a query failed (the error is recorded).
 */
export async function readWindows<T extends { id: string }>(
  context: ScanContext,
  source: string,
  read: {
    /** Names the queries in logs: "peering", "peering (window 2, from 400)". */
    name: string;
    /** Names the items in errors: "VNet peerings". */
    what: string;
    windows: number;
    windowQuery(window: number): string;
    rowSchema: z.ZodType<T>;
  },
  errors: ScanError[],
): Promise<T[] | null> {
  const rows: T[] = [];
  const seen = new Set<string>();
  for (let window = 0; window < read.windows; window++) {
    try {
      const result = await context.queryAll(
        window === 0 ? read.name : `${read.name} (window ${window + 1}, from ${window * WINDOW})`,
        read.windowQuery(window),
        read.rowSchema,
      );
      for (const row of result.rows) {
        if (seen.has(idKey(row.id))) continue;
        seen.add(idKey(row.id));
        rows.push(row);
      }
      for (const bad of result.unreadable) errors.push({ source, message: bad.message });
    } catch (error) {
      errors.push({
        source,
        message: `Reading ${read.what} from Resource Graph failed: ${errorMessage(error)}`,
      });
      return null;
    }
  }
  return rows;
}

/**
 * Reads every candidate row of an array too long for one mv-expand: first how long the arrays
 * are, then one query per window. Returns null when a query failed (the error is recorded).
 */
export async function readWindowed<T extends { id: string; itemCount: number; containerId: string }>(
  context: ScanContext,
  source: string,
  read: WindowedRead<T>,
  errors: ScanError[],
): Promise<WindowedRows<T> | null> {
  let containers = 0;
  let items = 0;
  let windows = 0;
  try {
    const summary = await context.queryAll(
      "private endpoint connection summary",
      CONNECTION_SUMMARY_QUERY,
      connectionSummarySchema,
    );
    for (const row of summary.rows) {
      const itemCount = row[read.array];
      if (!itemCount) continue;
      containers += row.containers;
      items += row.containers * itemCount;
      windows = Math.max(windows, Math.ceil(itemCount / WINDOW));
    }
    for (const bad of summary.unreadable) errors.push({ source, message: bad.message });
  } catch (error) {
    errors.push({ source, message: `Counting ${read.name}s failed: ${errorMessage(error)}` });
    return null;
  }

  const rows = await readWindows(context, source, { ...read, what: `${read.name}s`, windows }, errors);
  if (rows === null) return null;
  // An array that grew past what the windows read since it was counted: not every item was seen.
  const cut = new Map<string, string>();
  for (const row of rows) {
    if (row.itemCount > windows * WINDOW)
      cut.set(idKey(row.containerId), `${row.containerId} (${row.itemCount}, ${windows * WINDOW} read)`);
  }
  if (cut.size > 0)
    errors.push({
      source,
      message: `Resource Graph returned only some ${read.name}s of: ${[...cut.values()].join(", ")}`,
    });
  return { rows, containers, items };
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
