import { z } from "zod";
import { REMOTE_TENANT_JOIN, WINDOW, text } from "../windows";

/** Automatic and manual connections sit in two arrays of a private endpoint; each is read on its own. */
export type ConnectionArray = "privateLinkServiceConnections" | "manualPrivateLinkServiceConnections";

/**
 * The connections in positions [start, start + 400) of each private endpoint's array whose target
 * Resource Graph does not place in the endpoint's own tenant. Same-tenant connections never leave
 * Resource Graph.
 */
export function outboundCandidatesQuery(array: ConnectionArray, window: number): string {
  const start = window * WINDOW;
  return `resources
| where type =~ 'microsoft.network/privateendpoints'
| extend itemCount = array_length(properties.${array})
| where itemCount > ${start}
| project containerId = id, subscriptionId, tenantId, itemCount, connections = properties.${array}
| mv-expand connection = array_slice(connections, ${start}, ${start + WINDOW - 1}) limit ${WINDOW}
| extend targetResourceId = tostring(connection.properties.privateLinkServiceId),
    remoteSubscriptionId = tolower(tostring(split(tostring(connection.properties.privateLinkServiceId), '/')[2]))
| ${REMOTE_TENANT_JOIN}
| project id = tostring(connection.id), containerId, subscriptionId, tenantId, itemCount,
    connectionName = tostring(connection.name),
    targetResourceId,
    remoteTenantId,
    groupIds = connection.properties.groupIds,
    connectionState = tostring(connection.properties.privateLinkServiceConnectionState.status)
| order by id asc`;
}

export const PRIVATE_ENDPOINT_CANDIDATES_QUERY = outboundCandidatesQuery("privateLinkServiceConnections", 0);
export const MANUAL_PRIVATE_ENDPOINT_CANDIDATES_WINDOW_QUERY = outboundCandidatesQuery(
  "manualPrivateLinkServiceConnections",
  1,
);

export const outboundRowSchema = z.object({
  id: z.string().min(1, "the private endpoint connection has no id"),
  /** The private endpoint. */
  containerId: z.string().min(1),
  subscriptionId: z.string().min(1),
  tenantId: z.string().min(1),
  itemCount: z.number().int(),
  connectionName: text,
  targetResourceId: text,
  remoteTenantId: text,
  groupIds: z.array(z.string()).nullish(),
  connectionState: text,
});

export type OutboundRow = z.infer<typeof outboundRowSchema>;
