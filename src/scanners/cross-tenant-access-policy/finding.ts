import { z } from "zod";
import { findingCommonSchema } from "../finding";

/**
 * One setting of the tenant's cross-tenant access policy (or authorization policy) that decides
 * whether people of another tenant may come in (CONTRACTS §5). The default policy's settings are
 * kept whatever their value, so a change of either direction is a `changed` delta: a setting that
 * meets its baseline is `allowed` with severity `info`. A partner's setting is a finding only
 * while it lets that tenant in.
 */
export const crossTenantAccessPolicyFindingSchema = findingCommonSchema.extend({
  kind: z.literal("cross-tenant-access-policy"),
  /** The property path, e.g. `b2bCollaborationInbound.usersAndGroups`, `inboundTrust`, `allowInvitesFrom`. */
  setting: z.string(),
  /** As Graph gave it: `allowed` / `blocked`, the trusted claims, or the setting's value. */
  accessType: z.string(),
  /** Whom it applies to, as Graph names them (`AllUsers`, a group id, `isMfaAccepted`, …). */
  targets: z.array(z.string()),
  /** What the baseline expects, in words. */
  expected: z.string(),
  /** The baseline that says so, e.g. `CISA MS.AAD.8.3`. */
  baseline: z.string(),
});

export type CrossTenantAccessPolicyFinding = z.infer<typeof crossTenantAccessPolicyFindingSchema>;
