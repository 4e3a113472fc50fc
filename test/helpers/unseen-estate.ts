import { join } from "node:path";
import { readEstateFile, parseEstate, type Estate } from "../../src/sandbox/estate";

export const ROOT = join(__dirname, "../../..");
export const HOME = "5f1e4c2a-7b3d-4e8f-9a6b-2c1d0e9f8a7b";
export const TENANT_A = "31ca78c2-d833-433a-9977-88e160bd4ac0";
export const FABRIKAM = "9c8b7a65-4d3e-4f21-8a0b-1c2d3e4f5a6b";
export const NORTHWIND = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
export const DEMO_SUB = "31bdf544-8e8e-4f5b-bb31-3316a05e5581";
export const HUB_SUB = "b2c4d6e8-1a3b-4c5d-8e9f-0a1b2c3d4e5f";
export const NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7";
export const GUEST = "6a1f2e3d-4c5b-4a69-8877-1a2b3c4d5e6f";
export const APP = "8c3b4a5f-6e7d-4c8b-aa99-3c4d5e6f7081";
export const SYNCED = "9d4c5b6a-7f80-4d9c-8baa-4d5e6f708192";
export const GROUP_GUEST = "ae5d6c7b-8091-4eab-9cbb-5e6f708192a3";
export const NET_GROUP = "bf6e7d8c-91a2-4fbc-8dcc-6f708192a3b4";
export const SPRING_APPS = "c07f8e9d-a2b3-40cd-9edd-708192a3b4c5";
export const MG_GUEST = "d1809fae-b3c4-41de-8fee-8192a3b4c5d6";
export const MICROSOFT_APPS = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";

const assignment = (name: string, principalId: string, principalType: string, scope: string) => {
  const subscriptionId = scope.match(/^\/subscriptions\/([^/]+)/)?.[1];
  return {
    id: `${scope === "/" ? "" : scope}/providers/Microsoft.Authorization/roleAssignments/${name}`,
    name,
    type: "microsoft.authorization/roleassignments",
    ...(subscriptionId ? { subscriptionId } : {}),
    tenantId: HOME,
    properties: {
      roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${NETWORK_CONTRIBUTOR}`,
      principalId,
      principalType,
      scope,
    },
  };
};

/**
 * The example estate, plus the principals real Azure holds and the scanner used to miss: a user made
 * by cross-tenant sync (Member, #EXT#), a guest holding the role only through a group, a guest
 * holding it on a management group, and Microsoft's first-party app on a VNet.
 */
export async function unseenEstate(): Promise<Estate> {
  const base = await readEstateFile(join(ROOT, "examples/estates/two-tenants.json"));
  const raw = JSON.parse(JSON.stringify(base)) as Record<string, unknown[]> & Estate;
  const vnet = `/subscriptions/${HUB_SUB}/resourceGroups/hub-rg/providers/Microsoft.Network/virtualNetworks/vnet-hub`;
  raw.authorizationResources.push(
    assignment("e1111111-0000-4000-8000-000000000001", SYNCED, "User", `/subscriptions/${HUB_SUB}`),
    assignment("e1111111-0000-4000-8000-000000000002", NET_GROUP, "Group", `/subscriptions/${DEMO_SUB}`),
    assignment("e1111111-0000-4000-8000-000000000003", SPRING_APPS, "ServicePrincipal", vnet),
    assignment(
      "e1111111-0000-4000-8000-000000000004",
      MG_GUEST,
      "User",
      "/providers/Microsoft.Management/managementGroups/contoso-landingzones",
    ),
  );
  raw.directoryObjects.push(
    {
      "@odata.type": "#microsoft.graph.user",
      id: SYNCED,
      displayName: "Sam (synced from Fabrikam)",
      userType: "Member",
      userPrincipalName: "sam_fabrikam.onmicrosoft.com#EXT#@contoso.onmicrosoft.com",
    },
    {
      "@odata.type": "#microsoft.graph.user",
      id: GROUP_GUEST,
      displayName: "Grace (Northwind)",
      userType: "Guest",
      userPrincipalName: "grace_northwind.onmicrosoft.com#EXT#@contoso.onmicrosoft.com",
      externalUserState: "Accepted",
      creationType: "Invitation",
    },
    {
      "@odata.type": "#microsoft.graph.user",
      id: MG_GUEST,
      displayName: "Mel (Tenant A)",
      userType: "Guest",
      userPrincipalName: "mel_tenanta.onmicrosoft.com#EXT#@contoso.onmicrosoft.com",
    },
    {
      "@odata.type": "#microsoft.graph.group",
      id: NET_GROUP,
      displayName: "Network operators",
      members: ["7b2a3f4e-5d6c-4b7a-9988-2b3c4d5e6f70", GROUP_GUEST],
    },
    {
      "@odata.type": "#microsoft.graph.servicePrincipal",
      id: SPRING_APPS,
      displayName: "Azure Spring Cloud Resource Provider",
      appId: "e8de9221-a19c-4c81-b814-fd37c6caf9d2",
      appOwnerOrganizationId: MICROSOFT_APPS,
      servicePrincipalType: "Application",
    },
  );
  // A subnet peering to Tenant A: only two named subnets are connected.
  const subnetVnet = `/subscriptions/${HUB_SUB}/resourceGroups/hub-rg/providers/Microsoft.Network/virtualNetworks/vnet-subnet-peered`;
  (raw.resources as unknown[]).push({
    id: subnetVnet,
    name: "vnet-subnet-peered",
    type: "microsoft.network/virtualnetworks",
    subscriptionId: HUB_SUB,
    resourceGroup: "hub-rg",
    location: "westeurope",
    tenantId: HOME,
    properties: {
      addressSpace: { addressPrefixes: ["10.40.0.0/16"] },
      virtualNetworkPeerings: [
        {
          id: `${subnetVnet}/virtualNetworkPeerings/to-tenant-a-subnets`,
          name: "to-tenant-a-subnets",
          properties: {
            remoteVirtualNetwork: {
              id: "/subscriptions/8655f4d3-0bb1-4be0-b73c-6a8f3b304cf6/resourceGroups/demo-rg/providers/Microsoft.Network/virtualNetworks/demo-vnet",
            },
            peeringState: "Connected",
            peeringSyncLevel: "FullyInSync",
            peerCompleteVnets: false,
            localSubnetNames: ["app"],
            remoteSubnetNames: ["shared"],
            remoteAddressSpace: { addressPrefixes: ["10.1.2.0/24"] },
          },
        },
      ],
    },
  });
  return parseEstate(raw, "unseen estate");
}
