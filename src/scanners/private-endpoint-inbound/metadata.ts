import { nameOf } from "../../azure/resource-id";
import type { CheckMetadata } from "../finding";
import type { PrivateEndpointInboundFinding } from "./finding";

export const PRIVATE_ENDPOINT_INBOUND_CHECK: CheckMetadata<PrivateEndpointInboundFinding> = {
  id: "private-endpoint-inbound",
  title: "Resource reached through a private endpoint in another Entra ID tenant",
  noun: "inbound cross-tenant private endpoint",
  risk:
    "An approved connection lets a network that another organisation controls reach your resource privately, " +
    "past its public network rules. A pending one is someone in another tenant asking for that access.",
  remediation: {
    text:
      "Confirm with the resource's owner whether the other tenant should reach it. If so, add an allowlist entry " +
      "with kinds: [private-endpoint-inbound], owner, reason and expiry. If not, reject the connection (or remove " +
      "it if it is approved).",
    portal:
      "Azure portal > (the resource) > Networking > Private endpoint connections > select it > Reject or Remove.",
  },
  relatedUrl: "https://learn.microsoft.com/azure/private-link/manage-private-endpoint",
  state: (f) => f.connectionState,
  local: (f) => nameOf(f.targetResourceId),
  remote: (f) => nameOf(f.privateEndpointId),
  facts: (f) => [
    ["Resource", nameOf(f.targetResourceId)],
    ["Connection", nameOf(f.resourceId)],
    ["Remote private endpoint", f.privateEndpointId],
    ["Connection state", f.connectionState || "not reported"],
  ],
  portalLink: (f, portalUrl) => ({
    title: "Open the resource in Azure portal",
    url: `${portalUrl.replace(/\/+$/, "")}/#@${f.localTenantId}/resource${f.targetResourceId}/overview`,
  }),
  // Works for every resource type that holds private endpoint connections.
  command: (f) => `az network private-endpoint-connection reject --id ${f.resourceId}`,
  resolvedTitle: (f) =>
    `'${nameOf(f.targetResourceId)}' no longer has a connection from private endpoint ` +
    `'${nameOf(f.privateEndpointId)}' in another tenant (removed, or now same-tenant).`,
  material: (f) => [f.connectionState, f.targetResourceId, f.privateEndpointId],
  csvFields: ["connectionState", "targetResourceId", "privateEndpointId"],
};
