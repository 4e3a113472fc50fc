import { idKey } from "../azure/resource-id";
import { z } from "zod";
import { errorMessage } from "../errors";
import { RULES } from "./service-endpoint-inbound/query";
import { ENTRIES } from "./private-link-service-exposure/query";
import type { ScanContext, ScanError } from "./scanner";
import { censusRowSchema, censusSetMax, readByCensus, type CensusRow } from "./census";
import { peeringCensusQuery } from "./peering/query";
import { readWindows, WINDOW } from "./windows";

/**
 * The arrays checks read in windows of 400: a VNet's peerings, a private endpoint's automatic and
 * manual connections, a resource's inbound private endpoint connections, its virtual-network
 * rules, a private link service's visibility and auto-approval lists.
 */
export type CountedArray = "peerings" | "automatic" | "manual" | "inbound" | "rules" | "entries";

/**
 * How many resources hold each array, how many items they hold and the longest: one query every
 * check shares (the scan asks it once, so each check's fixed cost per subscription group is a
 * fraction of one request), answered in one row per request scope. A summarize without `by` gives
 * one row, so Resource Graph's "first page only" for summarize (query-language.md) never cuts it.
 * Sums and maxima are taken over the values present (learn.microsoft.com/kusto/query/
 * sum-aggregation-function: null values are ignored).
 */
export const ARRAY_SUMMARY_QUERY = `resources
| where type =~ 'microsoft.network/virtualnetworks' or type =~ 'microsoft.network/privatelinkservices' or isnotnull(properties.privateLinkServiceConnections) or isnotnull(properties.manualPrivateLinkServiceConnections) or isnotnull(properties.privateEndpointConnections) or isnotnull(properties.networkAcls.virtualNetworkRules) or isnotnull(properties.virtualNetworkRules)
| extend isVnet = type =~ 'microsoft.network/virtualnetworks', isService = type =~ 'microsoft.network/privatelinkservices'
| extend peerings = iif(isVnet, array_length(properties.virtualNetworkPeerings), 0),
    automatic = array_length(properties.privateLinkServiceConnections),
    manual = array_length(properties.manualPrivateLinkServiceConnections),
    inbound = array_length(properties.privateEndpointConnections),
    rules = array_length(${RULES}),
    entries = iif(isService, array_length(${ENTRIES}), 0)
| summarize vnets = sum(iif(isVnet, 1, 0)),
    peeringsContainers = sum(iif(peerings > 0, 1, 0)), peeringsItems = sum(peerings), peeringsMost = max(peerings),
    automaticContainers = sum(iif(automatic > 0, 1, 0)), automaticItems = sum(automatic), automaticMost = max(automatic),
    manualContainers = sum(iif(manual > 0, 1, 0)), manualItems = sum(manual), manualMost = max(manual),
    inboundContainers = sum(iif(inbound > 0, 1, 0)), inboundItems = sum(inbound), inboundMost = max(inbound),
    rulesContainers = sum(iif(rules > 0, 1, 0)), rulesItems = sum(rules), rulesMost = max(rules),
    entriesContainers = sum(iif(entries > 0, 1, 0)), entriesItems = sum(entries), entriesMost = max(entries)`;

const ARRAYS: CountedArray[] = ["peerings", "automatic", "manual", "inbound", "rules", "entries"];
const FIELDS = ["vnets", ...ARRAYS.flatMap((a) => [`${a}Containers`, `${a}Items`, `${a}Most`])];

/**
 * Every column must come back (a row without one is unreadable: the scan says so, never "nothing
 * there"). A sum or max over no values is null, which counts as 0; but a longest array left out
 * while its items are counted would size no window and hide them, so that row is unreadable too.
 */
export const arraySummaryRowSchema = z
  .object(Object.fromEntries(FIELDS.map((name) => [name, z.number().int().nullable()])))
  .superRefine((row, ctx) => {
    for (const a of ARRAYS)
      if ((row[`${a}Items`] ?? 0) > 0 && row[`${a}Most`] === null)
        ctx.addIssue({ code: "custom", message: `the longest ${a} array was left out`, path: [`${a}Most`] });
  })
  .transform((row) => Object.fromEntries(FIELDS.map((name) => [name, row[name] ?? 0])) as ArraySummaryRow);

