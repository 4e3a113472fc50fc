import type { EntraPolicies, PartnerPolicy } from "../../azure/entra-policies";
import { cleanText, MAX_NAME_LENGTH } from "../../text";
import { GUID_PATTERN } from "../../validation";
import { findingId, type Severity } from "../finding";
import { isMicrosoftTenant, judgementText, statusOf, type JudgeRules } from "../judge";
import type { CrossTenantAccessPolicyFinding } from "./finding";
import {
  ACCEPTED_GUEST_ROLES,
  ACCEPTED_INVITERS,
  AUTHORIZATION_POLICY_PATH,
  DEFAULT_POLICY_PATH,
  describeTargets,
  GUEST_ROLES,
  partnerPath,
  SETTING_LABELS,
  settingOpenness,
  trustedClaims,
  type B2BSettingName,
  type Openness,
} from "./settings";

const KIND = "cross-tenant-access-policy" as const;

/** One setting as read, before it is judged: null severity means it meets its baseline. */
interface Observed {
  resourceId: string;
  setting: string;
  accessType: string;
  targets: string[];
  expected: string;
  baseline: string;
  severity: Exclude<Severity, "info"> | null;
  riskFactors: string[];
  /** What the setting does, for the summary: "lets users of every other tenant in by …". */
  does: string;
  /** Graph left the setting out: judged open, and said to be unresolved rather than dropped. */
  missing?: boolean;
}

/** What each B2B setting of the default policy is held to, and how bad it is when open. */
const DEFAULT_B2B_RULES: {
  name: B2BSettingName;
  severity: Record<Openness, Exclude<Severity, "info"> | null>;
  expected: string;
  baseline: string;
}[] = [
  {
    // The write-up's path: with it blocked a guest cannot sign in (AADSTS500213), so cannot peer.
    name: "b2bCollaborationInbound",
    severity: { all: "high", some: "medium", none: null },
    expected: "blocked for all users and groups and all applications; partners allowed one by one",
    baseline: "CISA MS.AAD.8.3",
  },
  {
    name: "b2bDirectConnectInbound",
    severity: { all: "medium", some: "low", none: null },
    expected: "blocked for all (the service default); partners allowed one by one",
    baseline: "Entra ID service default",
  },
  {
    name: "b2bCollaborationOutbound",
    severity: { all: "low", some: null, none: null },
    expected: "blocked for all; partners allowed one by one",
    baseline: "Zero Trust assessment 21790",
  },
  {
    name: "b2bDirectConnectOutbound",
    severity: { all: "low", some: null, none: null },
    expected: "blocked for all; partners allowed one by one",
    baseline: "Zero Trust assessment 21790",
  },
  {
    name: "tenantRestrictions",
    severity: { all: "low", some: null, none: null },
    expected: "blocked for all users and applications",
    baseline: "Zero Trust assessment 21793",
  },
];

const OPEN_WORDS: Record<Openness, string> = {
  all: "is open to everyone",
  some: "is open to some users or applications",
  none: "is blocked",
};

function b2bObserved(
  resourceId: string,
  name: B2BSettingName,
  setting: Parameters<typeof settingOpenness>[0],
  severity: Observed["severity"],
  expected: string,
  baseline: string,
): Observed {
  const openness = settingOpenness(setting);
  return {
    resourceId,
    setting: `${name}.usersAndGroups`,
    ...describeTargets(setting),
    expected,
    baseline,
    severity,
    riskFactors: openness === "none" ? [] : [`open-to-${openness}`],
    does: setting
      ? `${SETTING_LABELS[name]} ${OPEN_WORDS[openness]}`
      : `${SETTING_LABELS[name]} is not in Graph's answer, so it is taken as open`,
    ...(setting ? {} : { missing: true }),
  };
}

function trustObserved(resourceId: string, trust: PartnerPolicy["inboundTrust"], baseline: string): Observed {
  const claims = trustedClaims(trust);
  return {
    resourceId,
    setting: "inboundTrust",
    accessType: claims.length > 0 ? "trusted" : "not trusted",
    targets: claims,
    expected: "no MFA or device claims of other tenants trusted, unless for a known partner",
    baseline,
    severity: claims.length > 0 ? "low" : null,
    riskFactors: claims,
    does:
      claims.length > 0
        ? `accepts the other tenant's own ${claims.join(", ")} claims instead of asking again`
        : "trusts no claims of other tenants",
  };
}

/** The default policy's and the authorization policy's settings: every one, judged against its baseline. */
function tenantSettings(policies: EntraPolicies): Observed[] {
  const observed = DEFAULT_B2B_RULES.map((rule) => {
    const setting = policies.default[rule.name];
    return b2bObserved(
      DEFAULT_POLICY_PATH,
      rule.name,
      setting,
      rule.severity[settingOpenness(setting)],
      rule.expected,
      rule.baseline,
    );
  });
  observed.push(
    trustObserved(DEFAULT_POLICY_PATH, policies.default.inboundTrust, "Entra ID service default"),
  );
  const authorization = policies.authorization;
  if (authorization) {
    const inviters = authorization.allowInvitesFrom ?? "unknown";
    const invitersOk = ACCEPTED_INVITERS.has(inviters.toLowerCase());
    observed.push({
      resourceId: AUTHORIZATION_POLICY_PATH,
      setting: "allowInvitesFrom",
      accessType: inviters,
      targets: [],
      expected: "adminsAndGuestInviters (Maester also accepts none)",
      baseline: "CISA MS.AAD.8.2",
      severity: invitersOk ? null : inviters.toLowerCase() === "everyone" ? "medium" : "low",
      riskFactors: invitersOk ? [] : [`invites-from-${inviters}`],
      does: `guests may be invited by ${inviters}`,
      ...(authorization.allowInvitesFrom ? {} : { missing: true }),
    });
    const role = (authorization.guestUserRoleId ?? "unknown").toLowerCase();
    const roleOk = ACCEPTED_GUEST_ROLES.has(role);
    observed.push({
      resourceId: AUTHORIZATION_POLICY_PATH,
      setting: "guestUserRoleId",
      accessType: role,
      targets: [GUEST_ROLES[role] ?? "unknown role"],
      expected: "limited (10dae51f-…) or restricted (2af84b1e-…) guest access",
      baseline: "CISA MS.AAD.8.1",
      severity: roleOk ? null : "medium",
      riskFactors: roleOk ? [] : ["guests-read-directory"],
      does: `guest users have ${GUEST_ROLES[role] ?? `an unknown role (${role})`}`,
      ...(authorization.guestUserRoleId ? {} : { missing: true }),
    });
  }
  return observed;
}

