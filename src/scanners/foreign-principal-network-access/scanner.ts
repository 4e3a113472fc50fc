import type { DirectoryObject } from "../../azure/directory-objects";
import { errorMessage } from "../../errors";
import { cleanText, MAX_NAME_LENGTH } from "../../text";
import { findingId, type Severity, type Status } from "../finding";
import {
  isMicrosoftTenant,
  judgementText,
  rulesOf,
  statusOf,
  tenantNames,
  type JudgeRules,
  type RemoteTenant,
} from "../judge";
import type { Scanner, ScanContext, ScanError, ScannerResult } from "../scanner";
import type { ForeignPrincipalFinding } from "./finding";
import { FOREIGN_PRINCIPAL_CHECK } from "./metadata";
import { grantingActions } from "./permissions";
import { lighthouseFindings } from "./lighthouse";
import {
  ROLE_DEFINITIONS_QUERY,
  roleAssignmentCandidatesQuery,
  roleAssignmentRowSchema,
  roleDefinitionRowSchema,
  roleGuidOf,
  type RoleAssignmentRow,
} from "./query";

/** Role GUIDs per query: keeps each query's text well inside Resource Graph's request size. */
const ROLES_PER_QUERY = 200;

export type ScopeLevel = "management-group" | "subscription" | "resource-group" | "virtual-network";

/** Where an assignment applies; null for a resource that is not a VNet (no peering can be made there). */
export function scopeLevel(scope: string): ScopeLevel | null {
  const s = scope.toLowerCase();
  if (s.startsWith("/providers/microsoft.management/managementgroups/")) return "management-group";
  if (/^\/subscriptions\/[^/]+\/?$/.test(s)) return "subscription";
  if (/^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/?$/.test(s)) return "resource-group";
  if (
    /^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.network\/virtualnetworks\/[^/]+$/.test(
      s,
    )
  )
    return "virtual-network";
  return null;
}

export function principalSeverity(status: Status, level: ScopeLevel): Severity {
  if (status === "allowed") return "info";
  return level === "management-group" || level === "subscription"
    ? "high"
    : level === "resource-group"
      ? "medium"
      : "low";
}

/** How a principal comes from another tenant, or null for one of our own. */
export function principalKindOf(
  row: Pick<RoleAssignmentRow, "principalType" | "tenantId">,
  object: DirectoryObject | undefined,
): { kind: ForeignPrincipalFinding["principalKind"]; homeTenantId: string | null } | null {
  if (row.principalType.toLowerCase() === "foreigngroup")
    return { kind: "foreign-group", homeTenantId: null };
  if (!object) return null;
  const type = object["@odata.type"].toLowerCase();
  if (type === "#microsoft.graph.user")
    return object.userType?.toLowerCase() === "guest" ? { kind: "guest-user", homeTenantId: null } : null;
  if (type === "#microsoft.graph.serviceprincipal") {
    const owner = object.appOwnerOrganizationId?.toLowerCase() ?? null;
    return owner && owner !== row.tenantId.toLowerCase()
      ? { kind: "foreign-service-principal", homeTenantId: owner }
      : null;
  }
  return null;
}

export interface Grant {
  roleName: string;
  grantingActions: string[];
}

/** Judges one assignment whose principal Graph described; null when it is not a foreign principal. */
export function classifyAssignment(
  row: RoleAssignmentRow,
  object: DirectoryObject | undefined,
  grant: Grant,
  home: RemoteTenant,
  rules: JudgeRules,
): ForeignPrincipalFinding | null {
  const level = scopeLevel(row.scope);
  const principal = principalKindOf(row, object);
  if (!level || !principal) return null;
  const relation = isMicrosoftTenant(principal.homeTenantId, rules) ? "microsoft-managed" : "cross-tenant";
  const { status, entry } = statusOf(
    relation,
    {
      kind: "foreign-principal-network-access",
      localResourceId: row.scope,
      remoteTenantId: principal.homeTenantId,
      remoteSubscriptionId: "",
      remoteResourceId: "",
      principalId: row.principalId,
    },
    rules,
  );
  const displayName = object?.displayName ? cleanText(object.displayName, MAX_NAME_LENGTH) : null;
  const finding: Omit<ForeignPrincipalFinding, "summary"> = {
    id: findingId("foreign-principal-network-access", row.id),
    kind: "foreign-principal-network-access",
    resourceId: row.id,
    localSubscriptionId: row.subscriptionId,
    localTenantId: row.tenantId,
    remoteSubscriptionId: "",
    remoteTenantId: principal.homeTenantId,
    remoteTenantName: principal.homeTenantId ? home.tenantName : null,
    relation,
    status,
    allowlistEntryId: entry?.id ?? null,
    severity: principalSeverity(status, level),
    riskFactors: [`${level}-scope`],
    principalId: row.principalId,
    principalType: row.principalType,
    principalKind: principal.kind,
    principalDisplayName: displayName,
    principalHomeTenantId: principal.homeTenantId,
    roleDefinitionId: row.roleDefinitionId,
    roleName: grant.roleName,
    scope: row.scope,
    grantingActions: grant.grantingActions,
  };
  const who = {
    "guest-user": "Guest user",
    "foreign-service-principal": "Service principal of another tenant's app",
    "foreign-group": "Foreign group",
    "lighthouse-delegation": "Lighthouse delegation",
  }[principal.kind];
  const from = principal.homeTenantId
    ? ` (home tenant ${home.tenantName ? `${home.tenantName}, ` : ""}${principal.homeTenantId})`
    : "";
  const summary =
    `${who} '${displayName ?? row.principalId}'${from} holds '${grant.roleName}' on ${level.replace("-", " ")} ${row.scope}, ` +
    `which can create VNet peerings (${grant.grantingActions.join(", ")}), ${judgementText(status, entry)}.`;
  return { ...finding, summary };
}

