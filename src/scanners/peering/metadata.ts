import type { PeeringFinding } from "./finding";
import { parseResourceId } from "../../azure/resource-id";

/** What this check is, why it matters and how to fix what it finds (shown in docs, reports and alerts). */
export const PEERING_CHECK = {
  id: "vnet-peering",
  title: "VNet peered with a network in another Entra ID tenant",
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
} as const;

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
