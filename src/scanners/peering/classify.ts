import { judgeAgainstAllowlist } from "../../allowlist/match";
import type { AllowlistEntry } from "../../allowlist/entry";
import { parseResourceId } from "../../azure/resource-id";
import { findingId, type PeeringFinding, type Relation, type Severity, type Status } from "./finding";
import type { PeeringRow } from "./query";

/** What tenant resolution learnt about the remote VNet's subscription. */
export interface RemoteTenant {
  tenantId: string | null;
  tenantName: string | null;
}

export interface PeeringRules {
  allowlist: AllowlistEntry[];
  microsoftTenantIds: string[];
  allowMicrosoftManaged: boolean;
  now: Date;
}

const GUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
/**
 * Virtual WAN hubs live in Microsoft's subscriptions as RG_<hub>_<guid>/.../HV_<hub>_<guid>. Anyone
 * can create such names in their own tenant, so the name only adds words to a summary; the
 * tenant alone decides whether a network is Microsoft-managed.
 */
const VIRTUAL_WAN_HUB = new RegExp(
  `/resourceGroups/RG_[^/]+_${GUID}/providers/Microsoft\\.Network/virtualNetworks/HV_[^/]+_${GUID}$`,
  "i",
);

export const isVirtualWanHub = (remoteVnetId: string): boolean => VIRTUAL_WAN_HUB.test(remoteVnetId);

const lower = (s: string | null) => s?.toLowerCase() ?? null;

/** `null` when the remote VNet provably lives in the local VNet's own tenant: not a finding. */
export function relationOf(row: PeeringRow, remote: RemoteTenant, rules: PeeringRules): Relation | null {
  if (remote.tenantId !== null && lower(remote.tenantId) === lower(row.tenantId)) return null;
  if (remote.tenantId === null) return "unresolved";
  const microsoft = rules.microsoftTenantIds.some((id) => lower(id) === lower(remote.tenantId));
  return microsoft ? "microsoft-managed" : "cross-tenant";
}

/**
 * Connected is high, Initiated medium, Disconnected low. peeringState is an extensible enum, so a
 * value we do not know (or none) is judged like Connected: the worst case, never quietly lower.
 */
export function severityOf(status: Status, peeringState: string): Severity {
  if (status === "allowed") return "info";
  const state = peeringState.toLowerCase();
  return state === "initiated" ? "medium" : state === "disconnected" ? "low" : "high";
}

/** Judges one peering row; returns the finding, or null for a same-tenant peering. */
export function classifyPeering(
  row: PeeringRow,
  remote: RemoteTenant,
  rules: PeeringRules,
): PeeringFinding | null {
  const relation = relationOf(row, remote, rules);
  if (relation === null) return null;

  const remoteSubscriptionId = parseResourceId(row.remoteVnetId)?.subscriptionId ?? "";
  const verdict = judgeAgainstAllowlist(
    rules.allowlist,
    {
      localVnetId: row.vnetId,
      remoteTenantId: remote.tenantId,
      remoteSubscriptionId,
      remoteVnetId: row.remoteVnetId,
    },
    rules.now,
  );
  const microsoftAllowed = relation === "microsoft-managed" && rules.allowMicrosoftManaged;
  const status: Status =
    verdict.active || microsoftAllowed ? "allowed" : verdict.expired ? "expired-exception" : "violation";
  const entry = verdict.active ?? (microsoftAllowed ? undefined : verdict.expired);
  const peeringState = row.peeringState;

  const finding: Omit<PeeringFinding, "summary"> = {
    id: findingId("vnet-peering", row.id),
    kind: "vnet-peering",
    resourceId: row.id,
    localVnetId: row.vnetId,
    localSubscriptionId: row.subscriptionId,
    localTenantId: row.tenantId,
    remoteVnetId: row.remoteVnetId,
    remoteSubscriptionId,
    remoteTenantId: remote.tenantId,
    remoteTenantName: remote.tenantName,
    relation,
    peeringState,
    peeringSyncLevel: row.peeringSyncLevel,
    allowForwardedTraffic: row.allowForwardedTraffic ?? false,
    allowGatewayTransit: row.allowGatewayTransit ?? false,
    useRemoteGateways: row.useRemoteGateways ?? false,
    remoteAddressPrefixes: row.remoteAddressPrefixes ?? [],
    status,
    allowlistEntryId: entry?.id ?? null,
    severity: severityOf(status, peeringState),
    riskFactors: [
      ...(row.allowForwardedTraffic ? ["forwarded-traffic" as const] : []),
      ...(row.allowGatewayTransit ? ["gateway-transit" as const] : []),
      ...(row.useRemoteGateways ? ["remote-gateways" as const] : []),
    ],
  };
  return { ...finding, summary: summarize(finding, row.peeringName, entry) };
}

function summarize(
  finding: Omit<PeeringFinding, "summary">,
  peeringName: string,
  entry?: AllowlistEntry,
): string {
  const local = parseResourceId(finding.localVnetId)?.name ?? finding.localVnetId;
  const remote = parseResourceId(finding.remoteVnetId)?.name ?? finding.remoteVnetId;
  const tenant = finding.remoteTenantName
    ? `${finding.remoteTenantName} (${finding.remoteTenantId})`
    : `${finding.remoteTenantId}`;
  const where =
    finding.relation === "cross-tenant"
      ? `in another tenant, ${tenant}`
      : finding.relation === "unresolved"
        ? `in subscription ${finding.remoteSubscriptionId || "(unknown)"}, whose tenant could not be determined`
        : `in Microsoft tenant ${tenant}`;
  const looksLike = isVirtualWanHub(finding.remoteVnetId)
    ? finding.relation === "microsoft-managed"
      ? " (a Virtual WAN hub)"
      : " (it looks like a Virtual WAN hub, but its tenant is not a Microsoft tenant)"
    : "";
  const state = finding.peeringState || "state not reported";
  const judgement =
    finding.status === "violation"
      ? "and no allowlist entry covers it"
      : finding.status === "expired-exception"
        ? `and its allowlist entry '${entry?.id}' expired on ${entry?.expiresOn}`
        : entry
          ? `and allowlist entry '${entry.id}' (${entry.owner}: ${entry.reason}) allows it`
          : "and Microsoft-managed networks are allowed by configuration";
  return `Peering '${peeringName}' (${state}) connects VNet '${local}' to '${remote}' ${where}${looksLike}, ${judgement}.`;
}