export type ArraySummaryRow = { vnets: number } & Record<
  `${CountedArray}${"Containers" | "Items" | "Most"}`,
  number
>;

export interface ArrayCount {
  /** Resources holding at least one item (for peerings: every VNet, peered or not). */
  containers: number;
  items: number;
  /** Windows of 400 the longest array needs. */
  windows: number;
}

/** The summary's figures for one array, over every request scope's row. */
export function countOf(rows: ArraySummaryRow[], array: CountedArray): ArrayCount {
  let containers = 0;
  let items = 0;
  let most = 0;
  for (const row of rows) {
    containers += array === "peerings" ? row.vnets : row[`${array}Containers`];
    items += row[`${array}Items`];
    most = Math.max(most, row[`${array}Most`]);
  }
  return { containers, items, windows: Math.ceil(most / WINDOW) };
}

/** What names the request that brings a group's first peering census and its array summary. */
export const CENSUS_AND_SUMMARY = "peering census and array summary";

/**
 * Past the cut-off every check needs the array summary of each subscription group, and the peering
 * check a census of each group's first window: one request brings both, a union within the
 * resources table (query-language.md, union: "might be used within a single table"). Each row
 * names its `part`. The union's outer columns leave the other part's columns null.
 */
export function censusAndSummaryQuery(setMax: number): string {
  return `${peeringCensusQuery(0, setMax)}
| extend part = 'census'
| union (${ARRAY_SUMMARY_QUERY}
| extend part = 'summary')`;
}

export const CENSUS_AND_SUMMARY_QUERY = censusAndSummaryQuery(censusSetMax(1000));

/** A row of that union: a census row or the summary, or why it cannot be read (each part's reader reports its own). */
export type CensusOrSummary =
  | { part: "census"; census: CensusRow | null; problem: string }
  | { part: "summary"; summary: ArraySummaryRow | null; problem: string };

const problemOf = (error: z.ZodError) => {
  const issue = error.issues[0];
  return `${(issue?.path ?? []).join(".")} ${issue?.message ?? ""}`.trim();
};

/**
 * A row is read by its `part`; one without it is the summary if it reads as one (every summary
 * column present), else a census row (which then says what it lacks).
 */
export const censusOrSummarySchema = z
  .looseObject({ part: z.string().nullish() })
  .transform((raw): CensusOrSummary => {
    if (raw.part == null) {
      const summary = arraySummaryRowSchema.safeParse(raw);
      if (summary.success) return { part: "summary", summary: summary.data, problem: "" };
    }
    if (raw.part === "summary") {
      const read = arraySummaryRowSchema.safeParse(raw);
      return read.success
        ? { part: "summary", summary: read.data, problem: "" }
        : { part: "summary", summary: null, problem: problemOf(read.error) };
    }
    const read = censusRowSchema.safeParse(raw);
    return read.success
      ? { part: "census", census: read.data, problem: "" }
      : { part: "census", census: null, problem: problemOf(read.error) };
  });

/** The one request over a group that both its census and its summary are read from (a scan sends it once). */
const askCensusAndSummary = (context: ScanContext, setMax: number, group: string[]) =>
  context.queryAll(CENSUS_AND_SUMMARY, censusAndSummaryQuery(setMax), censusOrSummarySchema, group);

/** A group's first-window peering census, from the request it shares with the group's summary. */
export async function censusBesideSummary(
  context: ScanContext,
  setMax: number,
  group: string[],
): Promise<{ rows: CensusRow[]; unreadable: string[] }> {
  const both = await askCensusAndSummary(context, setMax, group);
  const rows: CensusRow[] = [];
  const unreadable = both.unreadable.map((u) => u.message);
  for (const row of both.rows) {
    if (row.part !== "census") continue;
    if (row.census) rows.push(row.census);
    else unreadable.push(`Resource Graph returned a peering census row that cannot be read: ${row.problem}`);
  }
  // The same answer's summary counts the group's peerings: a census without rows for them was left out.
  const [summary] = both.rows.flatMap((row) => (row.part === "summary" && row.summary ? [row.summary] : []));
  if (rows.length === 0 && (summary?.peeringsItems ?? 0) > 0)
    unreadable.push(
      `Resource Graph's peering census left out its rows while the group holds ${summary!.peeringsItems} peerings`,
    );
  return { rows, unreadable };
}

