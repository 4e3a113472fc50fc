import { z } from "zod";
import { findingCommonSchema } from "../finding";

/** A private link service of ours that another tenant's subscription, or everyone (`*`), may find or use. */
export const privateLinkServiceExposureFindingSchema = findingCommonSchema.extend({
  kind: z.literal("private-link-service-exposure"),
  /** `autoApproval` when the subscription's connections are approved automatically, else `visibility`. */
  setting: z.enum(["autoApproval", "visibility"]),
  /** The listed subscription this finding is about: another tenant's, or `*`. */
  subscriptions: z.array(z.string()),
});

export type PrivateLinkServiceExposureFinding = z.infer<typeof privateLinkServiceExposureFindingSchema>;
