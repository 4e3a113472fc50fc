import { z } from "zod";
import { LOCALS_MAX, censusSetMax } from "../census";
import { REMOTE_TENANT_JOIN, WINDOW, text } from "../windows";

/**
 * A VNet holds up to 500 peerings (1000 with Virtual Network Manager), more than one mv-expand
 * may return (at most 400), so the peerings array is read in windows with `array_slice`.
 */
export const PEERING_WINDOW = WINDOW;

/**
 * The peerings in positions [start, start + 400) of each VNet's array that are candidates: those
 * whose remote subscription Resource Graph does not place in the local VNet's own tenant (a foreign
 * subscription, one the scanner cannot see, or a Lighthouse-delegated one of another tenant).
 * Same-tenant peerings are dropped inside Resource Graph, so the cost follows the candidates.
 */
export function peeringCandidatesQuery(window: number, remoteFilter?: string): string {
  const start = window * PEERING_WINDOW;
  const only = remoteFilter === undefined ? "" : `\n| where remoteSubscriptionId in (${remoteFilter})`;
  return `resources
| where type =~ 'microsoft.network/virtualnetworks'
| extend peeringCount = array_length(properties.virtualNetworkPeerings)
| where peeringCount > ${start}
| project vnetId = id, vnetName = name, subscriptionId, tenantId, peeringCount, peerings = properties.virtualNetworkPeerings
| mv-expand peering = array_slice(peerings, ${start}, ${start + PEERING_WINDOW - 1}) limit ${PEERING_WINDOW}
| extend remoteVnetId = tostring(peering.properties.remoteVirtualNetwork.id),
    remoteSubscriptionId = tolower(tostring(split(tostring(peering.properties.remoteVirtualNetwork.id), '/')[2]))${only}
| ${REMOTE_TENANT_JOIN}
| project id = tostring(peering.id), vnetId, vnetName, subscriptionId, tenantId, peeringCount,
    peeringName = tostring(peering.name),
    remoteVnetId,
    remoteTenantId,
    peeringState = tostring(peering.properties.peeringState),
    peeringSyncLevel = tostring(peering.properties.peeringSyncLevel),
    allowForwardedTraffic = tobool(peering.properties.allowForwardedTraffic),
    allowGatewayTransit = tobool(peering.properties.allowGatewayTransit),
    useRemoteGateways = tobool(peering.properties.useRemoteGateways),
    remoteAddressPrefixes = peering.properties.remoteAddressSpace.addressPrefixes,
    peerCompleteVnets = tobool(peering.properties.peerCompleteVnets),
    localSubnetNames = peering.properties.localSubnetNames,
    remoteSubnetNames = peering.properties.remoteSubnetNames
| order by id asc`;
}

/** The census's bucket of a remote subscription (the census and its fan-out count the same buckets). */
const BUCKET = "substring(remoteSubscriptionId, 34, 2)";

/**
 * Past the cut-off, per subscription group: which remote subscriptions the group's peerings in
 * positions [start, start + 400) point at, from which local tenant. The remote subscriptions come
 * as sets (`make_set`), one row per local tenant and `bucket` (the last two hex digits of the
 * remote subscription id, random in a v4 GUID: 256 buckets), with the local subscriptions
 * whose peerings point there (`locals`, at most LOCALS_MAX: where the candidate peerings are read), the peerings
 * (`items`) and whether a VNet has peerings past this window (`more`: another window to read). A
 * group of hubs, pointing at every spoke subscription, is at most 256 rows per tenant, not one per
 * spoke; a spoke's row names the few buckets it points into, so a foreign remote singles out the
 * spokes that point at its bucket.
 */
export function peeringCensusQuery(window: number, setMax: number): string {
  return `${censusRows(window)}
| extend bucket = ${BUCKET}
| summarize remotes = make_set(remoteSubscriptionId, ${setMax}), locals = make_set(localSubscriptionId, ${LOCALS_MAX}), items = count(), more = max(iif(beyond, 1, 0)) by localTenantId, bucket`;
}

/** The census's pairs before they are summarized (each peering, with its local subscription). */
function censusRows(window: number): string {
  const start = window * PEERING_WINDOW;
  return `resources
| where type =~ 'microsoft.network/virtualnetworks'
| extend peeringCount = array_length(properties.virtualNetworkPeerings)
| where peeringCount > ${start}
| project subscriptionId, tenantId, peeringCount, peerings = properties.virtualNetworkPeerings
| mv-expand peering = array_slice(peerings, ${start}, ${start + PEERING_WINDOW - 1}) limit ${PEERING_WINDOW}
| extend remoteSubscriptionId = tolower(tostring(split(tostring(peering.properties.remoteVirtualNetwork.id), '/')[2])),
    localTenantId = tolower(tenantId),
    localSubscriptionId = tolower(subscriptionId),
    beyond = peeringCount > ${start + PEERING_WINDOW}`;
}

/**
 * How many census rows (buckets) each subscription of a group would give on its own, for those
 * giving more than `over` (hubs, which point at many spoke subscriptions): asked only when a group's census
 * outgrew its page, to cut the group where the rows are.
 */
export function peeringFanOutQuery(window: number, over: number): string {
  return `${censusRows(window)}
| extend bucket = ${BUCKET}
| summarize items = count() by subscriptionId, bucket
| summarize censusRows = count() by subscriptionId
| where censusRows > ${over}`;
}

export const PEERING_CENSUS_QUERY = peeringCensusQuery(0, censusSetMax(1000));
export const PEERING_FAN_OUT_QUERY = peeringFanOutQuery(0, 10);
/** A first-window candidate query filtered to two remote subscriptions (for the query syntax test). */
export const PEERING_FILTERED_CANDIDATES_QUERY = peeringCandidatesQuery(
  0,
  "'00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000002'",
);

/** The first window, which every peered VNet has (exported so the query syntax test checks it). */
export const PEERING_CANDIDATES_QUERY = peeringCandidatesQuery(0);
/** A later window, read only when some VNet has more than 400 peerings. */
export const PEERING_CANDIDATES_WINDOW_QUERY = peeringCandidatesQuery(1);

/**
 * One candidate peering. Only what identifies it is required; values real Azure may leave out
 * (state, sync level, flags, address space) are read leniently, so one odd peering is still judged.
 */
export const peeringRowSchema = z.object({
  id: z.string().min(1, "the peering has no id"),
  vnetId: z.string().min(1),
  vnetName: text,
  subscriptionId: z.string().min(1),
  tenantId: z.string().min(1),
  peeringCount: z.number().int(),
  peeringName: text,
  remoteVnetId: text,
  /** The remote subscription's tenant where Resource Graph knows it (the join); empty otherwise. */
  remoteTenantId: text,
  peeringState: text,
  peeringSyncLevel: text,
  allowForwardedTraffic: z.boolean().nullish(),
  allowGatewayTransit: z.boolean().nullish(),
  useRemoteGateways: z.boolean().nullish(),
  remoteAddressPrefixes: z.array(z.string()).nullish(),
  /**
   * Subnet peering (network API 2025-01-01): `peerCompleteVnets` false connects only the named
   * subnets (`localSubnetNames`, `remoteSubnetNames`), not the whole VNets. Absent means whole VNets.
   */
  peerCompleteVnets: z.boolean().nullish(),
  localSubnetNames: z.array(z.string()).nullish(),
  remoteSubnetNames: z.array(z.string()).nullish(),
});

export type PeeringRow = z.infer<typeof peeringRowSchema>;
