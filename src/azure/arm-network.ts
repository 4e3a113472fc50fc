import { NetworkManagementClient, type VirtualNetworkPeering } from "@azure/arm-network";
import { createDefaultHttpClient, type HttpClient } from "@azure/core-rest-pipeline";
import { timeoutPolicy, type AzureConnection } from "./connection";

/**
 * Reading peerings from their source of truth, ARM's network provider, through `@azure/arm-network`.
 * Resource Graph lags ARM with no upper bound; Microsoft says to check with the provider before
 * acting on what Resource Graph shows. Reading needs
 * `Microsoft.Network/virtualNetworks/virtualNetworkPeerings/read` (Reader has it).
 */

/** A peering as ARM returned it, reduced to what classification reads. */
export interface ArmPeering {
  id: string;
  name: string;
  remoteVnetId: string;
  peeringState: string;
  peeringSyncLevel: string;
  allowForwardedTraffic: boolean;
  allowGatewayTransit: boolean;
  useRemoteGateways: boolean;
  remoteAddressPrefixes: string[];
  /** Subnet peering: false when only the named subnets are connected (network API 2025-01-01). */
  peerCompleteVnets?: boolean;
  localSubnetNames?: string[];
  remoteSubnetNames?: string[];
}

/** A VNet's peerings as ARM has them now; `exists: false` when the VNet is gone (so are its peerings). */
export type VnetPeerings = { exists: true; peerings: ArmPeering[] } | { exists: false };

/** Update interval for the SDK's pollers on writes (the demo's PUT; ARM's own Retry-After wins when given). */
export const POLL_INTERVAL_MS = 200;

/**
 * One HTTP client (and so one connection pool) per connection, shared by every subscription's
 * client: confirming a scan's new violations can touch a thousand subscriptions, and a pool each
 * would keep a thousand sets of sockets open. Its agents are cached per TLS settings object,
 * hence one of those too.
 */
const transports = new WeakMap<AzureConnection, { httpClient: HttpClient; tlsOptions?: { ca: string } }>();

/**
 * A client for one subscription (the SDK binds a client to a subscription). Clients are not kept:
 * they are cheap once the transport is shared, and a scan may need a thousand of them.
 */
export function networkClient(connection: AzureConnection, subscriptionId: string): NetworkManagementClient {
  let transport = transports.get(connection);
  if (!transport) {
    transport = {
      httpClient: createDefaultHttpClient(),
      ...(connection.tlsCa ? { tlsOptions: { ca: connection.tlsCa } } : {}),
    };
    transports.set(connection, transport);
  }
  return new NetworkManagementClient(connection.credential, subscriptionId, {
    endpoint: connection.armEndpoint,
    retryOptions: connection.retryOptions,
    credentials: { scopes: [`${connection.armEndpoint}/.default`] },
    httpClient: transport.httpClient,
    ...(transport.tlsOptions ? { tlsOptions: transport.tlsOptions } : {}),
    ...(connection.requestTimeoutMs
      ? {
          additionalPolicies: [
            { policy: timeoutPolicy(connection.requestTimeoutMs), position: "perCall" as const },
          ],
        }
      : {}),
  });
}

const statusOf = (error: unknown): number | undefined =>
  typeof error === "object" && error !== null && "statusCode" in error && typeof error.statusCode === "number"
    ? error.statusCode
    : undefined;

const VNET_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Network\/virtualNetworks\/([^/]+)\/?$/i;

function vnetParts(vnetId: string) {
  const match = vnetId.match(VNET_ID);
  if (!match) throw new Error(`'${vnetId}' is not a virtual network's resource id.`);
  return { subscriptionId: match[1]!, resourceGroup: match[2]!, name: match[3]! };
}

export function toArmPeering(vnetId: string, p: VirtualNetworkPeering): ArmPeering {
  const name = p.name ?? "";
  return {
    id: p.id ?? `${vnetId}/virtualNetworkPeerings/${name}`,
    name,
    remoteVnetId: p.remoteVirtualNetwork?.id ?? "",
    peeringState: p.peeringState ?? "",
    peeringSyncLevel: p.peeringSyncLevel ?? "",
    allowForwardedTraffic: p.allowForwardedTraffic ?? false,
    allowGatewayTransit: p.allowGatewayTransit ?? false,
    useRemoteGateways: p.useRemoteGateways ?? false,
    remoteAddressPrefixes: p.remoteAddressSpace?.addressPrefixes ?? [],
    ...(p.peerCompleteVnets === false
      ? {
          peerCompleteVnets: false,
          localSubnetNames: p.localSubnetNames ?? [],
          remoteSubnetNames: p.remoteSubnetNames ?? [],
        }
      : {}),
  };
}

/** Every peering of a VNet (`virtualNetworkPeerings.list`); a 404 means the VNet is gone. */
export async function listVnetPeerings(connection: AzureConnection, vnetId: string): Promise<VnetPeerings> {
  const { subscriptionId, resourceGroup, name } = vnetParts(vnetId);
  const client = networkClient(connection, subscriptionId);
  const peerings: ArmPeering[] = [];
  try {
    for await (const p of client.virtualNetworkPeerings.list(resourceGroup, name))
      peerings.push(toArmPeering(vnetId, p));
  } catch (error) {
    if (statusOf(error) === 404) return { exists: false };
    throw error;
  }
  return { exists: true, peerings };
}

/** One peering (`virtualNetworkPeerings.get`); null when ARM no longer has it or its VNet. */
export async function getPeering(connection: AzureConnection, peeringId: string): Promise<ArmPeering | null> {
  const vnetId = peeringId.replace(/\/virtualNetworkPeerings\/[^/]+$/i, "");
  const peeringName = peeringId.slice(vnetId.length).split("/")[2] ?? "";
  const { subscriptionId, resourceGroup, name } = vnetParts(vnetId);
  try {
    const p = await networkClient(connection, subscriptionId).virtualNetworkPeerings.get(
      resourceGroup,
      name,
      peeringName,
    );
    return toArmPeering(vnetId, p);
  } catch (error) {
    if (statusOf(error) === 404) return null;
    throw error;
  }
}

/** The VNet a peering or VNet resource id belongs to (a peering's id is its VNet's id plus a suffix). */
export function vnetIdOf(resourceId: string): string | null {
  const match = resourceId.match(
    /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Network\/virtualNetworks\/[^/]+)(\/virtualNetworkPeerings\/[^/]+)?\/?$/i,
  );
  return match ? match[1]! : null;
}
