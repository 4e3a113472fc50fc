import { nameOf, parseResourceId } from "../../azure/resource-id";
import type { CheckMetadata } from "../finding";
import type { PrivateEndpointOutboundFinding } from "./finding";

/** The connection's name: the last segment of its id. */
const connectionName = (f: { resourceId: string }) => nameOf(f.resourceId);

export const PRIVATE_ENDPOINT_OUTBOUND_CHECK: CheckMetadata<PrivateEndpointOutboundFinding> = {
  id: "private-endpoint-outbound",
  title: "Private endpoint connected to a service in another Entra ID tenant",
  noun: "cross-tenant private endpoint",
  risk:
    "A private endpoint puts another organisation's service inside your network: traffic to it leaves no trace " +
    "at the firewall's internet edge, and data can be copied to a store that tenant controls (exfiltration " +
    "through private link).",
  remediation: {
    text:
      "Confirm with the private endpoint's owner whether the connection is approved. If it is, add an allowlist " +
      "entry with kinds: [private-endpoint-outbound], owner, reason and expiry. If not, remove the connection by " +
      "deleting the private endpoint, and restrict who may create private endpoints to foreign resources with " +
      "Azure Policy.",
    portal: "Azure portal > Private endpoints > (the endpoint) > Delete.",
  },
  relatedUrl: "https://learn.microsoft.com/azure/private-link/private-endpoint-overview",
  state: (f) => f.connectionState,
  local: (f) => nameOf(f.privateEndpointId),
  remote: (f) => nameOf(f.targetResourceId),
  facts: (f) => [
    ["Private endpoint", nameOf(f.privateEndpointId)],
    ["Connection", `${connectionName(f)}${f.manual ? " (manual)" : ""}`],
    ["Target resource", f.targetResourceId],
    ["Sub-resources", f.groupIds],
    ["Connection state", f.connectionState || "not reported"],
  ],
  portalLink: (f, portalUrl) => ({
    title: "Open the private endpoint in Azure portal",
    url: `${portalUrl.replace(/\/+$/, "")}/#@${f.localTenantId}/resource${f.privateEndpointId}/overview`,
  }),
  command: (f) => {
    const pe = parseResourceId(f.privateEndpointId);
    return (
      `az network private-endpoint delete --subscription ${pe?.subscriptionId ?? "<subscription>"} ` +
      `--resource-group ${pe?.resourceGroup ?? "<resource-group>"} --name ${pe?.name ?? "<private-endpoint>"}`
    );
  },
  resolvedTitle: (f) =>
    `Private endpoint '${nameOf(f.privateEndpointId)}' no longer connects to '${nameOf(f.targetResourceId)}' ` +
    "in another tenant (removed, or now same-tenant).",
  material: (f) => [f.connectionState, f.groupIds, f.manual, f.privateEndpointId, f.targetResourceId],
  csvFields: ["connectionState", "privateEndpointId", "targetResourceId", "groupIds", "manual"],
};
