import type { Estate } from "../../src/sandbox/estate";
import { parseEstate } from "../../src/sandbox/estate";

/** Builds estate files for tests: tenants, subscriptions and VNets with peerings, in a few calls. */
export const guid = (n: number, prefix = "0000") =>
  `${prefix.padStart(8, "0").slice(0, 8)}-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;

export const vnetId = (subscriptionId: string, resourceGroup: string, name: string) =>
  `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Network/virtualNetworks/${name}`;

export interface PeeringSpec {
  name: string;
  remote: string;
  /** Connected, Initiated, Disconnected, or any other value (an extensible enum). */
  state?: string;
  prefixes?: string[];
  allowForwardedTraffic?: boolean;
  allowGatewayTransit?: boolean;
  useRemoteGateways?: boolean;
  /** Overrides the peering's id (to test casing). */
  id?: string;
}

export class EstateBuilder {
  private readonly estate: {
    schemaVersion: 1;
    homeTenantId: string;
    tenants: Estate["tenants"];
    subscriptions: Record<string, unknown>[];
    resources: Record<string, unknown>[];
  };

  constructor(homeTenantId: string, homeName = "Home") {
    this.estate = { schemaVersion: 1, homeTenantId, tenants: [], subscriptions: [], resources: [] };
    this.tenant(homeTenantId, homeName);
  }

  tenant(tenantId: string, displayName: string): this {
    this.estate.tenants.push({
      tenantId,
      displayName,
      defaultDomainName: `${displayName.toLowerCase().replace(/\W/g, "")}.onmicrosoft.com`,
    });
    return this;
  }

  subscription(
    subscriptionId: string,
    tenantId: string,
    extra: { visibleToScanner?: boolean; managementGroups?: string[] } = {},
  ): this {
    this.estate.subscriptions.push({
      subscriptionId,
      tenantId,
      displayName: `sub-${subscriptionId.slice(-4)}`,
      ...extra,
    });
    return this;
  }

  vnet(
    subscriptionId: string,
    tenantId: string,
    resourceGroup: string,
    name: string,
    peerings: PeeringSpec[] = [],
    id?: string,
  ): this {
    const ownId = id ?? vnetId(subscriptionId, resourceGroup, name);
    this.estate.resources.push({
      id: ownId,
      name,
      type: "Microsoft.Network/virtualNetworks",
      subscriptionId,
      resourceGroup,
      location: "westeurope",
      tenantId,
      properties: {
        addressSpace: { addressPrefixes: ["10.0.0.0/16"] },
        virtualNetworkPeerings: peerings.map((p) => ({
          ...(p.id ? { id: p.id } : {}),
          name: p.name,
          properties: {
            remoteVirtualNetwork: { id: p.remote },
            peeringState: p.state ?? "Connected",
            remoteAddressSpace: { addressPrefixes: p.prefixes ?? ["172.16.0.0/24"] },
            ...(p.allowForwardedTraffic !== undefined
              ? { allowForwardedTraffic: p.allowForwardedTraffic }
              : {}),
            ...(p.allowGatewayTransit !== undefined ? { allowGatewayTransit: p.allowGatewayTransit } : {}),
            ...(p.useRemoteGateways !== undefined ? { useRemoteGateways: p.useRemoteGateways } : {}),
          },
        })),
      },
    });
    return this;
  }

  json(): unknown {
    return structuredClone(this.estate);
  }

  build(): Estate {
    return parseEstate(this.json(), "test estate");
  }
}

/** The tenants and subscriptions of `crossTenantEstate`. */
export const CROSS_TENANT = {
  home: guid(1, "c0"),
  foreign: guid(2, "c0"),
  homeSubscription: guid(1, "d0"),
  foreignSubscription: guid(2, "d0"),
} as const;

/** `peerings` home VNets, each peered with its own VNet in the foreign tenant "Foreign Org" (`omit`: left out). */
export function crossTenantEstate(peerings: number, omit: readonly number[] = []): Estate {
  const { home, foreign, homeSubscription, foreignSubscription } = CROSS_TENANT;
  const builder = new EstateBuilder(home)
    .tenant(foreign, "Foreign Org")
    .subscription(homeSubscription, home)
    .subscription(foreignSubscription, foreign);
  for (let i = 0; i < peerings; i++) {
    if (omit.includes(i)) continue;
    builder.vnet(homeSubscription, home, "rg", `vnet-${i}`, [
      { name: `to-foreign-${i}`, remote: vnetId(foreignSubscription, "f-rg", `f-${i}`) },
    ]);
  }
  return builder.build();
}
