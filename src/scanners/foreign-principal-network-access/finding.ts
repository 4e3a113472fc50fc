import { z } from "zod";
import { findingCommonSchema } from "../finding";

/**
 * How a principal comes from another tenant. `external-member`: a user of another tenant whose
 * `userType` is not Guest (cross-tenant synchronization makes them Member). `unknown`: Graph did not
 * say what decides it (the finding is then `unresolved`, never dropped).
 */
export const PRINCIPAL_KINDS = [
  "guest-user",
  "external-member",
  "foreign-service-principal",
  "foreign-group",
  "lighthouse-delegation",
  "unknown",
] as const;

/** A role assignment that lets a principal from another tenant create peerings on one of our scopes. */
export const foreignPrincipalFindingSchema = findingCommonSchema.extend({
  kind: z.literal("foreign-principal-network-access"),
  principalId: z.string(),
  /** As the role assignment gives it: User, ServicePrincipal, ForeignGroup. */
  principalType: z.string(),
  principalKind: z.enum(PRINCIPAL_KINDS),
  /** Written by whoever named the principal (often another tenant): cleaned text. */
  principalDisplayName: z.string().nullable(),
  /** The tenant the principal comes from, where Graph says it (a multi-tenant app's owner); null otherwise. */
  principalHomeTenantId: z.string().nullable(),
  roleDefinitionId: z.string(),
  roleName: z.string(),
  /** Where the assignment applies: a management group, subscription, resource group or VNet. */
  scope: z.string(),
  /** The role's actions that grant peering (e.g. Microsoft.Network/*). */
  grantingActions: z.array(z.string()),
  /** When the role is held through a group: the group the assignment names (the member is the principal). */
  viaGroupId: z.string().nullable().optional(),
  viaGroupName: z.string().nullable().optional(),
  /** The domain an external user's home tenant was found by (from the `#EXT#` UPN or mail). */
  principalHomeDomain: z.string().nullable().optional(),
  /** Lighthouse delegations (lighthouse.ts): the managing tenant and the registration definition. */
  managedByTenantId: z.string().optional(),
  registrationDefinitionId: z.string().optional(),
});

export type ForeignPrincipalFinding = z.infer<typeof foreignPrincipalFindingSchema>;
