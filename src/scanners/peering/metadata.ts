import type { PeeringFinding } from "./finding";
import { nameOf, parseResourceId } from "../../azure/resource-id";
import type { CheckMetadata, FindingFact } from "../finding";

/** What this check is, why it matters and how to fix what it finds (shown in docs, reports and alerts). */
export const PEERING_CHECK: CheckMetadata<PeeringFinding> = {
  id: "vnet-peering",
  title: "VNet peered with a network in another Entra ID tenant",
  noun: "cross-tenant peering",
  risk:
    "A cross-tenant peering routes traffic straight between your network and one that another organisation " +
    "controls. It bypasses the firewalls, network virtual appliances and private-link controls of a landing zone, " +
    "and anyone with Network Contributor on both sides (a guest user is enough) can create it.",
  remediation: {
    text:
      "Confirm with the VNet owner whether the peering is approved. If it is, add an allowlist entry with owner, " +
      "reason and expiry. If not, delete the peering on your side (and ask the other tenant to delete theirs), then " +
      "block inbound B2B collaboration in the Entra ID cross-tenant access settings to stop new ones.",
    portal: "Azure portal > Virtual networks > (local VNet) > Peerings > select the peering > Delete.",
  },
  relatedUrl: "https://learn.microsoft.com/azure/virtual-network/create-peering-different-subscriptions",
  state: (f) => f.peeringState,
  local: (f) => nameOf(f.localVnetId),
  remote: (f) => nameOf(f.remoteVnetId),
  facts: (f) => [
    ["Peering", nameOf(f.resourceId)],
    ["Local VNet", nameOf(f.localVnetId)],
    ["Remote VNet", nameOf(f.remoteVnetId)],
    ["Peering state", f.peeringState],
    ["Remote prefixes", f.remoteAddressPrefixes],
    ...(f.peerCompleteVnets === false
      ? ([
          ["Connects", "Only the named subnets, not the whole VNets (subnet peering)"],
          ["Local subnets", f.localSubnetNames ?? []],
          ["Remote subnets", f.remoteSubnetNames ?? []],
        ] as FindingFact[])
      : []),
  ],
  // The local VNet's Peerings blade, in the local tenant so the portal opens the right directory.
  portalLink: (f, portalUrl) => ({
    title: "Open peerings in Azure portal",
    url: `${portalUrl.replace(/\/+$/, "")}/#@${f.localTenantId}/resource${f.localVnetId}/peerings`,
  }),
  command: (f) => deletePeeringCommand(f),
  resolvedTitle: (f) =>
    `Peering '${nameOf(f.resourceId)}' from VNet '${nameOf(f.localVnetId)}' ` +
    `to '${nameOf(f.remoteVnetId)}' is no longer a cross-tenant finding (removed, or now same-tenant).`,
  material: (f) => [
    f.peeringState,
    f.peeringSyncLevel,
    f.remoteAddressPrefixes,
    f.localVnetId,
    f.remoteVnetId,
    f.createdBy?.principalId,
    f.peerCompleteVnets,
    f.localSubnetNames,
    f.remoteSubnetNames,
  ],
  csvFields: [
    "peeringState",
    "peeringSyncLevel",
    "localVnetId",
    "remoteVnetId",
    "allowForwardedTraffic",
    "allowGatewayTransit",
    "useRemoteGateways",
    "remoteAddressPrefixes",
    "peerCompleteVnets",
    "localSubnetNames",
    "remoteSubnetNames",
  ],
};

/** The Azure CLI command that deletes the local side of the peering. */
export function deletePeeringCommand(finding: Pick<PeeringFinding, "resourceId">): string {
  const peering = parseResourceId(finding.resourceId);
  const segments = finding.resourceId.split("/");
  const vnetIndex = segments.findIndex((s) => s.toLowerCase() === "virtualnetworks");
  const vnetName = vnetIndex > 0 ? segments[vnetIndex + 1] : "<vnet>";
  return (
    `az network vnet peering delete --subscription ${peering?.subscriptionId ?? "<subscription>"} ` +
    `--resource-group ${peering?.resourceGroup ?? "<resource-group>"} --vnet-name ${vnetName} --name ${peering?.name ?? "<peering>"}`
  );
}
