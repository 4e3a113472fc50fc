import { errorMessage } from "../../errors";
import { cleanText, MAX_NAME_LENGTH } from "../../text";
import { findingId } from "../finding";
import { isMicrosoftTenant, judgementText, statusOf, tenantNames, type JudgeRules } from "../judge";
import type { ScanContext, ScanError } from "../scanner";
import type { ForeignPrincipalFinding } from "./finding";
import {
  LIGHTHOUSE_CANDIDATES_QUERY,
  authorizationsOf,
  lighthouseAssignmentRowSchema,
  type LighthouseRow,
} from "./lighthouse-query";
import { roleGuidOf } from "./query";
import { principalSeverity, scopeLevel, type Grant } from "./scanner";

const SOURCE = "foreign-principal-network-access";

/** The assignment's scope: its id up to `/providers/Microsoft.ManagedServices/…`. */
export const assignmentScopeOf = (assignmentId: string) =>
  assignmentId.replace(/\/providers\/microsoft\.managedservices\/registrationassignments\/[^/]+$/i, "");

/**
 * Judges one authorization of a Lighthouse delegation; null when its role cannot peer. `grant`
 * undefined: the role's definition was not visible to the scan, so whether it can peer is not
 * known, and the delegation is kept `unresolved` rather than dropped.
 */
export function classifyDelegation(
  row: LighthouseRow,
  grant: Grant | null | undefined,
  managingTenantName: string | null,
  rules: JudgeRules,
): ForeignPrincipalFinding | null {
  const scope = assignmentScopeOf(row.assignmentId);
  const level = scopeLevel(scope);
  if (grant === null || !level || !row.managedByTenantId) return null;
  const relation = !grant
    ? "unresolved"
    : isMicrosoftTenant(row.managedByTenantId, rules)
      ? "microsoft-managed"
      : "cross-tenant";
  const { status, entry } = statusOf(
    relation,
    {
      kind: SOURCE,
      localResourceId: scope,
      remoteTenantId: row.managedByTenantId,
      remoteSubscriptionId: "",
      remoteResourceId: "",
      principalId: row.principalId,
    },
    rules,
  );
  const displayName = row.principalDisplayName ? cleanText(row.principalDisplayName, MAX_NAME_LENGTH) : null;
  const finding: Omit<ForeignPrincipalFinding, "summary"> = {
    id: findingId(
      SOURCE,
      `${row.assignmentId}|${row.principalId}|${roleGuidOf(row.roleDefinitionId)}|${row.eligible ? "eligible" : "active"}`,
    ),
    kind: SOURCE,
    resourceId: row.assignmentId,
    localSubscriptionId: row.subscriptionId,
    localTenantId: row.tenantId,
    remoteSubscriptionId: "",
    remoteTenantId: row.managedByTenantId,
    remoteTenantName: managingTenantName,
    relation,
    status,
    allowlistEntryId: entry?.id ?? null,
    severity: principalSeverity(status, level),
    riskFactors: [`${level}-scope`, ...(row.eligible ? ["eligible-authorization"] : [])],
    principalId: row.principalId,
    principalType: "LighthouseAuthorization",
    principalKind: "lighthouse-delegation",
    principalDisplayName: displayName,
    principalHomeTenantId: row.managedByTenantId,
    roleDefinitionId: row.roleDefinitionId,
    roleName: grant?.roleName ?? "unknown role",
    scope,
    grantingActions: grant?.grantingActions ?? [],
    managedByTenantId: row.managedByTenantId,
    registrationDefinitionId: row.registrationDefinitionId,
  };
  const tenant = managingTenantName
    ? `${managingTenantName} (${row.managedByTenantId})`
    : row.managedByTenantId;
  const summary =
    `Lighthouse delegation to tenant ${tenant} gives '${displayName ?? row.principalId}' ` +
    `${row.eligible ? "an eligible (PIM) " : ""}'${grant?.roleName ?? row.roleDefinitionId}' on ${level.replace("-", " ")} ${scope}, ` +
    (grant
      ? `which can create VNet peerings (${grant.grantingActions.join(", ")}), `
      : `but the role's definition was not visible to the scan, so whether it can create VNet peerings is unresolved, `) +
    `${judgementText(status, entry)}.`;
  return { ...finding, summary };
}

/** The error source of a failed delegation read: not the check's id, so the check shows `degraded`. */
export const LIGHTHOUSE_SOURCE = "lighthouse-delegations";

/**
 * Every Lighthouse authorization whose role can peer, as foreign-principal findings: one Resource
 * Graph read (`managedserviceresources`). What it cannot judge goes to `degraded`: the read failed
 * (then also an error, so the scan is incomplete and no stored delegation is resolved), a
 * definition or authorization Resource Graph left out, a role whose definition was not visible.
 */
export async function lighthouseFindings(
  context: ScanContext,
  /** Role GUID -> what it grants (null: it cannot peer); a GUID not here had no visible definition. */
  grants: ReadonlyMap<string, Grant | null>,
  rules: JudgeRules,
  errors: ScanError[],
  degraded: string[],
): Promise<ForeignPrincipalFinding[]> {
  const rows: LighthouseRow[] = [];
  try {
    const result = await context.queryAll(
      "Lighthouse delegations",
      LIGHTHOUSE_CANDIDATES_QUERY,
      lighthouseAssignmentRowSchema,
    );
    for (const bad of result.unreadable) errors.push({ source: SOURCE, message: bad.message });
    for (const assignment of result.rows) {
      const read = authorizationsOf(assignment);
      rows.push(...read.rows);
      degraded.push(...read.unread);
    }
  } catch (error) {
    const message = `Reading Lighthouse delegations from Resource Graph (managedserviceresources) failed: ${errorMessage(error)}`;
    degraded.push(`${message}; delegations were not judged, and none is resolved`);
    errors.push({ source: LIGHTHOUSE_SOURCE, message });
    return [];
  }
  const names = await tenantNames(
    rows.map((row) => row.managedByTenantId || null),
    context,
  );
  const findings: ForeignPrincipalFinding[] = [];
  const unknownRoles = new Set<string>();
  for (const [i, row] of rows.entries()) {
    try {
      const grant = grants.get(roleGuidOf(row.roleDefinitionId));
      if (grant === undefined) unknownRoles.add(roleGuidOf(row.roleDefinitionId));
      const finding = classifyDelegation(row, grant, names[i]!.tenantName, rules);
      if (finding) findings.push(finding);
    } catch (error) {
      errors.push({
        source: SOURCE,
        message: `Lighthouse delegation ${row.assignmentId}: ${errorMessage(error)}`,
      });
    }
  }
  if (unknownRoles.size > 0)
    degraded.push(
      `${unknownRoles.size} role definition(s) named by Lighthouse authorizations not visible to the scan (${[...unknownRoles].slice(0, 3).join(", ")}${unknownRoles.size > 3 ? ", …" : ""}); those delegations are kept unresolved`,
    );
  return findings;
}
