import { z } from "zod";
import { findingCommonSchema } from "../finding";

/** A private endpoint of ours connected to a service in another tenant's subscription. */
export const privateEndpointOutboundFindingSchema = findingCommonSchema.extend({
  kind: z.literal("private-endpoint-outbound"),
  privateEndpointId: z.string(),
  /** The connection's `privateLinkServiceId`: the other tenant's resource or private link service. */
  targetResourceId: z.string(),
  groupIds: z.array(z.string()),
  /** `privateLinkServiceConnectionState.status` as Azure gave it (Approved, Pending, Rejected, Disconnected, …). */
  connectionState: z.string(),
  /** A manual connection (`manualPrivateLinkServiceConnections`): the other side approves it. */
  manual: z.boolean(),
});

export type PrivateEndpointOutboundFinding = z.infer<typeof privateEndpointOutboundFindingSchema>;
