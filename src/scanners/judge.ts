import { idKey } from "../azure/resource-id";
import { judgeAgainstAllowlist, type FindingSides } from "../allowlist/match";
import type { AllowlistEntry } from "../allowlist/entry";
import { errorMessage } from "../errors";
import { mapLimit } from "../map-limit";
import type { Relation, Status } from "./finding";
import type { ScanContext, ScanError } from "./scanner";

/** What tenant resolution learnt about the other side's subscription (or principal). */
export interface RemoteTenant {
  tenantId: string | null;
  tenantName: string | null;
}

/** What every check judges a finding by: the allowlist, the Microsoft tenants, and the time. */
export interface JudgeRules {
  allowlist: AllowlistEntry[];
  microsoftTenantIds: string[];
  allowMicrosoftManaged: boolean;
  now: Date;
}

export const rulesOf = (context: ScanContext): JudgeRules => ({
  allowlist: context.allowlist,
  microsoftTenantIds: context.config.MICROSOFT_TENANT_IDS,
  allowMicrosoftManaged: context.config.ALLOW_MICROSOFT_MANAGED,
  now: context.now,
});

const LOOKUP_CONCURRENCY = 8;
const lower = (s: string | null) => s?.toLowerCase() ?? null;

export const isMicrosoftTenant = (tenantId: string | null, rules: Pick<JudgeRules, "microsoftTenantIds">) =>
  tenantId !== null && rules.microsoftTenantIds.some((id) => lower(id) === lower(tenantId));

/** `null` when the other side provably lives in the local tenant: not a finding. */
export function relationOf(
  localTenantId: string,
  remote: RemoteTenant,
  rules: Pick<JudgeRules, "microsoftTenantIds">,
): Relation | null {
  if (remote.tenantId !== null && lower(remote.tenantId) === lower(localTenantId)) return null;
  if (remote.tenantId === null) return "unresolved";
  return isMicrosoftTenant(remote.tenantId, rules) ? "microsoft-managed" : "cross-tenant";
}

/** The allowlist's verdict, with Microsoft-managed other sides allowed by configuration. */
export function statusOf(
  relation: Relation,
  sides: FindingSides,
  rules: JudgeRules,
): { status: Status; entry: AllowlistEntry | undefined } {
  const verdict = judgeAgainstAllowlist(rules.allowlist, sides, rules.now);
  const microsoftAllowed = relation === "microsoft-managed" && rules.allowMicrosoftManaged;
  const status: Status =
    verdict.active || microsoftAllowed ? "allowed" : verdict.expired ? "expired-exception" : "violation";
  return { status, entry: verdict.active ?? (microsoftAllowed ? undefined : verdict.expired) };
}

/** "in another tenant, Name (id)", "in Microsoft tenant …", or why the tenant is not known. */
export function whereText(finding: {
  relation: Relation;
  remoteTenantId: string | null;
  remoteTenantName: string | null;
  remoteSubscriptionId: string;
}): string {
  const tenant = finding.remoteTenantName
    ? `${finding.remoteTenantName} (${finding.remoteTenantId})`
    : `${finding.remoteTenantId}`;
  return finding.relation === "cross-tenant"
    ? `in another tenant, ${tenant}`
    : finding.relation === "unresolved"
      ? `in subscription ${finding.remoteSubscriptionId || "(unknown)"}, whose tenant could not be determined`
      : `in Microsoft tenant ${tenant}`;
}

/** How the finding was judged, for the end of its summary. */
export function judgementText(status: Status, entry: AllowlistEntry | undefined): string {
  return status === "violation"
    ? "and no allowlist entry covers it"
    : status === "expired-exception"
      ? `and its allowlist entry '${entry?.id}' expired on ${entry?.expiresOn}`
      : entry
        ? `and allowlist entry '${entry.id}' (${entry.owner}: ${entry.reason}) allows it`
        : "and Microsoft-managed resources are allowed by configuration";
}

