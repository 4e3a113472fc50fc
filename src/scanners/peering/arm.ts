import type { AllowlistEntry } from "../../allowlist/entry";
import type { ArmPeering } from "../../azure/arm-network";
import type { AzureConnection } from "../../azure/connection";
import { azureGetter } from "../../azure/http";
import { idKey, parseResourceId } from "../../azure/resource-id";
import { MemoryTenantCache, type TenantCache } from "../../azure/tenant-cache";
import { TenantResolver } from "../../azure/tenants";
import type { Config } from "../../config";
import type { Logger } from "../../log";
import { cleanDeep } from "../../text";
import { resolveRemoteTenants } from "../judge";
import { classifyPeering } from "./classify";
import type { PeeringFinding } from "./finding";
import type { PeeringRow } from "./query";

/**
 * The peering check over peerings read from ARM instead of Resource Graph (a change-driven
 * re-check of some VNets, or a full scan confirming its new violations): the same row, the same
 * tenant resolution and classification.
 */

/** A tenant resolver for a re-check or confirmation, with its own cache unless given one. */
export function tenantResolverFor(
  connection: AzureConnection,
  config: Config,
  log: Logger,
  cache: TenantCache = new MemoryTenantCache(config.TENANT_CACHE_TTL_HOURS * 3600_000),
  /** Subscription -> tenant from ARM's subscription list, where the caller read it (read, not copied). */
  known: Map<string, string> = new Map(),
): TenantResolver {
  return new TenantResolver({
    connection,
    get: azureGetter(connection),
    cache,
    known,
    namesFromGraph: config.TENANT_NAMES_FROM_GRAPH,
    log,
  });
}

/** A peering ARM returned, as the row classification reads (the same fields Resource Graph's query projects). */
export function rowOfArmPeering(
  vnetId: string,
  localTenantId: string,
  peering: ArmPeering,
  peeringCount: number,
): PeeringRow {
  return cleanDeep({
    id: peering.id,
    vnetId,
    vnetName: parseResourceId(vnetId)?.name ?? "",
    subscriptionId: parseResourceId(vnetId)?.subscriptionId ?? "",
    tenantId: localTenantId,
    peeringCount,
    peeringName: peering.name,
    remoteVnetId: peering.remoteVnetId,
    remoteTenantId: "",
    peeringState: peering.peeringState,
    peeringSyncLevel: peering.peeringSyncLevel,
    allowForwardedTraffic: peering.allowForwardedTraffic,
    allowGatewayTransit: peering.allowGatewayTransit,
    useRemoteGateways: peering.useRemoteGateways,
    remoteAddressPrefixes: peering.remoteAddressPrefixes,
    peerCompleteVnets: peering.peerCompleteVnets ?? null,
    localSubnetNames: peering.localSubnetNames ?? null,
    remoteSubnetNames: peering.remoteSubnetNames ?? null,
  });
}

/** A row's remote subscription, compared as ARM compares ids. */
export const remoteSubscriptionOf = (row: PeeringRow) =>
  idKey(parseResourceId(row.remoteVnetId)?.subscriptionId ?? "");

/** Resolves the remote tenants of ARM's rows and classifies them as a full scan does. */
export async function classifyArmRows(
  rows: PeeringRow[],
  tenants: TenantResolver,
  allowlist: AllowlistEntry[],
  config: Config,
  now: Date,
  log: Logger,
): Promise<PeeringFinding[]> {
  const errors: { source: string; message: string }[] = [];
  const remotes = await resolveRemoteTenants(
    rows.map((row) => ({ subscriptionId: remoteSubscriptionOf(row), knownTenantId: row.remoteTenantId })),
    { tenants },
    errors,
  );
  for (const e of errors) log("warn", "tenant-resolution-failed", { ...e });
  const rules = {
    allowlist,
    microsoftTenantIds: config.MICROSOFT_TENANT_IDS,
    allowMicrosoftManaged: config.ALLOW_MICROSOFT_MANAGED,
    now,
  };
  const findings: PeeringFinding[] = [];
  for (const row of rows) {
    const remote = remotes.get(remoteSubscriptionOf(row));
    const finding = classifyPeering(row, remote ?? { tenantId: null, tenantName: null }, rules);
    if (finding) findings.push(finding);
  }
  return findings;
}
