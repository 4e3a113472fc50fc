import type { B2BSetting, InboundTrust, TargetConfiguration } from "../../azure/entra-policies";

/**
 * The policy paths the check reads from Microsoft Graph v1.0 (Policy.Read.All), and where each
 * finding says it lives.
 */
export const DEFAULT_POLICY_PATH = "/policies/crossTenantAccessPolicy/default";
export const PARTNERS_PATH = "/policies/crossTenantAccessPolicy/partners";
export const AUTHORIZATION_POLICY_PATH = "/policies/authorizationPolicy";
export const partnerPath = (tenantId: string) => `${PARTNERS_PATH}/${tenantId}`;

/** The B2B settings of a cross-tenant access policy, and which way each lets people go. */
export const B2B_SETTINGS = [
  "b2bCollaborationInbound",
  "b2bDirectConnectInbound",
  "b2bCollaborationOutbound",
  "b2bDirectConnectOutbound",
  "tenantRestrictions",
] as const;
export type B2BSettingName = (typeof B2B_SETTINGS)[number];

/** Plain words for each setting, for summaries and drift alerts. */
export const SETTING_LABELS: Record<string, string> = {
  b2bCollaborationInbound: "Inbound B2B collaboration",
  b2bDirectConnectInbound: "Inbound B2B direct connect",
  b2bCollaborationOutbound: "Outbound B2B collaboration",
  b2bDirectConnectOutbound: "Outbound B2B direct connect",
  tenantRestrictions: "Tenant restrictions",
  inboundTrust: "Inbound trust of other tenants' MFA and device claims",
  allowInvitesFrom: "Who may invite guests",
  guestUserRoleId: "Guest users' directory access",
};

/** How far a setting opens the door: to everyone, to some named users or apps, or to no one. */
export type Openness = "all" | "some" | "none";

const ALL_TARGETS = new Set(["allusers", "allapplications"]);

/**
 * Graph applies `accessType` to the listed targets only
 * (learn.microsoft.com/graph/api/resources/crosstenantaccesspolicytargetconfiguration):
 * `allowed` + AllUsers opens to all; `allowed` + some groups opens to those; `blocked` + AllUsers
 * closes; `blocked` + some groups closes to those and leaves everyone else allowed. A setting
 * Graph leaves out (or an accessType we do not know) is judged open: a missing field never means
 * "no finding".
 */
export function opennessOf(config: TargetConfiguration | null | undefined): Openness {
  const access = config?.accessType?.toLowerCase();
  const targets = (config?.targets ?? []).map((t) => (t.target ?? "").toLowerCase());
  const toAll = targets.length === 0 || targets.some((t) => ALL_TARGETS.has(t));
  if (access === "blocked") return toAll ? "none" : "all";
  return access === "allowed" && !toAll ? "some" : "all";
}

/** People come in only where both the users (and groups) and the application are let in. */
export function settingOpenness(setting: B2BSetting | null | undefined): Openness {
  const users = opennessOf(setting?.usersAndGroups);
  const apps = opennessOf(setting?.applications);
  if (users === "none" || apps === "none") return "none";
  return users === "all" && apps === "all" ? "all" : "some";
}

/** `allowed`/`blocked` and the targets of the users-and-groups half, as Graph gave them. */
export function describeTargets(setting: B2BSetting | null | undefined): {
  accessType: string;
  targets: string[];
} {
  const side = (name: string, config: TargetConfiguration | null | undefined) =>
    (config?.targets ?? []).map((t) => `${name}:${t.target ?? "?"}`);
  return {
    accessType: setting?.usersAndGroups?.accessType ?? "unknown",
    targets: [
      ...side("usersAndGroups", setting?.usersAndGroups),
      ...side("applications", setting?.applications),
    ],
  };
}

/** The claims of other tenants a policy trusts; empty when it trusts none. */
export function trustedClaims(trust: InboundTrust | null | undefined): string[] {
  if (!trust) return [];
  return (
    ["isMfaAccepted", "isCompliantDeviceAccepted", "isHybridAzureADJoinedDeviceAccepted"] as const
  ).filter((claim) => trust[claim] === true);
}

/**
 * Guest roles that CISA MS.AAD.8.1 accepts: "Guest user access is restricted to properties and
 * memberships of their own directory objects" (2af84b1e-…) or limited access (10dae51f-…), the
 * service default (learn.microsoft.com/entra/identity/users/users-restrict-guest-permissions;
 * FACTS.md, "Entra baselines"). The third value, a0b1b346-…, gives guests the access of members.
 */
export const GUEST_ROLES: Record<string, string> = {
  "10dae51f-b6af-4016-8d66-8c2a99b929b3": "limited access (service default)",
  "2af84b1e-32c8-42b7-82bc-daa82404023b": "restricted access",
  "a0b1b346-4d3e-4e8b-98f8-753987be4970": "same access as members",
};
export const ACCEPTED_GUEST_ROLES = new Set([
  "10dae51f-b6af-4016-8d66-8c2a99b929b3",
  "2af84b1e-32c8-42b7-82bc-daa82404023b",
]);

/**
 * CISA MS.AAD.8.2: "Only users with the Guest Inviter role SHOULD be able to invite guest users",
 * i.e. `allowInvitesFrom` = `adminsAndGuestInviters`; Maester's test of it also passes `none`
 * (FACTS.md, "Entra baselines"). `everyone` is the service default.
 */
export const ACCEPTED_INVITERS = new Set(["adminsandguestinviters", "none"]);
