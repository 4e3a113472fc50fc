import { nameOf } from "../../azure/resource-id";
import type { CheckMetadata, FindingFact } from "../finding";
import type { ForeignPrincipalFinding } from "./finding";
import { lighthouseCommand, lighthouseFacts } from "./lighthouse-metadata";

const principalOf = (f: ForeignPrincipalFinding) => f.principalDisplayName ?? f.principalId;

export const FOREIGN_PRINCIPAL_CHECK: CheckMetadata<ForeignPrincipalFinding> = {
  id: "foreign-principal-network-access",
  title: "Principal from another Entra ID tenant holds the rights to create peerings",
  noun: "foreign principal who can peer",
  risk:
    "A guest or other external user (also one made a Member by cross-tenant sync, or holding the role through a group), a multi-tenant app or a foreign group with peering rights on your networks is half of a cross-tenant " +
    "peering: with Network Contributor on a network of their own, they can connect the two without anyone in your " +
    "tenant approving it.",
  remediation: {
    text:
      "Confirm why the principal holds the role. If it must, add an allowlist entry with kinds: " +
      "[foreign-principal-network-access] and principalId, owner, reason and expiry. If not, remove the role " +
      "assignment; to stop guests being invited at all, block inbound B2B collaboration in the Entra ID " +
      "cross-tenant access settings.",
    portal: "Azure portal > (the scope) > Access control (IAM) > Role assignments > select it > Remove.",
  },
  relatedUrl: "https://learn.microsoft.com/azure/role-based-access-control/role-assignments-remove",
  state: (f) => f.roleName,
  local: (f) => (f.scope.split("/").length <= 3 ? f.scope : nameOf(f.scope)),
  remote: (f) => principalOf(f),
  facts: (f) => [
    ["Principal", principalOf(f)],
    ["Principal kind", f.principalKind],
    ["Principal id", f.principalId],
    [
      "Home tenant",
      f.principalHomeTenantId
        ? f.remoteTenantName
          ? `${f.remoteTenantName} (${f.principalHomeTenantId})`
          : f.principalHomeTenantId
        : "unknown",
    ],
    ...(f.principalHomeDomain ? ([["Home domain", f.principalHomeDomain]] as FindingFact[]) : []),
    ...(f.viaGroupId
      ? ([
          ["Through group", f.viaGroupName ? `${f.viaGroupName} (${f.viaGroupId})` : f.viaGroupId],
        ] as FindingFact[])
      : []),
    ["Role", f.roleName],
    ["Scope", f.scope],
    ["Granting actions", f.grantingActions],
    ...lighthouseFacts(f),
  ],
  portalLink: (f, portalUrl) => ({
    title: "Open access control in Azure portal",
    url: `${portalUrl.replace(/\/+$/, "")}/#@${f.localTenantId}/resource${f.scope}/users`,
  }),
  command: (f) =>
    f.principalKind === "lighthouse-delegation"
      ? lighthouseCommand(f)
      : `az role assignment delete --ids ${f.resourceId}`,
  resolvedTitle: (f) =>
    `${f.principalKind} '${principalOf(f)}' no longer holds '${f.roleName}' on '${f.scope}' ` +
    "(assignment removed, role changed, or the principal is no longer foreign).",
  material: (f) => [
    f.principalType,
    f.principalKind,
    f.principalDisplayName,
    f.principalHomeTenantId,
    f.roleDefinitionId,
    f.roleName,
    f.scope,
    f.grantingActions,
    f.viaGroupId,
    f.relation,
  ],
  csvFields: [
    "principalId",
    "principalType",
    "principalKind",
    "principalDisplayName",
    "principalHomeTenantId",
    "roleName",
    "roleDefinitionId",
    "scope",
    "grantingActions",
    "viaGroupId",
    "viaGroupName",
    "principalHomeDomain",
  ],
};
