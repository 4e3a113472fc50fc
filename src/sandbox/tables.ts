import { isVisible, type Estate } from "./estate";
import type { Row } from "./kql";

/** What ARM reports as peeringSyncLevel when the estate does not say. */
const syncLevelOf = (state: string) => (state === "Connected" ? "FullyInSync" : "RemoteNotInSync");

/** A resource as Resource Graph returns it: lower-case `type`, peering ids and sync levels filled in. */
function toGraphRow(resource: Estate["resources"][number]): Row {
  const peerings = resource.properties.virtualNetworkPeerings?.map((peering) => ({
    ...peering,
    id: peering.id ?? `${resource.id}/virtualNetworkPeerings/${peering.name}`,
    type: "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
    properties: {
      ...peering.properties,
      peeringSyncLevel: peering.properties.peeringSyncLevel ?? syncLevelOf(peering.properties.peeringState),
    },
  }));
  return {
    ...resource,
    type: resource.type.toLowerCase(),
    properties: { ...resource.properties, ...(peerings ? { virtualNetworkPeerings: peerings } : {}) },
  };
}

export interface GraphTables {
  /** Rows by table, each tagged with the subscription it belongs to (for scoping). */
  resources: Row[];
  resourcecontainers: Row[];
}

/** The Resource Graph tables the scanner's identity sees: only what it can read (CONTRACTS §1). */
export function graphTables(estate: Estate): GraphTables {
  const visible = new Set(
    estate.subscriptions.filter((s) => isVisible(estate, s)).map((s) => s.subscriptionId.toLowerCase()),
  );
  return {
    resources: estate.resources.filter((r) => visible.has(r.subscriptionId.toLowerCase())).map(toGraphRow),
    resourcecontainers: estate.subscriptions
      .filter((s) => visible.has(s.subscriptionId.toLowerCase()))
      .map((s) => ({
        id: `/subscriptions/${s.subscriptionId}`,
        name: s.displayName,
        type: "microsoft.resources/subscriptions",
        subscriptionId: s.subscriptionId,
        tenantId: s.tenantId,
        properties: {
          state: s.state,
          managementGroupAncestorsChain: s.managementGroups.map((name) => ({ name })),
        },
      })),
  };
}