/** A partner's own settings that let its users in; a null setting inherits the default and is judged there. */
function partnerSettings(partner: PartnerPolicy, tenantId: string): Observed[] {
  const resourceId = partnerPath(tenantId);
  const observed: Observed[] = [];
  for (const name of ["b2bCollaborationInbound", "b2bDirectConnectInbound"] as const) {
    const setting = partner[name];
    if (!setting || settingOpenness(setting) === "none") continue;
    observed.push(
      b2bObserved(
        resourceId,
        name,
        setting,
        "medium",
        "blocked, or allowed under an allowlist entry for this tenant",
        "CISA MS.AAD.8.3",
      ),
    );
  }
  if (trustedClaims(partner.inboundTrust).length > 0)
    observed.push(trustObserved(resourceId, partner.inboundTrust, "Entra ID service default"));
  return observed;
}

export interface ClassifyInput {
  policies: EntraPolicies;
  homeTenantId: string;
  /** Partner tenant (lower-case) -> its name where Graph said it. */
  tenantNames: ReadonlyMap<string, string | null>;
  rules: JudgeRules;
}

/** Every finding of the tenant's cross-tenant access settings, and the partners that could not be read. */
export function classifyPolicies(input: ClassifyInput): {
  findings: CrossTenantAccessPolicyFinding[];
  problems: string[];
} {
  const { policies, homeTenantId } = input;
  const findings: CrossTenantAccessPolicyFinding[] = [];
  const problems: string[] = [];
  for (const o of tenantSettings(policies)) findings.push(judge(o, null, null, input));
  for (const partner of policies.partners) {
    // Graph's data, but a partner id ends up in resource ids, keys and commands: only a GUID passes.
    if (!GUID_PATTERN.test(partner.tenantId)) {
      problems.push(
        `A partner policy names tenant '${cleanText(partner.tenantId, 64)}', which is not a GUID.`,
      );
      continue;
    }
    const tenantId = partner.tenantId.toLowerCase();
    if (tenantId === homeTenantId.toLowerCase()) continue;
    const name = input.tenantNames.get(tenantId) ?? null;
    for (const o of partnerSettings(partner, tenantId))
      findings.push(judge(o, tenantId, name === null ? null : cleanText(name, MAX_NAME_LENGTH), input));
  }
  return { findings, problems };
}

function judge(
  o: Observed,
  tenantId: string | null,
  tenantName: string | null,
  input: ClassifyInput,
): CrossTenantAccessPolicyFinding {
  const relation = o.missing
    ? "unresolved"
    : isMicrosoftTenant(tenantId, input.rules)
      ? "microsoft-managed"
      : "cross-tenant";
  const verdict =
    o.severity === null
      ? null
      : statusOf(
          relation,
          {
            kind: KIND,
            localResourceId: o.resourceId,
            remoteTenantId: tenantId,
            remoteSubscriptionId: "",
            // The policy path: an entry with remoteResourceId /policies/… accepts one setting's policy.
            remoteResourceId: o.resourceId,
          },
          input.rules,
        );
  const status = verdict?.status ?? "allowed";
  const severity: Severity = o.severity === null || status === "allowed" ? "info" : o.severity;
  const who =
    tenantId === null
      ? o.resourceId === DEFAULT_POLICY_PATH
        ? "The default cross-tenant access policy (every tenant without its own settings)"
        : "The tenant's authorization policy"
      : `The cross-tenant access settings for partner ${tenantName ? `${tenantName} (${tenantId})` : tenantId}`;
  const shown =
    o.targets.length > 0
      ? ` [${o.setting} = ${o.accessType}: ${o.targets.join(", ")}]`
      : ` [${o.setting} = ${o.accessType}]`;
  const summary =
    o.severity === null
      ? `${who}: ${o.does}${shown}, as ${o.baseline} expects (${o.expected}).`
      : `${who}: ${o.does}${shown}; ${o.baseline} expects ${o.expected}, ${judgementText(status, verdict?.entry)}.`;
  return {
    id: findingId(KIND, `${o.resourceId}|${o.setting}`),
    kind: KIND,
    resourceId: o.resourceId,
    localSubscriptionId: "",
    localTenantId: input.homeTenantId,
    remoteSubscriptionId: "",
    remoteTenantId: tenantId,
    remoteTenantName: tenantName,
    relation,
    status,
    allowlistEntryId: verdict?.entry?.id ?? null,
    severity,
    riskFactors: o.riskFactors,
    summary,
    setting: o.setting,
    accessType: o.accessType,
    targets: o.targets,
    expected: o.expected,
    baseline: o.baseline,
  };
}
