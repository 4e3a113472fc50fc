import { nameOf } from "../../azure/resource-id";
import type { CheckMetadata } from "../finding";
import type { ServiceEndpointInboundFinding } from "./finding";

const removeCommand = (f: ServiceEndpointInboundFinding): string => {
  const id = f.targetResourceId.toLowerCase();
  if (id.includes("/providers/microsoft.storage/storageaccounts/"))
    return `az storage account network-rule remove --account-name ${nameOf(f.targetResourceId)} --subnet ${f.subnetId}`;
  if (id.includes("/providers/microsoft.keyvault/vaults/"))
    return `az keyvault network-rule remove --name ${nameOf(f.targetResourceId)} --subnet ${f.subnetId}`;
  if (id.includes("/providers/microsoft.documentdb/databaseaccounts/"))
    return `az cosmosdb network-rule remove --ids ${f.targetResourceId} --subnet ${f.subnetId}`;
  return `az resource show --ids ${f.targetResourceId} --query ${f.rule}`;
};

export const SERVICE_ENDPOINT_INBOUND_CHECK: CheckMetadata<ServiceEndpointInboundFinding> = {
  id: "service-endpoint-inbound",
  title: "Resource firewall admits a subnet in another Entra ID tenant",
  noun: "cross-tenant service endpoint rule",
  risk:
    "A virtual network rule naming another tenant's subnet lets every machine in that subnet, which another " +
    "organisation controls, reach your resource past its firewall through a service endpoint.",
  remediation: {
    text:
      "Confirm with the resource's owner whether the other tenant's subnet should reach it. If so, add an allowlist " +
      "entry with kinds: [service-endpoint-inbound], owner, reason and expiry. If not, remove the virtual network rule.",
    portal:
      "Azure portal > (the resource) > Networking > Firewalls and virtual networks > remove the virtual network.",
  },
  relatedUrl: "https://learn.microsoft.com/azure/storage/common/storage-network-security",
  state: (f) => f.rule,
  local: (f) => nameOf(f.targetResourceId),
  remote: (f) => nameOf(f.subnetId),
  facts: (f) => [
    ["Resource", nameOf(f.targetResourceId)],
    ["Rule", f.rule],
    ["Remote subnet", f.subnetId],
  ],
  portalLink: (f, portalUrl) => ({
    title: "Open the resource in Azure portal",
    url: `${portalUrl.replace(/\/+$/, "")}/#@${f.localTenantId}/resource${f.targetResourceId}/overview`,
  }),
  command: removeCommand,
  resolvedTitle: (f) =>
    `'${nameOf(f.targetResourceId)}' no longer admits subnet '${nameOf(f.subnetId)}' of another tenant ` +
    `(rule removed, or now same-tenant).`,
  material: (f) => [f.targetResourceId, f.subnetId, f.rule, f.severity],
  csvFields: ["targetResourceId", "subnetId", "rule"],
};
