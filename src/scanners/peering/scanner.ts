import { errorMessage } from "../../errors";
import { mapLimit } from "../../map-limit";
import { parseResourceId } from "../../azure/resource-id";
import type { Scanner, ScanContext, ScanError, ScannerResult } from "../scanner";
import { classifyPeering, type RemoteTenant } from "./classify";
import type { PeeringFinding } from "./finding";
import { PEERING_CHECK } from "./metadata";
import {
  PEERINGS_QUERY,
  VNET_COUNT_QUERY,
  peeringRowSchema,
  vnetCountRowSchema,
  type PeeringRow,
} from "./query";

const LOOKUP_CONCURRENCY = 8;

/** VNets whose expanded rows fall short of their peering count: Resource Graph cut them off. */
export function truncatedVnets(rows: PeeringRow[]): string[] {
  const seen = new Map<string, { id: string; expected: number; rows: number }>();
  for (const row of rows) {
    const key = row.vnetId.toLowerCase();
    const entry = seen.get(key) ?? { id: row.vnetId, expected: row.peeringCount, rows: 0 };
    entry.rows += 1;
    seen.set(key, entry);
  }
  return [...seen.values()]
    .filter((v) => v.rows < v.expected)
    .map((v) => `${v.id} (${v.rows} of ${v.expected})`);
}

const remoteSubscriptionOf = (row: PeeringRow) =>
  (parseResourceId(row.remoteVnetId)?.subscriptionId ?? "").toLowerCase();

/** Remote subscription (lower-case) -> its tenant; a failed lookup leaves it unresolved and is reported. */
async function resolveRemotes(
  rows: PeeringRow[],
  context: ScanContext,
  errors: ScanError[],
): Promise<Map<string, RemoteTenant>> {
  const subscriptions = [...new Set(rows.map(remoteSubscriptionOf))];
  const tenants = await mapLimit(subscriptions, LOOKUP_CONCURRENCY, (id) =>
    context.tenants.tenantOfSubscription(id).catch((error: unknown) => {
      errors.push({ source: "tenant-resolution", message: errorMessage(error) });
      return null;
    }),
  );
  const resolved = [...new Set(tenants.filter((t): t is string => t !== null))];
  const names = new Map(
    await mapLimit(
      resolved,
      LOOKUP_CONCURRENCY,
      async (t) => [t, await context.tenants.tenantName(t)] as const,
    ),
  );
  return new Map(
    subscriptions.map((id, i) => {
      const tenantId = tenants[i] ?? null;
      return [id, { tenantId, tenantName: tenantId ? (names.get(tenantId) ?? null) : null }];
    }),
  );
}

async function scanPeerings(context: ScanContext): Promise<ScannerResult> {
  const errors: ScanError[] = [];
  const source = PEERING_CHECK.id;

  let virtualNetworks = 0;
  try {
    const [count] = await context.queryAll("virtual network count", VNET_COUNT_QUERY, vnetCountRowSchema);
    virtualNetworks = count?.Count ?? 0;
  } catch (error) {
    errors.push({ source, message: `Counting virtual networks failed: ${errorMessage(error)}` });
  }

  let rows: PeeringRow[];
  try {
    rows = await context.queryAll("peering", PEERINGS_QUERY, peeringRowSchema);
  } catch (error) {
    errors.push({
      source,
      message: `Reading VNet peerings from Resource Graph failed: ${errorMessage(error)}`,
    });
    return { findings: [], counts: { virtualNetworks, peerings: 0 }, errors };
  }
  const cut = truncatedVnets(rows);
  if (cut.length > 0) {
    errors.push({ source, message: `Resource Graph returned only some peerings of: ${cut.join(", ")}` });
  }

  const remotes = await resolveRemotes(rows, context, errors);
  const rules = {
    allowlist: context.allowlist,
    microsoftTenantIds: context.config.MICROSOFT_TENANT_IDS,
    allowMicrosoftManaged: context.config.ALLOW_MICROSOFT_MANAGED,
    now: context.now,
  };
  const findings: PeeringFinding[] = [];
  for (const row of rows) {
    try {
      const finding = classifyPeering(row, remotes.get(remoteSubscriptionOf(row))!, rules);
      if (finding) findings.push(finding);
    } catch (error) {
      errors.push({ source, message: `Peering ${row.peeringId}: ${errorMessage(error)}` });
    }
  }
  return { findings, counts: { virtualNetworks, peerings: rows.length }, errors };
}

export const peeringScanner: Scanner = {
  id: PEERING_CHECK.id,
  title: PEERING_CHECK.title,
  scan: scanPeerings,
};
