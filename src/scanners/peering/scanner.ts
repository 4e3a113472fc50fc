import { errorMessage } from "../../errors";
import { idKey } from "../../azure/resource-id";
import { resolveRemoteTenants, rulesOf } from "../judge";
import type { Scanner, ScanContext, ScanError, ScannerResult } from "../scanner";
import { readWindows, rowCollector } from "../windows";
import { censusBesideSummary, countArray } from "../array-summary";
import {
  FAN_OUT_ROWS,
  candidateRemotes,
  candidateScopes,
  censusOf,
  filterLists,
  type GroupCensus,
} from "../census";
import { remoteSubscriptionOf } from "./arm";
import { classifyPeering } from "./classify";
import type { PeeringFinding } from "./finding";
import { PEERING_CHECK } from "./metadata";
import {
  PEERING_WINDOW,
  peeringCandidatesQuery,
  peeringCensusQuery,
  peeringFanOutQuery,
  peeringRowSchema,
  type PeeringRow,
} from "./query";

/** VNets with more peerings than the windows read could hold: Resource Graph's rows cannot be all of them. */
export function truncatedVnets(rows: PeeringRow[], windows: number): string[] {
  const seen = new Map<string, string>();
  for (const row of rows) {
    if (row.peeringCount > windows * PEERING_WINDOW) {
      seen.set(
        idKey(row.vnetId),
        `${row.vnetId} (${row.peeringCount} peerings, ${windows * PEERING_WINDOW} read)`,
      );
    }
  }
  return [...seen.values()];
}

/** A VNet holds at most 1000 peerings (with Virtual Network Manager): three windows of 400. */
const MOST_WINDOWS = Math.ceil(1000 / PEERING_WINDOW);

/**
 * Past the cut-off (or over a long SCAN_SUBSCRIPTIONS list), window by window: every group's census
 * of remote subscriptions, then the candidate peerings of the foreign or unknown ones, read only
 * from the subscriptions whose census rows point at one (packed across groups, so the candidate
 * reads follow the candidates, not the number of groups). A subscription whose census alone does
 * not fit is read unfiltered, from that window to the last, and left out of its group's later
 * censuses; rows are de-duplicated by id. Returns null when a query failed (the error is recorded).
 */
async function readByGroup(
  context: ScanContext,
  groups: string[][],
  errors: ScanError[],
): Promise<PeeringRow[] | null> {
  const source = PEERING_CHECK.id;
  const collected = rowCollector<PeeringRow>(source, errors);
  const read = async (name: string, query: string, about: string[]) =>
    collected.add(await context.queryAll(name, query, peeringRowSchema, about));
  // Per group: the subscriptions whose peerings were read unfiltered through the last window.
  let reading = groups.map((group) => ({ group, readThrough: new Set<string>() }));
  try {
    for (let window = 0; reading.length > 0; window++) {
      const counted: { at: (typeof reading)[number]; census: GroupCensus; part: string[] }[] = [];
      for (const at of reading) {
        const part = at.group.filter((subscription) => !at.readThrough.has(idKey(subscription)));
        if (part.length === 0) continue;
        const unreadable: string[] = [];
        const census = await censusOf(
          context,
          {
            name: window === 0 ? "peering census" : `peering census (window ${window + 1})`,
            census: (setMax) => peeringCensusQuery(window, setMax),
            fanOut: peeringFanOutQuery(window, FAN_OUT_ROWS),
            // The first window's census of a whole group comes with the group's array summary.
            ...(window === 0
              ? {
                  first: {
                    read: (setMax: number, whole: string[]) => censusBesideSummary(context, setMax, whole),
                  },
                }
              : {}),
          },
          part,
          unreadable,
        );
        for (const message of unreadable) errors.push({ source, message });
        counted.push({ at, census, part });
      }
      const candidates = await candidateRemotes(
        counted.flatMap((c) => c.census.rows),
        context,
      );
      const scopes = candidateScopes(
        counted.map((c) => ({ rows: c.census.rows, subscriptions: c.part })),
        candidates,
        context.config.SUBSCRIPTION_GROUP_SIZE,
      );
      for (const scope of scopes)
        for (const list of filterLists(scope.remotes))
          await read("peering", peeringCandidatesQuery(window, list), scope.subscriptions);
      // A subscription alone outgrew a census: its peerings from this window on are read unfiltered.
      for (const { at, census } of counted) {
        if (census.unfiltered.length === 0) continue;
        for (let w = window; w < MOST_WINDOWS; w++)
          await read("peering (unfiltered)", peeringCandidatesQuery(w), census.unfiltered);
        for (const subscription of census.unfiltered) at.readThrough.add(idKey(subscription));
      }
      // The next window is counted only where a VNet has peerings past this one.
      reading = counted.filter((c) => c.census.rows.some((row) => (row.more ?? 1) > 0)).map((c) => c.at);
    }
  } catch (error) {
    errors.push({
      source,
      message: `Reading VNet peerings from Resource Graph failed: ${errorMessage(error)}`,
    });
    return null;
  }
  return collected.rows;
}

