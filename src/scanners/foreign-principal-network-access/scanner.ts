import type { DirectoryAnswer, DirectoryObject } from "../../azure/directory-objects";
import type { QueryAll, QueryTenant } from "../../azure/resource-graph";
import { errorMessage } from "../../errors";
import { mapLimit } from "../../map-limit";
import { GUID_PATTERN } from "../../validation";
import { cleanText, MAX_NAME_LENGTH } from "../../text";
import { findingId, type Severity, type Status } from "../finding";
import { judgementText, rulesOf, statusOf, tenantNames, type JudgeRules, type RemoteTenant } from "../judge";
import type { Scanner, ScanContext, ScanError, ScannerResult } from "../scanner";
import type { ForeignPrincipalFinding } from "./finding";
import { FOREIGN_PRINCIPAL_CHECK } from "./metadata";
import { grantingActions } from "./permissions";
import { principalVerdict, type PrincipalVerdict } from "./principal";
import { lighthouseFindings } from "./lighthouse";
import {
  ROLE_DEFINITIONS_QUERY,
  ROLE_GUIDS_IN_USE_QUERY,
  roleAssignmentCandidatesQuery,
  roleAssignmentRowSchema,
  roleDefinitionRowSchema,
  roleDefinitionsQuery,
  roleGuidOf,
  roleGuidRowSchema,
  type RoleAssignmentRow,
  type RoleDefinitionRow,
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

export interface Grant {
  roleName: string;
  grantingActions: string[];
}

/** The group an assignment names, when the principal holds the role as one of its members. */
export interface ViaGroup {
  id: string;
  name: string | null;
}

const WHO: Record<ForeignPrincipalFinding["principalKind"], string> = {
  "guest-user": "Guest user",
  "external-member": "External member user",
  "foreign-service-principal": "Service principal of another tenant's app",
  "foreign-group": "Foreign group",
  "lighthouse-delegation": "Lighthouse delegation",
  unknown: "Principal",
};

/**
 * Judges one assignment (or one member of the group it names) whose principal is, or may be, from
 * another tenant. A role whose definition was not visible (`grant` null) or a principal Graph did
 * not describe makes the finding `unresolved`: kept, never dropped.
 */
export function classifyAssignment(
  row: RoleAssignmentRow,
  principal: { id: string; type: string; displayName: string | null; verdict: PrincipalVerdict },
  grant: Grant | null,
  home: RemoteTenant,
  rules: JudgeRules,
  via: ViaGroup | null = null,
): ForeignPrincipalFinding | null {
  const level = scopeLevel(row.scope);
  if (!level) return null;
  const { verdict } = principal;
  const relation =
    verdict.missing || !grant ? "unresolved" : verdict.microsoftApp ? "microsoft-managed" : "cross-tenant";
  const homeTenantId = home.tenantId;
  const { status, entry } = statusOf(
    relation,
    {
      kind: "foreign-principal-network-access",
      localResourceId: row.scope,
      remoteTenantId: homeTenantId,
      remoteSubscriptionId: "",
      remoteResourceId: "",
      principalId: principal.id,
    },
    rules,
  );
  const displayName = principal.displayName ? cleanText(principal.displayName, MAX_NAME_LENGTH) : null;
  const roleName = grant?.roleName ?? `unknown role ${roleGuidOf(row.roleDefinitionId)}`;
  const finding: Omit<ForeignPrincipalFinding, "summary"> = {
    id: findingId("foreign-principal-network-access", via ? `${row.id}#member/${principal.id}` : row.id),
    kind: "foreign-principal-network-access",
    resourceId: row.id,
    localSubscriptionId: row.subscriptionId,
    localTenantId: row.tenantId,
    remoteSubscriptionId: "",
    remoteTenantId: homeTenantId,
    remoteTenantName: homeTenantId ? home.tenantName : null,
    relation,
    status,
    allowlistEntryId: entry?.id ?? null,
    severity: principalSeverity(status, level),
    riskFactors: [`${level}-scope`, ...(via ? ["via-group"] : [])],
    principalId: principal.id,
    principalType: principal.type,
    principalKind: verdict.kind,
    principalDisplayName: displayName,
    principalHomeTenantId: homeTenantId,
    roleDefinitionId: row.roleDefinitionId,
    roleName,
    scope: row.scope,
    grantingActions: grant?.grantingActions ?? [],
    ...(via ? { viaGroupId: via.id, viaGroupName: via.name } : {}),
    ...(verdict.homeDomain ? { principalHomeDomain: verdict.homeDomain } : {}),
  };
  const from = homeTenantId
    ? ` (home tenant ${home.tenantName ? `${home.tenantName}, ` : ""}${homeTenantId})`
    : "";
  const through = via ? ` through group '${via.name ?? via.id}'` : "";
  const where = `on ${level.replace("-", " ")} ${row.scope}`;
  const why = verdict.missing
    ? `, but ${verdict.missing}, so whether it comes from another tenant is unresolved,`
    : !grant
      ? `, but its role definition was not visible to the scan, so whether it can create VNet peerings is unresolved,`
      : `, which can create VNet peerings (${grant.grantingActions.join(", ")}),`;
  const summary =
    `${WHO[verdict.kind]} '${displayName ?? principal.id}'${from} holds '${roleName}'${through} ${where}${why} ` +
    `${judgementText(status, entry)}.`;
  return { ...finding, summary };
}

/** Role GUID -> what it grants, from every definition read; roles that grant no peering are kept as known. */
function addDefinitions(rows: RoleDefinitionRow[], known: Map<string, Grant | null>): void {
  for (const row of rows) {
    const granting = grantingActions(row.permissions ?? []);
    known.set(
      roleGuidOf(row.id),
      granting.length > 0
        ? { roleName: row.roleName || roleGuidOf(row.id), grantingActions: granting }
        : null,
    );
  }
}

async function scanPrincipals(context: ScanContext): Promise<ScannerResult> {
  const source = FOREIGN_PRINCIPAL_CHECK.id;
  const errors: ScanError[] = [];
  const degraded: string[] = [];
  const failed = (message: string) => ({
    findings: [],
    counts: {},
    errors: [...errors, { source, message }],
  });

  // Which roles grant peering: judged here, so wildcards and notActions follow Azure's rules.
  // Built-in definitions live in no subscription: read over the tenant (a subscription-scoped query
  // never returns them); over the scan's scope only where the tenant could not be read.
  const known = new Map<string, Grant | null>();
  const readDefinitions = async (where: string, query: string, read: QueryAll | QueryTenant) => {
    try {
      const result = await read(`role definitions (${where})`, query, roleDefinitionRowSchema);
      addDefinitions(result.rows, known);
      for (const bad of result.unreadable) errors.push({ source, message: bad.message });
      return null;
    } catch (error) {
      return `reading role definitions over the ${where} failed: ${errorMessage(error)}`;
    }
  };
  const tenantProblem = context.queryTenant
    ? await readDefinitions("tenant", ROLE_DEFINITIONS_QUERY, context.queryTenant)
    : "no tenant-wide reader";
  if (tenantProblem) {
    const scopeProblem = await readDefinitions("scope", ROLE_DEFINITIONS_QUERY, context.queryAll);
    if (scopeProblem) return failed(`Resource Graph: ${tenantProblem}; ${scopeProblem}`);
    if (context.queryTenant)
      degraded.push(`Role definitions: ${tenantProblem}; built-in roles may be unknown`);
  }

  // Roles the candidate assignments name that no definition read explains: looked for over the
  // scope (custom roles of subscriptions the tenant-wide read did not cover), else kept unresolved.
  const missingRoles = new Set<string>();
  try {
    const inUse = await context.queryAll("roles in use", ROLE_GUIDS_IN_USE_QUERY, roleGuidRowSchema);
    for (const row of inUse.rows) {
      const guid = row.roleGuid.toLowerCase();
      if (GUID_PATTERN.test(guid) && !known.has(guid)) missingRoles.add(guid);
    }
    for (const bad of inUse.unreadable) errors.push({ source, message: bad.message });
  } catch (error) {
    errors.push({ source, message: `Reading which roles are assigned failed: ${errorMessage(error)}` });
  }
  if (missingRoles.size > 0 && !tenantProblem) {
    const problem = await readDefinitions(
      "scope",
      roleDefinitionsQuery([...missingRoles].slice(0, ROLES_PER_QUERY)),
      context.queryAll,
    );
    if (problem) degraded.push(`Role definitions: ${problem}`);
    for (const guid of [...missingRoles]) if (known.has(guid)) missingRoles.delete(guid);
  }
  if (missingRoles.size > 0)
    degraded.push(
      `${missingRoles.size} assigned role definition(s) not visible to the scan (${[...missingRoles].slice(0, 3).join(", ")}${missingRoles.size > 3 ? ", …" : ""}); their assignments are kept unresolved`,
    );

  const rows: RoleAssignmentRow[] = [];
  const guids = [...[...known].filter(([, grant]) => grant !== null).map(([guid]) => guid), ...missingRoles];
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
  const counts = { roleAssignments: candidates.length };

  // Users and apps are read where $select is documented (a user's deciding fields are not in v1.0's
  // default set; an app's owner tenant is asked for by name too); groups through getByIds, whose
  // default answer carries their type and name.
  const ofType = (type: string) => [
    ...new Set(
      candidates
        .filter((row) => row.principalType.toLowerCase() === type && GUID_PATTERN.test(row.principalId))
        .map((row) => row.principalId.toLowerCase()),
    ),
  ];
  const objects = new Map<string, DirectoryObject>();
  const readObjects = async (ids: string[], read: (ids: string[]) => Promise<DirectoryAnswer>) => {
    if (ids.length === 0) return null;
    const answer = await read(ids);
    if ("denied" in answer) return answer.denied;
    for (const message of answer.unreadable) errors.push({ source, message });
    for (const o of answer.objects) objects.set(o.id.toLowerCase(), o);
    return null;
  };
  try {
    const denied =
      (await readObjects(ofType("user"), (ids) => context.directory.getUsers(ids))) ??
      (await readObjects(ofType("serviceprincipal"), (ids) => context.directory.getServicePrincipals(ids))) ??
      (await readObjects(ofType("group"), (ids) => context.directory.getByIds(ids)));
    // Without directory rights the check cannot tell guests from members: skipped, not failed.
    if (denied) return { findings: [], counts, errors, skipped: denied };
  } catch (error) {
    return failed(errorMessage(error));
  }

  // Groups holding a peering role: their members through nested groups, within the scan's bound.
  const memberships = new Map<string, DirectoryObject[]>();
  let budget = context.config.GROUP_MEMBERS_PER_SCAN;
  for (const groupId of ofType("group")) {
    const group = objects.get(groupId);
    // A group Graph did not return has no members to read: its assignment is kept unresolved below.
    if (!group) continue;
    const name = group.displayName ?? null;
    if (budget <= 0) {
      degraded.push(
        `members of group ${name ? `'${name}' ` : ""}${groupId} not read: GROUP_MEMBERS_PER_SCAN reached`,
      );
      memberships.set(groupId, []);
      continue;
    }
    try {
      const answer = await context.directory.transitiveMembers(groupId, budget);
      if ("denied" in answer) return { findings: [], counts, errors, skipped: answer.denied };
      for (const message of answer.unreadable) errors.push({ source, message });
      budget -= answer.members.length;
      if (answer.cut)
        degraded.push(
          `group ${name ? `'${name}' ` : ""}${groupId}: only ${answer.members.length} member(s) read (GROUP_MEMBERS_PER_SCAN)`,
        );
      memberships.set(groupId, answer.members);
    } catch (error) {
      errors.push({
        source,
        message: `Reading the members of group ${groupId} failed: ${errorMessage(error)}`,
      });
    }
  }

  // Each (assignment, principal) to judge: the principal itself, or each member of its group.
  interface Subject {
    row: RoleAssignmentRow;
    principal: { id: string; type: string; displayName: string | null; verdict: PrincipalVerdict };
    via: ViaGroup | null;
  }
  const owners = context.config.MICROSOFT_APP_OWNER_TENANT_IDS;
  const subjects: Subject[] = [];
  for (const row of candidates) {
    const id = row.principalId.toLowerCase();
    if (row.principalType.toLowerCase() === "group") {
      const group = objects.get(id);
      if (!group) {
        const verdict = principalVerdict("Group", row.principalId, undefined, row.tenantId, owners)!;
        subjects.push({
          row,
          principal: { id: row.principalId, type: row.principalType, displayName: null, verdict },
          via: null,
        });
        continue;
      }
      const members = memberships.get(id);
      if (!members) continue; // reading failed: recorded as an error, the scan is incomplete
      for (const member of members) {
        if (member["@odata.type"].toLowerCase() === "#microsoft.graph.group") continue;
        const type = member["@odata.type"].toLowerCase().endsWith("serviceprincipal")
          ? "ServicePrincipal"
          : "User";
        const verdict = principalVerdict(type, member.id, member, row.tenantId, owners);
        if (verdict)
          subjects.push({
            row,
            principal: { id: member.id, type, displayName: member.displayName ?? null, verdict },
            via: {
              id: row.principalId,
              name: group?.displayName ? cleanText(group.displayName, MAX_NAME_LENGTH) : null,
            },
          });
      }
      continue;
    }
    const object = objects.get(id);
    const verdict = principalVerdict(row.principalType, row.principalId, object, row.tenantId, owners);
    if (verdict)
      subjects.push({
        row,
        principal: {
          id: row.principalId,
          type: row.principalType,
          displayName: object?.displayName ?? null,
          verdict,
        },
        via: null,
      });
  }
  for (const subject of subjects)
    if (subject.principal.verdict.missing) degraded.push(subject.principal.verdict.missing);

  // An external user's home tenant, from the domain of their #EXT# UPN or mail (cached like names).
  const domains = [
    ...new Set(subjects.map((s) => s.principal.verdict.homeDomain).filter((d): d is string => d !== null)),
  ];
  const byDomain = new Map(
    await mapLimit(
      domains,
      8,
      async (d) => [d, await context.tenants.tenantOfDomain(d).catch(() => null)] as const,
    ),
  );
  const lighthouse = await lighthouseFindings(context, known, rulesOf(context), errors, degraded);
  const homes = subjects.map(
    (s) =>
      s.principal.verdict.homeTenantId ??
      (s.principal.verdict.homeDomain ? (byDomain.get(s.principal.verdict.homeDomain) ?? null) : null),
  );
  const named = await tenantNames(homes, context);
  const rules = rulesOf(context);
  const findings = [];
  for (const [i, subject] of subjects.entries()) {
    try {
      const finding = classifyAssignment(
        subject.row,
        subject.principal,
        known.get(roleGuidOf(subject.row.roleDefinitionId)) ?? null,
        named[i]!,
        rules,
        subject.via,
      );
      if (finding) findings.push(finding);
    } catch (error) {
      errors.push({ source, message: `Role assignment ${subject.row.id}: ${errorMessage(error)}` });
    }
  }
  return {
    findings: [...findings, ...lighthouse],
    counts,
    errors,
    ...(degraded.length > 0 ? { degraded: [...new Set(degraded)] } : {}),
  };
}

export const foreignPrincipalScanner: Scanner = { check: FOREIGN_PRINCIPAL_CHECK, scan: scanPrincipals };
