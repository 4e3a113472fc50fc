import { z } from "zod";
import { WINDOW, text } from "../windows";

/**
 * Azure Lighthouse: a registration definition (`Microsoft.ManagedServices/registrationDefinitions`,
 * subscription-level) names the managing tenant (`properties.managedByTenantId`) and its principals'
 * roles (`properties.authorizations[]`, and `properties.eligibleAuthorizations[]` for PIM); a
 * registration assignment (`…/registrationAssignments`, on a subscription or resource group) applies
 * it (`properties.registrationDefinitionId`) (ARM REST 2022-10-01, azure-rest-api-specs
 * specification/managedservices/…/stable/2022-10-01/managedservices.json: `Authorization` and
 * `EligibleAuthorization` both require `principalId` and `roleDefinitionId`).
 *
 * Where they are read: Resource Graph keeps both types in its `managedserviceresources` table, not
 * in `resources` (learn.microsoft.com/azure/governance/resource-graph/reference/supported-tables-resources,
 * section "managedserviceresources": `microsoft.managedservices/registrationassignments` and
 * `microsoft.managedservices/registrationdefinitions`; neither is in the `resources` list). A query
 * on `resources` would find no delegation at all, silently. Its rows carry the resource's ARM
 * properties, as every Resource Graph table does. The definition lives in the delegated
 * subscription, so one join inside the table pairs each assignment with it. Needs only read access
 * to the subscription (Reader's read-everything action covers `Microsoft.ManagedServices/registrationAssignments/read`
 * and `…/registrationDefinitions/read`), the access the scan already has.
 *
 * Each authorization of each assignment whose managing tenant is not the delegated subscription's
 * tenant, up to 400 a definition (mv-expand's limit).
 */
export const LIGHTHOUSE_CANDIDATES_QUERY = `managedserviceresources
| where type =~ 'microsoft.managedservices/registrationassignments'
| project assignmentId = id, subscriptionId, tenantId,
    registrationDefinitionId = tolower(tostring(properties.registrationDefinitionId))
| join kind=inner (
    managedserviceresources
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
