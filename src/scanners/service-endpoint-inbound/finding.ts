import { z } from "zod";
import { findingCommonSchema } from "../finding";

/** A resource of ours whose network rules admit a subnet in another tenant's subscription. */
export const serviceEndpointInboundFindingSchema = findingCommonSchema.extend({
  kind: z.literal("service-endpoint-inbound"),
  /** Our resource (storage account, key vault, Cosmos DB account, …). */
  targetResourceId: z.string(),
  /** The other tenant's subnet the rule names. */
  subnetId: z.string(),
  /** Where the rule lives: `properties.networkAcls.virtualNetworkRules` or `properties.virtualNetworkRules`. */
  rule: z.string(),
});

export type ServiceEndpointInboundFinding = z.infer<typeof serviceEndpointInboundFindingSchema>;
