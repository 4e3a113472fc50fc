import { z } from "zod";
import { GUID_PATTERN } from "../../validation";

/**
 * The Log Analytics queries of the evidence step: one per table per scan, bounded by the findings'
 * tenants (sign-ins) or resources (the Activity log). Exported `*_LOGS_KQL` examples are checked
 * by the Kusto parser in test/unit/log-analytics-kql.test.ts.
 */

/** Azure Service Management API: the app a sign-in into Azure Resource Manager names (FACTS.md, "Entra baselines"). */
export const AZURE_SERVICE_MANAGEMENT_APP_ID = "797f4846-ba00-4fd7-ba43-dac1f8f63013";

/** Interactive and non-interactive user sign-ins, each its own table (azure-monitor/reference/tables). */
export const SIGN_IN_TABLES = ["SigninLogs", "AADNonInteractiveUserSignInLogs"] as const;
export type SignInTable = (typeof SIGN_IN_TABLES)[number];

/** User names kept per tenant and direction: enough to recognise who, small enough for a card. */
export const MAX_USERS = 50;
/** Resources whose creator one Activity log query asks about; the query text stays well under the API's limits. */
export const MAX_CREATOR_RESOURCES = 300;

/** The writes that create what the checks find (operation names as the Activity log gives them). */
export const CREATING_OPERATIONS = [
  "MICROSOFT.NETWORK/VIRTUALNETWORKS/VIRTUALNETWORKPEERINGS/WRITE",
  "MICROSOFT.NETWORK/PRIVATEENDPOINTS/WRITE",
] as const;

const quoted = (values: readonly string[]) => values.map((v) => `'${v}'`).join(", ");

/**
 * Successful sign-ins between this tenant and the given tenants over the query's time range:
 * inbound, users of those tenants into this tenant's Azure Resource Manager (`ResourceTenantId ==
 * AADTenantId`, the write-up's `HomeTenantId != AADTenantId`); outbound, this tenant's users into
 * those tenants. One row per direction and tenant with the count, first, last and users.
 */
export function signInsQuery(table: SignInTable, tenants: readonly string[]): string {
  if (!SIGN_IN_TABLES.includes(table)) throw new Error(`'${table}' is not a sign-in table.`);
  if (tenants.length === 0) throw new Error("A sign-in query needs at least one tenant.");
  for (const t of tenants) if (!GUID_PATTERN.test(t)) throw new Error(`'${t}' is not a tenant id.`);
  const list = quoted(tenants.map((t) => t.toLowerCase()));
  return `${table}
| where tostring(ResultType) == '0'
| where (HomeTenantId in~ (${list}) and ResourceTenantId == AADTenantId and ResourceIdentity == '${AZURE_SERVICE_MANAGEMENT_APP_ID}')
    or (HomeTenantId == AADTenantId and ResourceTenantId in~ (${list}))
| extend Direction = iff(HomeTenantId == AADTenantId, 'outbound', 'inbound')
| extend ForeignTenantId = tolower(iff(Direction == 'outbound', ResourceTenantId, HomeTenantId))
| summarize SignIns = count(), First = min(TimeGenerated), Last = max(TimeGenerated), Users = make_set(UserPrincipalName, ${MAX_USERS}) by Direction, ForeignTenantId`;
}

/** An ARM id safe to quote in KQL: printable ASCII without quotes, backslashes or spaces. */
export const QUOTABLE_RESOURCE_ID = /^\/subscriptions\/[!#-&(-[\]-~]+$/i;

/**
 * Every successful peering and private endpoint write to the given resources in the Activity log,
 * oldest first, with the caller and the claims that say its home tenant: `tenantid` is the tenant
 * signed in to, `identityprovider` (for a guest) the tenant the caller comes from.
 */
export function creatorQuery(resourceIds: readonly string[]): string {
  if (resourceIds.length === 0) throw new Error("A creator query needs at least one resource.");
  for (const id of resourceIds)
    if (!QUOTABLE_RESOURCE_ID.test(id)) throw new Error(`'${id}' cannot be quoted in KQL.`);
  return `AzureActivity
| where OperationNameValue in~ (${quoted(CREATING_OPERATIONS)})
| where ActivityStatusValue in~ ('Success', 'Succeeded')
| where _ResourceId in~ (${quoted(resourceIds.map((id) => id.toLowerCase()))})
| project TimeGenerated, ResourceId = tolower(_ResourceId), Caller,
    CallerTenantId = tostring(Claims_d['http://schemas.microsoft.com/identity/claims/tenantid']),
    IdentityProvider = tostring(Claims_d['http://schemas.microsoft.com/identity/claims/identityprovider']),
    CallerObjectId = tostring(Claims_d['http://schemas.microsoft.com/identity/claims/objectidentifier']),
    CallerName = tostring(Claims_d['name'])
| order by TimeGenerated asc`;
}

const EXAMPLE_TENANT = "31ca78c2-d833-433a-9977-88e160bd4ac0";
/** The queries for one tenant and one peering (exported so the query syntax test checks them). */
export const SIGN_INS_LOGS_KQL = signInsQuery("SigninLogs", [EXAMPLE_TENANT]);
export const NON_INTERACTIVE_SIGN_INS_LOGS_KQL = signInsQuery("AADNonInteractiveUserSignInLogs", [
  EXAMPLE_TENANT,
  "9c8b7a65-4d3e-4f21-8a0b-1c2d3e4f5a6b",
]);
export const CREATOR_LOGS_KQL = creatorQuery([
  "/subscriptions/31bdf544-8e8e-4f5b-bb31-3316a05e5581/resourceGroups/demo-test-rg/providers/Microsoft.Network/virtualNetworks/vnet-demo-test/virtualNetworkPeerings/TenantB2TenantA",
]);

const text = z
  .string()
  .nullish()
  .transform((s) => s ?? "");

/** One row of a sign-in query. */
export const signInRowSchema = z.object({
  Direction: z.enum(["inbound", "outbound"]),
  ForeignTenantId: z.string().regex(GUID_PATTERN),
  SignIns: z.coerce.number().int().min(0),
  First: z.string().nullish(),
  Last: z.string().nullish(),
  Users: z
    .union([z.array(z.unknown()), z.string(), z.null()])
    .optional()
    .transform((u) => (Array.isArray(u) ? u : typeof u === "string" ? [u] : []).map(String)),
});
export type SignInRow = z.infer<typeof signInRowSchema>;

/** One row of the creator query. */
export const creatorRowSchema = z.object({
  TimeGenerated: z.string().min(1),
  ResourceId: z.string().min(1),
  Caller: text,
  CallerTenantId: text,
  IdentityProvider: text,
  CallerObjectId: text,
  CallerName: text,
});
export type CreatorRow = z.infer<typeof creatorRowSchema>;
