import { idKey, nameOf, parseResourceId } from "../../azure/resource-id";
import { cleanText } from "../../text";
import { findingId, type Severity } from "../finding";
import {
  judgementText,
  judgeRows,
  relationOf,
  statusOf,
  whereText,
  type JudgeRules,
  type RemoteTenant,
} from "../judge";
import type { Scanner, ScanContext, ScanError, ScannerResult } from "../scanner";
import { readWindowed } from "../array-summary";
import type { ServiceEndpointInboundFinding } from "./finding";
import { SERVICE_ENDPOINT_INBOUND_CHECK } from "./metadata";
import { serviceEndpointCandidatesQuery, serviceEndpointRowSchema, type ServiceEndpointRow } from "./query";

const remoteSubscriptionOf = (row: ServiceEndpointRow) =>
  idKey(parseResourceId(row.subnetId)?.subscriptionId ?? "");

/**
 * Whether the resource's firewall is closed, so the rule is the opening. Storage and Key Vault:
 * `networkAcls.defaultAction` Deny. Cosmos DB: `isVirtualNetworkFilterEnabled` true. Absent: not
 * known, judged as closed (the worse case), never as "no finding".
 */
export function firewallOf(row: ServiceEndpointRow): "closed" | "open" | "unknown" {
  if (row.rulePath === "properties.networkAcls.virtualNetworkRules") {
    const action = row.defaultAction.toLowerCase();
    return action === "deny" ? "closed" : action === "allow" ? "open" : "unknown";
  }
  const filter = row.virtualNetworkFilterEnabled.toLowerCase();
  return filter === "true" ? "closed" : filter === "false" ? "open" : "unknown";
}

/** Judges one rule; null when its subnet provably lives in our resource's tenant. */
export function classifyServiceEndpoint(
  row: ServiceEndpointRow,
  remote: RemoteTenant,
  rules: JudgeRules,
): ServiceEndpointInboundFinding | null {
  const relation = relationOf(row.tenantId, remote, rules);
  if (relation === null) return null;
  const remoteSubscriptionId = parseResourceId(row.subnetId)?.subscriptionId ?? "";
  const { status, entry } = statusOf(
    relation,
    {
      kind: "service-endpoint-inbound",
      localResourceId: row.containerId,
      remoteTenantId: remote.tenantId,
      remoteSubscriptionId,
      remoteResourceId: row.subnetId,
    },
    rules,
  );
  const firewall = firewallOf(row);
  const severity: Severity = status === "allowed" ? "info" : firewall === "open" ? "low" : "high";
  const finding: Omit<ServiceEndpointInboundFinding, "summary"> = {
    id: findingId("service-endpoint-inbound", row.id),
    kind: "service-endpoint-inbound",
    resourceId: row.containerId,
    localSubscriptionId: row.subscriptionId,
    localTenantId: row.tenantId,
    remoteSubscriptionId,
    remoteTenantId: remote.tenantId,
    remoteTenantName: remote.tenantName,
    relation,
    status,
    allowlistEntryId: entry?.id ?? null,
    severity,
    riskFactors:
      firewall === "open"
        ? ["open-to-all-networks"]
        : firewall === "unknown"
          ? ["default-action-not-reported"]
          : [],
    targetResourceId: row.containerId,
    subnetId: cleanText(row.subnetId),
    rule: row.rulePath,
  };
  const firewallText =
    firewall === "open"
      ? " (the resource is open to all networks anyway)"
      : firewall === "unknown"
        ? " (Azure did not say whether its firewall denies other networks)"
        : "";
  const summary =
    `'${nameOf(row.containerId)}' admits subnet '${nameOf(row.subnetId)}' ${whereText(finding)} ` +
    `through ${row.rulePath}${firewallText}, ${judgementText(status, entry)}.`;
  return { ...finding, summary };
}

async function scanServiceEndpoints(context: ScanContext): Promise<ScannerResult> {
  const source = SERVICE_ENDPOINT_INBOUND_CHECK.id;
  const errors: ScanError[] = [];
  const read = await readWindowed(
    context,
    source,
    {
      name: "virtual network rule",
      array: "rules",
      windowQuery: serviceEndpointCandidatesQuery,
      rowSchema: serviceEndpointRowSchema,
    },
    errors,
  );
  if (read === null) return { findings: [], counts: {}, errors };
  const findings = await judgeRows(read.rows, context, errors, {
    source,
    remoteSubscriptionOf,
    classify: classifyServiceEndpoint,
    describe: (row) => `Virtual network rule ${row.id}`,
  });
  return { findings, counts: {}, errors };
}

export const serviceEndpointInboundScanner: Scanner = {
  check: SERVICE_ENDPOINT_INBOUND_CHECK,
  scan: scanServiceEndpoints,
};
