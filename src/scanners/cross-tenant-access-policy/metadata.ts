import type { CheckMetadata } from "../finding";
import type { CrossTenantAccessPolicyFinding } from "./finding";
import { AUTHORIZATION_POLICY_PATH, SETTING_LABELS } from "./settings";

const GRAPH = "https://graph.microsoft.com/v1.0";
const labelOf = (f: CrossTenantAccessPolicyFinding) => SETTING_LABELS[f.setting.split(".")[0]!] ?? f.setting;
const partyOf = (f: CrossTenantAccessPolicyFinding) =>
  f.remoteTenantId === null ? "every other tenant" : (f.remoteTenantName ?? f.remoteTenantId);

const blocked = (setting: string) =>
  `{"${setting}":{"usersAndGroups":{"accessType":"blocked","targets":[{"target":"AllUsers","targetType":"user"}]},` +
  `"applications":{"accessType":"blocked","targets":[{"target":"AllApplications","targetType":"application"}]}}}`;

/** The Graph request (through `az rest`) that sets the finding's setting to what its baseline expects. */
function fixCommand(f: CrossTenantAccessPolicyFinding): string {
  const url = `${GRAPH}${f.resourceId}`;
  const patch = (body: string) => `az rest --method patch --url ${url} --body '${body}'`;
  const name = f.setting.split(".")[0]!;
  if (f.setting === "allowInvitesFrom") return patch(`{"allowInvitesFrom":"adminsAndGuestInviters"}`);
  if (f.setting === "guestUserRoleId")
    return patch(`{"guestUserRoleId":"2af84b1e-32c8-42b7-82bc-daa82404023b"}`);
  if (name === "inboundTrust")
    return patch(
      `{"inboundTrust":{"isMfaAccepted":false,"isCompliantDeviceAccepted":false,"isHybridAzureADJoinedDeviceAccepted":false}}`,
    );
  return patch(blocked(name));
}

/** What this check is, why it matters and how to fix what it finds. */
export const CROSS_TENANT_ACCESS_POLICY_CHECK: CheckMetadata<CrossTenantAccessPolicyFinding> = {
  id: "cross-tenant-access-policy",
  title: "Entra ID cross-tenant access settings let users of other tenants in",
  noun: "cross-tenant access setting",
  risk:
    "Cross-tenant access settings are the real guard against cross-tenant peerings: with inbound B2B collaboration " +
    "blocked, a guest from another tenant cannot sign in (AADSTS500213), so cannot create a peering or a private " +
    "endpoint connection on your networks. The service default lets every tenant's users in.",
  remediation: {
    text:
      "Block inbound B2B collaboration (users and groups, and applications) in the default settings and allow the " +
      "partners you work with one by one, each with an allowlist entry (kinds: [cross-tenant-access-policy], " +
      "tenantId, owner, reason, expiry). Block outbound B2B collaboration and direct connect by default, keep tenant " +
      "restrictions blocking, let only admins and Guest Inviters invite guests, and keep guests' directory access " +
      "limited or restricted. Needs Security Administrator to change.",
    portal:
      "Microsoft Entra admin center > External Identities > Cross-tenant access settings > Default settings (or " +
      "Organizational settings > the partner) > Inbound access settings > B2B collaboration > Block access; " +
      "External collaboration settings for guest invitations and guest access.",
  },
  relatedUrl: "https://learn.microsoft.com/entra/external-id/cross-tenant-access-settings-b2b-collaboration",
  state: (f) => f.accessType,
  local: (f) => f.setting,
  remote: (f) => partyOf(f),
  tenantWide: true,
  facts: (f) => [
    ["Setting", `${labelOf(f)} (${f.setting})`],
    ["Applies to", partyOf(f)],
    ["Access", f.accessType],
    ["Targets", f.targets],
    ["Expected", f.expected],
    ["Baseline", f.baseline],
    ["Policy", f.resourceId],
  ],
  portalLink: (f, portalUrl) => ({
    title:
      f.resourceId === AUTHORIZATION_POLICY_PATH
        ? "Open external collaboration settings in Azure portal"
        : "Open cross-tenant access settings in Azure portal",
    url: `${portalUrl.replace(/\/+$/, "")}/#view/Microsoft_AAD_IAM/CompanyRelationshipsMenuBlade/~/${
      f.resourceId === AUTHORIZATION_POLICY_PATH ? "Settings" : "CrossTenantAccessSettings"
    }`,
  }),
  command: fixCommand,
  resolvedTitle: (f) =>
    `${labelOf(f)} for ${partyOf(f)} no longer lets that tenant in (${f.setting} blocked, inherited from the default, ` +
    "or the partner's settings removed).",
  material: (f) => [f.setting, f.accessType, f.targets, f.expected, f.baseline],
  csvFields: ["setting", "accessType", "targets", "expected", "baseline"],
};