async function scanPeerings(context: ScanContext): Promise<ScannerResult> {
  const errors: ScanError[] = [];
  const source = PEERING_CHECK.id;
  const empty = (virtualNetworks = 0, peerings = 0) => ({
    findings: [],
    counts: { virtualNetworks, peerings },
    errors,
  });

  const groups = context.subscriptionGroups?.() ?? null;
  if (groups) {
    const rows = await readByGroup(context, groups, errors);
    if (rows === null) return empty();
    // Every VNet and peering, as the array summary the other checks share counts them (its failure
    // is theirs to report; the census reads only candidates).
    const counted = await countArray(context, source, "peerings", "virtual networks", []);
    return judge(
      context,
      rows,
      { virtualNetworks: counted?.containers ?? 0, peerings: counted?.items ?? 0 },
      errors,
    );
  }

  const counted = await countArray(
    context,
    source,
    "peerings",
    "virtual networks and their peerings",
    errors,
  );
  if (counted === null) return empty();
  const { containers: virtualNetworks, items: peerings } = counted;
  const windows = Math.max(1, counted.windows);

  const rows = await readWindows(
    context,
    source,
    {
      name: "peering",
      what: "VNet peerings",
      windows,
      windowQuery: peeringCandidatesQuery,
      rowSchema: peeringRowSchema,
    },
    errors,
  );
  if (rows === null) return empty(virtualNetworks, peerings);
  const cut = truncatedVnets(rows, windows);
  if (cut.length > 0) {
    errors.push({ source, message: `Resource Graph returned only some peerings of: ${cut.join(", ")}` });
  }
  return judge(context, rows, { virtualNetworks, peerings }, errors);
}

/** Resolves the candidates' remote tenants and classifies each peering. */
async function judge(
  context: ScanContext,
  rows: PeeringRow[],
  counts: { virtualNetworks: number; peerings: number },
  errors: ScanError[],
): Promise<ScannerResult> {
  const source = PEERING_CHECK.id;

  const remotes = await resolveRemoteTenants(
    rows.map((row) => ({ subscriptionId: remoteSubscriptionOf(row), knownTenantId: row.remoteTenantId })),
    context,
    errors,
  );
  const rules = rulesOf(context);
  const findings: PeeringFinding[] = [];
  for (const row of rows) {
    try {
      const finding = classifyPeering(row, remotes.get(remoteSubscriptionOf(row))!, rules);
      if (finding) findings.push(finding);
    } catch (error) {
      errors.push({ source, message: `Peering ${row.id}: ${errorMessage(error)}` });
    }
  }
  return { findings, counts, errors };
}

export const peeringScanner: Scanner = { check: PEERING_CHECK, scan: scanPeerings };
