import { z } from "zod";
import { REMOTE_TENANT_JOIN, WINDOW, text } from "../windows";

/**
 * A private link service (Microsoft.Network/privateLinkServices) lists who may find it in
 * `properties.visibility.subscriptions` and whose connections are approved with no human in the
 * loop in `properties.autoApproval.subscriptions`; `*` means every subscription
 * (learn.microsoft.com/azure/templates/microsoft.network/privatelinkservices, "ResourceSet";
 * learn.microsoft.com/azure/private-link/private-link-service-overview, "Control service exposure").
 */
const TYPE_FILTER = `where type =~ 'microsoft.network/privatelinkservices'`;
/** A service's visibility list, then its auto-approval list. */
export const ENTRIES = `array_concat(coalesce(properties.visibility.subscriptions, dynamic([])), coalesce(properties.autoApproval.subscriptions, dynamic([])))`;

/** The id of one exposure: the service and one subscription it lists (or `*`). */
export const exposureRowId = (serviceId: string, subscription: string) =>
  `${serviceId}/exposedTo/${subscription.toLowerCase()}`;

/**
 * The entries in positions [start, start + 400) of each service's visibility and auto-approval
 * lists (one after the other) whose subscription Resource Graph does not place in the service's
 * own tenant; `*` has no tenant and always stays. A subscription in both lists is one row.
 */
export function exposureCandidatesQuery(window: number): string {
  const start = window * WINDOW;
  return `resources
| ${TYPE_FILTER}
| extend entries = ${ENTRIES}
| extend itemCount = array_length(entries)
| where itemCount > ${start}
| project containerId = id, subscriptionId, tenantId, itemCount, entries,
    autoApprovalList = coalesce(properties.autoApproval.subscriptions, dynamic([]))
| mv-expand entry = array_slice(entries, ${start}, ${start + WINDOW - 1}) limit ${WINDOW}
| extend remoteSubscriptionId = tolower(tostring(entry)),
    autoApproval = tostring(entry) in~ (autoApprovalList)
| ${REMOTE_TENANT_JOIN}
| project id = strcat(containerId, '/exposedTo/', remoteSubscriptionId), containerId, subscriptionId, tenantId,
    itemCount, subscription = remoteSubscriptionId, remoteTenantId, autoApproval
| summarize listed = count() by id, containerId, subscriptionId, tenantId, itemCount, subscription, remoteTenantId, autoApproval
| order by id asc`;
}

export const PRIVATE_LINK_SERVICE_CANDIDATES_QUERY = exposureCandidatesQuery(0);
export const PRIVATE_LINK_SERVICE_CANDIDATES_WINDOW_QUERY = exposureCandidatesQuery(1);

export const exposureRowSchema = z.object({
  id: z.string().min(1),
  containerId: z.string().min(1),
  subscriptionId: z.string().min(1),
  tenantId: z.string().min(1),
  itemCount: z.number().int(),
  subscription: text,
  remoteTenantId: text,
  /** Whether the subscription is in the auto-approval list too (a subscription in both lists is one row). */
  autoApproval: z.boolean(),
});

export type ExposureRow = z.infer<typeof exposureRowSchema>;
