import { z } from "zod";
import { REMOTE_TENANT_JOIN, WINDOW, text } from "../windows";

/**
 * Where Resource Graph's `resources` rows keep virtual-network (service endpoint) rules:
 * - storage accounts (Microsoft.Storage/storageAccounts) and key vaults (Microsoft.KeyVault/vaults):
 *   `properties.networkAcls.virtualNetworkRules[].id`, with `properties.networkAcls.defaultAction`
 *   (learn.microsoft.com/azure/templates/microsoft.storage/storageaccounts, "NetworkRuleSet";
 *   learn.microsoft.com/azure/templates/microsoft.keyvault/vaults, "NetworkRuleSet");
 * - Cosmos DB accounts (Microsoft.DocumentDB/databaseAccounts): `properties.virtualNetworkRules[].id`,
 *   enforced when `properties.isVirtualNetworkFilterEnabled` is true
 *   (learn.microsoft.com/azure/templates/microsoft.documentdb/databaseaccounts, "VirtualNetworkRule").
 * Any other type with either path is read the same way. Event Hubs / Service Bus namespaces keep
 * theirs in the child `networkRuleSets/default`, SQL servers in child `virtualNetworkRules`: child
 * resources Resource Graph's `resources` table does not return (see README).
 */
export const RULES_FILTER = `where isnotnull(properties.networkAcls.virtualNetworkRules) or isnotnull(properties.virtualNetworkRules)`;
/** A resource's rule array, wherever its type keeps it. */
export const RULES = `iif(isnotnull(properties.networkAcls.virtualNetworkRules), properties.networkAcls.virtualNetworkRules, properties.virtualNetworkRules)`;

/**
 * The rules in positions [start, start + 400) of each resource's rule array whose subnet
 * Resource Graph does not place in the resource's own tenant.
 */
export function serviceEndpointCandidatesQuery(window: number): string {
  const start = window * WINDOW;
  return `resources
| ${RULES_FILTER}
| extend rulePath = iif(isnotnull(properties.networkAcls.virtualNetworkRules), 'properties.networkAcls.virtualNetworkRules', 'properties.virtualNetworkRules'),
    vnetRules = ${RULES}
| extend itemCount = array_length(vnetRules)
| where itemCount > ${start}
| project containerId = id, type, subscriptionId, tenantId, itemCount, rulePath, vnetRules,
    defaultAction = tostring(properties.networkAcls.defaultAction),
    publicNetworkAccess = tostring(properties.publicNetworkAccess),
    virtualNetworkFilterEnabled = tostring(properties.isVirtualNetworkFilterEnabled)
| mv-expand vnetRule = array_slice(vnetRules, ${start}, ${start + WINDOW - 1}) limit ${WINDOW}
| extend subnetId = tostring(vnetRule.id),
    remoteSubscriptionId = tolower(tostring(split(tostring(vnetRule.id), '/')[2]))
| ${REMOTE_TENANT_JOIN}
| project id = strcat(containerId, '/virtualNetworkRules/', tolower(subnetId)), containerId, type, subscriptionId, tenantId, itemCount,
    rulePath, subnetId, remoteTenantId, defaultAction, publicNetworkAccess, virtualNetworkFilterEnabled
| order by id asc`;
}

export const SERVICE_ENDPOINT_CANDIDATES_QUERY = serviceEndpointCandidatesQuery(0);
export const SERVICE_ENDPOINT_CANDIDATES_WINDOW_QUERY = serviceEndpointCandidatesQuery(1);

export const serviceEndpointRowSchema = z.object({
  /** Our resource's id, the rule's path and the subnet: one row per rule. */
  id: z.string().min(1),
  containerId: z.string().min(1),
  type: text,
  subscriptionId: z.string().min(1),
  tenantId: z.string().min(1),
  itemCount: z.number().int(),
  rulePath: text,
  subnetId: text,
  remoteTenantId: text,
  defaultAction: text,
  publicNetworkAccess: text,
  virtualNetworkFilterEnabled: text,
});

export type ServiceEndpointRow = z.infer<typeof serviceEndpointRowSchema>;
