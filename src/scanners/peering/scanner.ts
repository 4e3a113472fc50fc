import { errorMessage } from "../../errors";
import { parseResourceId } from "../../azure/resource-id";
import { resolveRemoteTenants, rulesOf } from "../judge";
import type { Scanner, ScanContext, ScanError, ScannerResult } from "../scanner";
import { readWindows } from "../windows";
import { classifyPeering } from "./classify";
import type { PeeringFinding } from "./finding";
import { PEERING_CHECK } from "./metadata";
import {
  PEERING_WINDOW,
  VNET_SUMMARY_QUERY,
  peeringCandidatesQuery,
  peeringRowSchema,
  vnetSummaryRowSchema,
  type PeeringRow,
} from "./query";

/** VNets with more peerings than the windows read could hold: Resource Graph's rows cannot be all of them. */
export function truncatedVnets(rows: PeeringRow[], windows: number): string[] {
  const seen = new Map<string, string>();
  for (const row of rows) {
    if (row.peeringCount > windows * PEERING_WINDOW) {
      seen.set(
        row.vnetId.toLowerCase(),
        `${row.vnetId} (${row.peeringCount} peerings, ${windows * PEERING_WINDOW} read)`,
      );
    }
  }
  return [...seen.values()];
}

const remoteSubscriptionOf = (row: PeeringRow) =>
  (parseResourceId(row.remoteVnetId)?.subscriptionId ?? "").toLowerCase();

async function scanPeerings(context: ScanContext): Promise<ScannerResult> {
  const errors: ScanError[] = [];
  const source = PEERING_CHECK.id;
  const empty = (virtualNetworks = 0, peerings = 0) => ({
    findings: [],
    counts: { virtualNetworks, peerings },
    errors,
  });

  let virtualNetworks = 0;
  let peerings = 0;
  let windows = 1;
  try {
    const summary = await context.queryAll(
      "virtual network summary",
      VNET_SUMMARY_QUERY,
      vnetSummaryRowSchema,
    );
    for (const row of summary.rows) {
      virtualNetworks += row.vnets;
      peerings += row.vnets * (row.peeringCount ?? 0);
      windows = Math.max(windows, Math.ceil((row.peeringCount ?? 0) / PEERING_WINDOW));
    }
    for (const bad of summary.unreadable) errors.push({ source, message: bad.message });
  } catch (error) {
    errors.push({
      source,
      message: `Counting virtual networks and their peerings failed: ${errorMessage(error)}`,
    });
    return empty();
  }

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
  return { findings, counts: { virtualNetworks, peerings }, errors };
}

export const peeringScanner: Scanner = { check: PEERING_CHECK, scan: scanPeerings };
