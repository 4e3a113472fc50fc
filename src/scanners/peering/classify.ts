import type { AllowlistEntry } from "../../allowlist/entry";
import { parseResourceId } from "../../azure/resource-id";
import { findingId, type Relation, type Severity, type Status } from "../finding";
import {
  judgementText,
  relationOf as relationOfSides,
  statusOf,
  whereText,
  type JudgeRules,
  type RemoteTenant,
} from "../judge";
import type { PeeringFinding } from "./finding";
import type { PeeringRow } from "./query";

export type { RemoteTenant };
export type PeeringRules = JudgeRules;

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

/** `null` when the remote VNet provably lives in the local VNet's own tenant: not a finding. */
export function relationOf(row: PeeringRow, remote: RemoteTenant, rules: PeeringRules): Relation | null {
  return relationOfSides(row.tenantId, remote, rules);
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
  const { status, entry } = statusOf(
    relation,
    {
      kind: "vnet-peering",
      localResourceId: row.vnetId,
      remoteTenantId: remote.tenantId,
      remoteSubscriptionId,
      remoteResourceId: row.remoteVnetId,
    },
    rules,
  );
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
    ...(row.peerCompleteVnets === false
      ? {
          peerCompleteVnets: false,
          localSubnetNames: row.localSubnetNames ?? [],
          remoteSubnetNames: row.remoteSubnetNames ?? [],
        }
      : {}),
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
  const where = whereText(finding);
  const looksLike = isVirtualWanHub(finding.remoteVnetId)
    ? finding.relation === "microsoft-managed"
      ? " (a Virtual WAN hub)"
      : finding.relation === "unresolved"
        ? " (it looks like a Virtual WAN hub, but its tenant could not be checked)"
        : " (it looks like a Virtual WAN hub, but its tenant is not a Microsoft tenant)"
    : "";
  const state = finding.peeringState || "state not reported";
  const judgement = judgementText(finding.status, entry);
  const subnets =
    finding.peerCompleteVnets === false
      ? ` (subnets only: ${subnetList(finding.localSubnetNames)} to ${subnetList(finding.remoteSubnetNames)})`
      : "";
  return `Peering '${peeringName}' (${state}) connects VNet '${local}' to '${remote}'${subnets} ${where}${looksLike}, ${judgement}.`;
}

/** Subnet names as a peering lists them; the other tenant's names are its own text (cleaned on entry). */
function subnetList(names: string[] | undefined): string {
  return names && names.length > 0 ? names.map((n) => `'${n}'`).join(", ") : "(none named)";
}
