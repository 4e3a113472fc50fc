import { isVisible, type Estate } from "./estate";
import type { Row } from "./kql";

/** What ARM reports as peeringSyncLevel when the estate does not say. */
const syncLevelOf = (state: string) => (state === "Connected" ? "FullyInSync" : "RemoteNotInSync");

const CONNECTION_ARRAYS = [
  "privateLinkServiceConnections",
  "manualPrivateLinkServiceConnections",
  "privateEndpointConnections",
] as const;

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
  const properties: Record<string, unknown> = {
    ...resource.properties,
    ...(peerings ? { virtualNetworkPeerings: peerings } : {}),
  };
  // Connections carry their own id in ARM (<parent>/<array>/<name>); the estate may leave it out.
  for (const array of CONNECTION_ARRAYS) {
    const list = properties[array];
    if (!Array.isArray(list)) continue;
    properties[array] = list.map((c: unknown) =>
      typeof c === "object" && c !== null && !("id" in c) && "name" in c
        ? { id: `${resource.id}/${array}/${String(c.name)}`, ...c }
        : c,
    );
  }
  return { ...resource, type: resource.type.toLowerCase(), properties };
}

export interface GraphTables {
  /** Rows by table, each tagged with the subscription it belongs to (for scoping). */
  resources: Row[];
  resourcecontainers: Row[];
  authorizationresources: Row[];
  managedserviceresources: Row[];
}

/**
 * Resource Graph keeps Azure Lighthouse's registration definitions and assignments in the
 * `managedserviceresources` table, not in `resources` ("Azure Resource Graph table and resource
 * type reference", learn.microsoft.com/azure/governance/resource-graph/reference/supported-tables-resources:
 * `managedserviceresources` lists `microsoft.managedservices/registrationassignments` and
 * `microsoft.managedservices/registrationdefinitions`; the `resources` list names neither). The
 * estate holds them among its resources; the sandbox serves them where Azure does.
 */
const isManagedService = (resource: Estate["resources"][number]) =>
  resource.type.toLowerCase().startsWith("microsoft.managedservices/");

/** The Resource Graph tables the scanner's identity sees: only what it can read (CONTRACTS §1). */
export function graphTables(estate: Estate): GraphTables {
  const visible = new Set(
    estate.subscriptions.filter((s) => isVisible(estate, s)).map((s) => s.subscriptionId.toLowerCase()),
  );
  const seen = estate.resources.filter((r) => visible.has(r.subscriptionId.toLowerCase()));
  return {
    resources: seen.filter((r) => !isManagedService(r)).map(toGraphRow),
    managedserviceresources: seen.filter(isManagedService).map(toGraphRow),
    // Rows without a subscription (built-in role definitions, management-group assignments) are
    // kept here; the request's scope decides whether they are served.
    authorizationresources: estate.authorizationResources
      .filter((r) => !r.subscriptionId || visible.has(r.subscriptionId.toLowerCase()))
      .map((r) => ({ subscriptionId: "", tenantId: estate.homeTenantId, ...r, type: r.type.toLowerCase() })),
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
