import { z } from "zod";
import { GUID_PATTERN } from "../../validation";
import { text } from "../windows";

/**
 * Built-in and custom role definitions, with their permissions (a few hundred rows in all). Read
 * over the whole tenant (built-in ones live in no subscription, so a subscription-scoped query
 * never returns them) and over the scan's scope (custom roles of its subscriptions).
 */
export const ROLE_DEFINITIONS_QUERY = `authorizationresources
| where type =~ 'microsoft.authorization/roledefinitions'
| project id, roleName = tostring(properties.roleName), permissions = properties.permissions
| order by id asc`;

/** The definitions of these roles only (custom roles the tenant-wide read did not show, e.g. past the cut-off). */
export function roleDefinitionsQuery(roleGuids: readonly string[]): string {
  for (const guid of roleGuids)
    if (!GUID_PATTERN.test(guid)) throw new Error(`'${guid}' is not a role definition GUID.`);
  return `authorizationresources
| where type =~ 'microsoft.authorization/roledefinitions' and tolower(name) in~ (${roleGuids.map((g) => `'${g}'`).join(", ")})
| project id, roleName = tostring(properties.roleName), permissions = properties.permissions
| order by id asc`;
}

/** The query for one role (exported so the query syntax test checks it). */
export const ROLE_DEFINITIONS_BY_GUID_QUERY = roleDefinitionsQuery(["4d97b98b-1d4f-4787-a291-c67834d212e7"]);

export const roleDefinitionRowSchema = z.object({
  id: z.string().min(1),
  roleName: text,
  permissions: z
    .array(
      z.looseObject({
        actions: z.array(z.string()).nullish(),
        notActions: z.array(z.string()).nullish(),
      }),
    )
    .nullish(),
});
export type RoleDefinitionRow = z.infer<typeof roleDefinitionRowSchema>;

/** A role definition's GUID: the last segment of its id, which differs by scope for built-in roles. */
export const roleGuidOf = (roleDefinitionId: string) =>
  (roleDefinitionId.split("/").pop() ?? "").toLowerCase();

/** Principal types whose assignments can put someone from another tenant in reach of a peering. */
const PRINCIPAL_TYPES = "'User', 'ServicePrincipal', 'ForeignGroup', 'Group'";

/**
 * Which roles the candidate assignments name: so an assignment of a role whose definition the
 * scan could not see is still read (and kept unresolved), never silently left out.
 */
export const ROLE_GUIDS_IN_USE_QUERY = `authorizationresources
| where type =~ 'microsoft.authorization/roleassignments'
| where tostring(properties.principalType) in~ (${PRINCIPAL_TYPES})
| extend roleGuid = tostring(split(tolower(tostring(properties.roleDefinitionId)), 'roledefinitions/')[1])
| summarize assignments = count() by roleGuid`;

export const roleGuidRowSchema = z.object({ roleGuid: text, assignments: z.number().int() });

/**
 * Role assignments of roles that grant peering (or whose definition is unknown), to principals
 * that can come from another tenant (users, service principals, groups, foreign groups). Only
 * those leave Resource Graph; whether a user is external is for Microsoft Graph to say.
 */
export function roleAssignmentCandidatesQuery(roleGuids: readonly string[]): string {
  for (const guid of roleGuids)
    if (!GUID_PATTERN.test(guid)) throw new Error(`'${guid}' is not a role definition GUID.`);
  const list = roleGuids.map((g) => `'${g}'`).join(", ");
  return `authorizationresources
| where type =~ 'microsoft.authorization/roleassignments'
| extend principalType = tostring(properties.principalType),
    roleDefinitionId = tostring(properties.roleDefinitionId)
| extend roleGuid = tostring(split(tolower(roleDefinitionId), 'roledefinitions/')[1])
| where principalType in~ (${PRINCIPAL_TYPES}) and roleGuid in~ (${list})
| project id, subscriptionId, tenantId,
    principalId = tostring(properties.principalId),
    principalType,
    roleDefinitionId,
    scope = tostring(properties.scope)
| order by id asc`;
}

/** The query for one role (exported so the query syntax test checks it). */
export const ROLE_ASSIGNMENT_CANDIDATES_QUERY = roleAssignmentCandidatesQuery([
  "4d97b98b-1d4f-4787-a291-c67834d212e7",
]);

export const roleAssignmentRowSchema = z.object({
  id: z.string().min(1, "the role assignment has no id"),
  subscriptionId: text,
  tenantId: z.string().min(1),
  principalId: z.string().min(1),
  principalType: text,
  roleDefinitionId: z.string().min(1),
  scope: z.string().min(1),
});
export type RoleAssignmentRow = z.infer<typeof roleAssignmentRowSchema>;