/**
 * One group's summary past the cut-off: from the request that also brought its peering census
 * (the peering check asks it first, and a scan reads a request once), or asked on its own when
 * that request failed or did not return exactly one readable summary.
 */
async function groupSummary(
  context: ScanContext,
  group: string[],
  source: string,
  errors: ScanError[],
): Promise<ArraySummaryRow[]> {
  try {
    const setMax = censusSetMax(context.config.RESOURCE_GRAPH_PAGE_SIZE);
    const both = await askCensusAndSummary(context, setMax, group);
    const summaries = both.rows.flatMap((row) => (row.part === "summary" ? [row.summary] : []));
    const [only] = summaries;
    if (summaries.length === 1 && only) return [only];
  } catch {
    // Asked on its own below; that answer's failure is the one reported.
  }
  const own = await context.queryAll("array summary", ARRAY_SUMMARY_QUERY, arraySummaryRowSchema, group);
  for (const bad of own.unreadable) errors.push({ source, message: bad.message });
  // A summary without `by` is one row a scope: none (or more) is no count, never a count of zero.
  if (own.rows.length !== 1)
    throw new Error(
      `Resource Graph returned ${own.rows.length} array summary rows for a subscription group, not one`,
    );
  return own.rows;
}

/**
 * Counts one array through the shared summary (past the cut-off, each group's). Returns null when
 * the summary could not be read (the error, naming what was being counted, is recorded).
 */
export async function countArray(
  context: ScanContext,
  source: string,
  array: CountedArray,
  what: string,
  errors: ScanError[],
): Promise<ArrayCount | null> {
  try {
    const groups = context.subscriptionGroups?.() ?? null;
    if (groups === null) {
      const summary = await context.queryAll("array summary", ARRAY_SUMMARY_QUERY, arraySummaryRowSchema);
      for (const bad of summary.unreadable) errors.push({ source, message: bad.message });
      return countOf(summary.rows, array);
    }
    const rows: ArraySummaryRow[] = [];
    for (const group of groups) rows.push(...(await groupSummary(context, group, source, errors)));
    return countOf(rows, array);
  } catch (error) {
    errors.push({ source, message: `Counting ${what} failed: ${errorMessage(error)}` });
    return null;
  }
}

export interface WindowedRead<T extends { id: string; itemCount: number; containerId: string }> {
  /** Names the queries in logs and the items in errors: "private endpoint connection". */
  name: string;
  /** Which of the summary's arrays this read expands. */
  array: CountedArray;
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
 * Reads every candidate row of an array that may be too long for one mv-expand: its count from
 * the shared summary, then one query per window. An array that grew past what the windows read
 * since it was counted is an error (not every item was seen). Returns null when a query failed
 * (the error is recorded).
 */
export async function readWindowed<T extends { id: string; itemCount: number; containerId: string }>(
  context: ScanContext,
  source: string,
  read: WindowedRead<T>,
  errors: ScanError[],
): Promise<WindowedRows<T> | null> {
  const counted = await countArray(context, source, read.array, `${read.name}s`, errors);
  if (counted === null) return null;
  const { windows } = counted;
  // Past the cut-off each group is its own request scope: a census first, so same-tenant items of
  // other groups never leave Resource Graph.
  const groups = context.subscriptionGroups?.() ?? null;
  const reading = { ...read, what: `${read.name}s`, windows };
  const rows = groups
    ? await readByCensus(context, source, reading, groups, errors)
    : await readWindows(context, source, reading, errors);
  if (rows === null) return null;
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
  return { rows, containers: counted.containers, items: counted.items };
}
