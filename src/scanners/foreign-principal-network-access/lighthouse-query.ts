import { z } from "zod";
import { GUID_PATTERN } from "../../validation";
import { WINDOW, text } from "../windows";
import { roleGuidOf } from "./query";

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
 * One row per assignment whose managing tenant is not provably the delegated subscription's own
 * (leftouter: an assignment whose definition Resource Graph did not return is kept, and named as
 * not judged, never dropped). The authorizations travel as arrays and are expanded by
 * `authorizationsOf`: an eligible authorization is told apart by the array it is in, since
 * `justInTimeAccessPolicy` is optional in the spec, and mv-expand would cut past 400.
 */
export const LIGHTHOUSE_CANDIDATES_QUERY = `managedserviceresources
| where type =~ 'microsoft.managedservices/registrationassignments'
| project assignmentId = id, subscriptionId, tenantId,
    registrationDefinitionId = tolower(tostring(properties.registrationDefinitionId))
| join kind=leftouter (
    managedserviceresources
    | where type =~ 'microsoft.managedservices/registrationdefinitions'
    | project registrationDefinitionId = tolower(id),
        managedByTenantId = tolower(tostring(properties.managedByTenantId)),
        authorizations = properties.authorizations,
        eligibleAuthorizations = properties.eligibleAuthorizations
  ) on registrationDefinitionId
| where isempty(managedByTenantId) or managedByTenantId != tolower(tenantId)
| project assignmentId, subscriptionId, tenantId, registrationDefinitionId, managedByTenantId,
    authorizations, eligibleAuthorizations
| order by assignmentId asc`;

/** How many authorizations of one definition are judged; past it the check says what it left out. */
export const MAX_AUTHORIZATIONS = WINDOW;

export const lighthouseAssignmentRowSchema = z.object({
  assignmentId: z.string().min(1),
  subscriptionId: z.string().min(1),
  tenantId: z.string().min(1),
  registrationDefinitionId: text,
  managedByTenantId: text,
  authorizations: z.array(z.unknown()).nullish(),
  eligibleAuthorizations: z.array(z.unknown()).nullish(),
});
export type LighthouseAssignmentRow = z.infer<typeof lighthouseAssignmentRowSchema>;

/** `Authorization` / `EligibleAuthorization` of the spec: principalId and roleDefinitionId are required. */
const authorizationSchema = z.looseObject({
  principalId: z.string().regex(GUID_PATTERN),
  principalIdDisplayName: z.string().nullish(),
  // A built-in role's GUID, or a full role definition id ending in one.
  roleDefinitionId: z
    .string()
    .max(512)
    .refine((id) => GUID_PATTERN.test(roleGuidOf(id))),
});

/** One authorization of one assignment: what `classifyDelegation` judges. */
export interface LighthouseRow {
  assignmentId: string;
  subscriptionId: string;
  tenantId: string;
  registrationDefinitionId: string;
  managedByTenantId: string;
  principalId: string;
  principalDisplayName: string;
  roleDefinitionId: string;
  /** From `eligibleAuthorizations` (PIM, just-in-time), not `authorizations`. */
  eligible: boolean;
}

/**
 * Each authorization of an assignment, active then eligible, in a stable order; `unread` says
 * what could not be judged (no definition returned, an item without principal or role, items past
 * MAX_AUTHORIZATIONS).
 */
export function authorizationsOf(row: LighthouseAssignmentRow): { rows: LighthouseRow[]; unread: string[] } {
  if (
    !GUID_PATTERN.test(row.managedByTenantId) ||
    (row.authorizations == null && row.eligibleAuthorizations == null)
  ) {
    return {
      rows: [],
      unread: [
        `Lighthouse assignment ${row.assignmentId}: Resource Graph returned no registration definition ${row.registrationDefinitionId || "(none named)"} with a managing tenant and authorizations; its delegation is not judged`,
      ],
    };
  }
  const rows: LighthouseRow[] = [];
  const unread: string[] = [];
  const lists = [
    { items: row.authorizations ?? [], eligible: false, name: "authorizations" },
    { items: row.eligibleAuthorizations ?? [], eligible: true, name: "eligibleAuthorizations" },
  ];
  for (const { items, eligible, name } of lists) {
    for (const [index, item] of items.entries()) {
      if (index >= MAX_AUTHORIZATIONS) {
        unread.push(
          `Lighthouse assignment ${row.assignmentId}: ${items.length - MAX_AUTHORIZATIONS} of ${items.length} ${name} past the first ${MAX_AUTHORIZATIONS} not judged`,
        );
        break;
      }
      const parsed = authorizationSchema.safeParse(item);
      if (!parsed.success) {
        unread.push(
          `Lighthouse assignment ${row.assignmentId}: ${name}[${index}] has no principalId or roleDefinitionId (GUIDs); not judged`,
        );
        continue;
      }
      rows.push({
        assignmentId: row.assignmentId,
        subscriptionId: row.subscriptionId,
        tenantId: row.tenantId,
        registrationDefinitionId: row.registrationDefinitionId,
        managedByTenantId: row.managedByTenantId,
        principalId: parsed.data.principalId,
        principalDisplayName: parsed.data.principalIdDisplayName ?? "",
        roleDefinitionId: parsed.data.roleDefinitionId,
        eligible,
      });
    }
  }
  return { rows, unread };
}
