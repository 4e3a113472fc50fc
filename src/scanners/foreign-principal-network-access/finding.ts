import { z } from "zod";
import { findingCommonSchema } from "../finding";

export const PRINCIPAL_KINDS = [
  "guest-user",
  "foreign-service-principal",
  "foreign-group",
  "lighthouse-delegation",
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
  /** Lighthouse delegations (lighthouse.ts): the managing tenant and the registration definition. */
  managedByTenantId: z.string().optional(),
  registrationDefinitionId: z.string().optional(),
});

export type ForeignPrincipalFinding = z.infer<typeof foreignPrincipalFindingSchema>;