async function scanPrincipals(context: ScanContext): Promise<ScannerResult> {
  const source = FOREIGN_PRINCIPAL_CHECK.id;
  const errors: ScanError[] = [];
  const failed = (message: string) => ({
    findings: [],
    counts: {},
    errors: [...errors, { source, message }],
  });

  // Which roles grant peering: judged here, so wildcards and notActions follow Azure's rules.
  const grants = new Map<string, Grant>();
  try {
    const definitions = await context.queryAll(
      "role definitions",
      ROLE_DEFINITIONS_QUERY,
      roleDefinitionRowSchema,
    );
    for (const bad of definitions.unreadable) errors.push({ source, message: bad.message });
    for (const row of definitions.rows) {
      const granting = grantingActions(row.permissions ?? []);
      if (granting.length > 0)
        grants.set(roleGuidOf(row.id), {
          roleName: row.roleName || roleGuidOf(row.id),
          grantingActions: granting,
        });
    }
  } catch (error) {
    return failed(`Reading role definitions from Resource Graph failed: ${errorMessage(error)}`);
  }

  const rows: RoleAssignmentRow[] = [];
  const guids = [...grants.keys()];
  for (let start = 0; start < guids.length; start += ROLES_PER_QUERY) {
    try {
      const result = await context.queryAll(
        "role assignments",
        roleAssignmentCandidatesQuery(guids.slice(start, start + ROLES_PER_QUERY)),
        roleAssignmentRowSchema,
      );
      rows.push(...result.rows);
      for (const bad of result.unreadable) errors.push({ source, message: bad.message });
    } catch (error) {
      return failed(`Reading role assignments from Resource Graph failed: ${errorMessage(error)}`);
    }
  }
  const candidates = rows.filter((row) => scopeLevel(row.scope) !== null);

  const ids = [...new Set(candidates.map((row) => row.principalId.toLowerCase()))];
  let objects = new Map<string, DirectoryObject>();
  if (ids.length > 0) {
    let answer;
    try {
      answer = await context.directory.getByIds(ids);
    } catch (error) {
      return failed(errorMessage(error));
    }
    // Without directory rights the check cannot tell guests from members: skipped, not failed.
    if ("denied" in answer)
      return { findings: [], counts: { roleAssignments: candidates.length }, errors, skipped: answer.denied };
    for (const message of answer.unreadable) errors.push({ source, message });
    objects = new Map(answer.objects.map((o) => [o.id.toLowerCase(), o]));
  }

  const rules = rulesOf(context);
  const lighthouse = await lighthouseFindings(context, grants, rules, errors);
  const homes = candidates.map(
    (row) => principalKindOf(row, objects.get(row.principalId.toLowerCase()))?.homeTenantId ?? null,
  );
  const named = await tenantNames(homes, context);
  const findings = [];
  for (const [i, row] of candidates.entries()) {
    try {
      const finding = classifyAssignment(
        row,
        objects.get(row.principalId.toLowerCase()),
        grants.get(roleGuidOf(row.roleDefinitionId))!,
        named[i]!,
        rules,
      );
      if (finding) findings.push(finding);
    } catch (error) {
      errors.push({ source, message: `Role assignment ${row.id}: ${errorMessage(error)}` });
    }
  }
  return { findings: [...findings, ...lighthouse], counts: { roleAssignments: candidates.length }, errors };
}

export const foreignPrincipalScanner: Scanner = { check: FOREIGN_PRINCIPAL_CHECK, scan: scanPrincipals };
