import { z } from "zod";
import { REMOTE_TENANT_JOIN, WINDOW, text } from "../windows";

/**
 * Any resource type can hold private endpoint connections (private link services too).
 * The connections in positions [start, start + 400) of each resource's array whose private
 * endpoint Resource Graph does not place in the resource's own tenant.
 */
export function inboundCandidatesQuery(window: number): string {
  const start = window * WINDOW;
  return `resources
| where isnotnull(properties.privateEndpointConnections)
| extend itemCount = array_length(properties.privateEndpointConnections)
| where itemCount > ${start}
| project containerId = id, subscriptionId, tenantId, itemCount, connections = properties.privateEndpointConnections,
    exposedTo = iif(type =~ 'microsoft.network/privatelinkservices', array_concat(coalesce(properties.visibility.subscriptions, dynamic([])), coalesce(properties.autoApproval.subscriptions, dynamic([]))), dynamic([]))
| mv-expand connection = array_slice(connections, ${start}, ${start + WINDOW - 1}) limit ${WINDOW}
| extend privateEndpointId = tostring(connection.properties.privateEndpoint.id),
    remoteSubscriptionId = tolower(tostring(split(tostring(connection.properties.privateEndpoint.id), '/')[2]))
| ${REMOTE_TENANT_JOIN}
| project id = tostring(connection.id), containerId, subscriptionId, tenantId, itemCount,
    privateEndpointId,
    remoteTenantId,
    connectionState = tostring(connection.properties.privateLinkServiceConnectionState.status),
    exposedTo
| order by id asc`;
}

export const INBOUND_CANDIDATES_QUERY = inboundCandidatesQuery(0);
export const INBOUND_CANDIDATES_WINDOW_QUERY = inboundCandidatesQuery(1);

export const inboundRowSchema = z.object({
  id: z.string().min(1, "the private endpoint connection has no id"),
  /** Our resource. */
  containerId: z.string().min(1),
  subscriptionId: z.string().min(1),
  tenantId: z.string().min(1),
  itemCount: z.number().int(),
  privateEndpointId: text,
  remoteTenantId: text,
  connectionState: text,
  /** A private link service's visibility and auto-approval lists (issue 19); empty for other resources. */
  exposedTo: z
    .array(z.unknown())
    .nullish()
    .transform((list) => (list ?? []).map((s) => String(s).trim().toLowerCase())),
});

export type InboundRow = z.infer<typeof inboundRowSchema>;
