import { z } from "zod";

/**
 * Resource Graph keeps 128 items of an mv-expand unless told otherwise and refuses more than
 * 2000. Azure allows 500 peerings per VNet (1000 with Virtual Network Manager), so 2000 covers
 * every VNet; the scanner still checks each VNet's expanded rows against its peering count.
 */
export const MV_EXPAND_LIMIT = 2000;

/** One row per VNet peering, with the local VNet's identity and the peering's settings. */
export const PEERINGS_QUERY = `resources
| where type =~ 'microsoft.network/virtualnetworks'
| extend peeringCount = array_length(properties.virtualNetworkPeerings)
| where peeringCount > 0
| mv-expand peering = properties.virtualNetworkPeerings limit ${MV_EXPAND_LIMIT}
| project vnetId = id, vnetName = name, subscriptionId, tenantId, peeringCount,
    peeringId = tostring(peering.id),
    peeringName = tostring(peering.name),
    remoteVnetId = tostring(peering.properties.remoteVirtualNetwork.id),
    peeringState = tostring(peering.properties.peeringState),
    peeringSyncLevel = tostring(peering.properties.peeringSyncLevel),
    allowForwardedTraffic = tobool(peering.properties.allowForwardedTraffic),
    allowGatewayTransit = tobool(peering.properties.allowGatewayTransit),
    useRemoteGateways = tobool(peering.properties.useRemoteGateways),
    remoteAddressPrefixes = peering.properties.remoteAddressSpace.addressPrefixes
| order by peeringId asc`;

/** How many VNets the scan covers, peered or not (for the report's stats). */
export const VNET_COUNT_QUERY = `resources
| where type =~ 'microsoft.network/virtualnetworks'
| count`;

export const peeringRowSchema = z.object({
  vnetId: z.string().min(1),
  vnetName: z.string(),
  subscriptionId: z.string().min(1),
  tenantId: z.string().min(1),
  peeringCount: z.number().int(),
  peeringId: z.string().min(1),
  peeringName: z.string(),
  remoteVnetId: z.string(),
  peeringState: z.string(),
  peeringSyncLevel: z.string(),
  allowForwardedTraffic: z.boolean().nullable(),
  allowGatewayTransit: z.boolean().nullable(),
  useRemoteGateways: z.boolean().nullable(),
  remoteAddressPrefixes: z.array(z.string()).nullable(),
});

export type PeeringRow = z.infer<typeof peeringRowSchema>;

export const vnetCountRowSchema = z.object({ Count: z.number().int() });
