import { z } from "zod";
import { findingCommonSchema } from "../finding";

/** A connection to one of our resources from a private endpoint in another tenant's subscription. */
export const privateEndpointInboundFindingSchema = findingCommonSchema.extend({
  kind: z.literal("private-endpoint-inbound"),
  /** Our resource (storage account, key vault, private link service, …). */
  targetResourceId: z.string(),
  /** The other tenant's private endpoint. */
  privateEndpointId: z.string(),
  /** `privateLinkServiceConnectionState.status` as Azure gave it. */
  connectionState: z.string(),
  /**
   * When our resource is a private link service that lists the remote subscription (or `*`) in its
   * visibility or auto-approval: the id of that private-link-service-exposure finding.
   */
  exposureFindingId: z.string().nullable().optional(),
});

export type PrivateEndpointInboundFinding = z.infer<typeof privateEndpointInboundFindingSchema>;