/** High when the connection is live (Approved), medium when Pending, low otherwise; info when allowed. */
export function connectionSeverity(status: Status, connectionState: string) {
  if (status === "allowed") return "info" as const;
  const state = idKey(connectionState);
  return state === "approved"
    ? ("high" as const)
    : state === "pending"
      ? ("medium" as const)
      : ("low" as const);
}

/**
 * Remote subscription (lower-case) -> its tenant. What Resource Graph's own join knew (`known`)
 * needs no lookup; a failed lookup leaves the subscription unresolved and is reported.
 */
export async function resolveRemoteTenants(
  remotes: { subscriptionId: string; knownTenantId: string }[],
  context: Pick<ScanContext, "tenants">,
  errors: ScanError[],
): Promise<Map<string, RemoteTenant>> {
  for (const remote of remotes) {
    if (remote.knownTenantId && remote.subscriptionId)
      context.tenants.learn(remote.subscriptionId, remote.knownTenantId);
  }
  const subscriptions = [...new Set(remotes.map((r) => idKey(r.subscriptionId)))];
  const tenants = await mapLimit(subscriptions, LOOKUP_CONCURRENCY, (id) =>
    context.tenants.tenantOfSubscription(id).catch((error: unknown) => {
      errors.push({ source: "tenant-resolution", message: errorMessage(error) });
      return null;
    }),
  );
  return new Map(
    (await tenantNames(tenants, context)).map((remote, i) => [subscriptions[i]!, remote] as const),
  );
}

/** The other side of an opening that names no subscription (a private link service's "*"). */
export const NOBODY: RemoteTenant = { tenantId: null, tenantName: null };

/**
 * A windowed check's rows judged: the remote tenants of the subscriptions they point into resolved
 * in one pass (a tenant the row's query already knew is learnt first), then each row classified.
 * A row that cannot be judged is an error naming it; the others still count.
 */
export async function judgeRows<Row extends { remoteTenantId: string }, F>(
  rows: Row[],
  context: ScanContext,
  errors: ScanError[],
  how: {
    source: string;
    /** The subscription the row's other side lives in; null where it names none. */
    remoteSubscriptionOf(row: Row): string | null;
    classify(row: Row, remote: RemoteTenant, rules: JudgeRules): F | null;
    /** How an error names a row that failed ("Private endpoint connection <id>"). */
    describe(row: Row): string;
  },
): Promise<F[]> {
  const named = rows.flatMap((row) => {
    const subscriptionId = how.remoteSubscriptionOf(row);
    return subscriptionId === null ? [] : [{ subscriptionId, knownTenantId: row.remoteTenantId }];
  });
  const remotes = await resolveRemoteTenants(named, context, errors);
  const rules = rulesOf(context);
  const findings: F[] = [];
  for (const row of rows) {
    try {
      const subscriptionId = how.remoteSubscriptionOf(row);
      const remote = subscriptionId === null ? NOBODY : remotes.get(idKey(subscriptionId));
      if (!remote) throw new Error(`no tenant was resolved for subscription ${subscriptionId}`);
      const finding = how.classify(row, remote, rules);
      if (finding) findings.push(finding);
    } catch (error) {
      errors.push({ source: how.source, message: `${how.describe(row)}: ${errorMessage(error)}` });
    }
  }
  return findings;
}

/** Each tenant id with its name where Graph says it; null ids stay unresolved. */
export async function tenantNames(
  tenants: (string | null)[],
  context: Pick<ScanContext, "tenants">,
): Promise<RemoteTenant[]> {
  const resolved = [...new Set(tenants.filter((t): t is string => t !== null))];
  const names = new Map(
    await mapLimit(
      resolved,
      LOOKUP_CONCURRENCY,
      async (t) => [t, await context.tenants.tenantName(t)] as const,
    ),
  );
  return tenants.map((tenantId) => ({
    tenantId: tenantId ?? null,
    tenantName: tenantId ? (names.get(tenantId) ?? null) : null,
  }));
}
