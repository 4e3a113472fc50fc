import { z } from "zod";
import { WINDOW, text } from "../windows";

/**
 * Azure Lighthouse: a registration definition (`Microsoft.ManagedServices/registrationDefinitions`,
 * subscription-level) names the managing tenant (`properties.managedByTenantId`) and its principals'
 * roles (`properties.authorizations[]`, and `properties.eligibleAuthorizations[]` for PIM, which carry
 * `justInTimeAccessPolicy`); a registration assignment (`…/registrationAssignments`, on a
 * subscription or resource group) applies it (`properties.registrationDefinitionId`)
 * (learn.microsoft.com/azure/templates/microsoft.managedservices/registrationdefinitions and
 * …/registrationassignments). Read here from Resource Graph's `resources` table, where the estate
 * holds them (CONTRACTS §5): each authorization of each assignment whose managing tenant is not the
 * delegated subscription's tenant, up to 400 a definition (mv-expand's limit).
 */
export const LIGHTHOUSE_CANDIDATES_QUERY = `resources
| where type =~ 'microsoft.managedservices/registrationassignments'
| project assignmentId = id, subscriptionId, tenantId,
    registrationDefinitionId = tolower(tostring(properties.registrationDefinitionId))
| join kind=inner (
    resources
    | where type =~ 'microsoft.managedservices/registrationdefinitions'
    | project registrationDefinitionId = tolower(id),
        managedByTenantId = tolower(tostring(properties.managedByTenantId)),
        authorizations = array_concat(coalesce(properties.authorizations, dynamic([])), coalesce(properties.eligibleAuthorizations, dynamic([])))
  ) on registrationDefinitionId
| where managedByTenantId != tolower(tenantId)
| mv-expand authorization = authorizations limit ${WINDOW}
| project assignmentId, subscriptionId, tenantId, registrationDefinitionId, managedByTenantId,
    principalId = tostring(authorization.principalId),
    principalDisplayName = tostring(authorization.principalIdDisplayName),
    roleDefinitionId = tostring(authorization.roleDefinitionId),
    eligible = isnotnull(authorization.justInTimeAccessPolicy)
| order by assignmentId asc, principalId asc, roleDefinitionId asc`;

export const lighthouseRowSchema = z.object({
  assignmentId: z.string().min(1),
  subscriptionId: z.string().min(1),
  tenantId: z.string().min(1),
  registrationDefinitionId: text,
  managedByTenantId: text,
  principalId: text,
  principalDisplayName: text,
  roleDefinitionId: text,
  eligible: z.boolean().nullish(),
});

export type LighthouseRow = z.infer<typeof lighthouseRowSchema>;
