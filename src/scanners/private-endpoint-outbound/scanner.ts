import { idKey, nameOf, parseResourceId } from "../../azure/resource-id";
import { findingId } from "../finding";
import {
  connectionSeverity,
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
import type { PrivateEndpointOutboundFinding } from "./finding";
import { PRIVATE_ENDPOINT_OUTBOUND_CHECK } from "./metadata";
import { outboundCandidatesQuery, outboundRowSchema, type ConnectionArray, type OutboundRow } from "./query";

const remoteSubscriptionOf = (row: OutboundRow) =>
  idKey(parseResourceId(row.targetResourceId)?.subscriptionId ?? "");

/** Judges one connection; null when its target provably lives in the endpoint's own tenant. */
export function classifyOutbound(
  row: OutboundRow & { manual: boolean },
  remote: RemoteTenant,
  rules: JudgeRules,
): PrivateEndpointOutboundFinding | null {
  const relation = relationOf(row.tenantId, remote, rules);
  if (relation === null) return null;
  const remoteSubscriptionId = parseResourceId(row.targetResourceId)?.subscriptionId ?? "";
  const { status, entry } = statusOf(
    relation,
    {
      kind: "private-endpoint-outbound",
      localResourceId: row.containerId,
      remoteTenantId: remote.tenantId,
      remoteSubscriptionId,
      remoteResourceId: row.targetResourceId,
    },
    rules,
  );
  const finding: Omit<PrivateEndpointOutboundFinding, "summary"> = {
    id: findingId("private-endpoint-outbound", row.id),
    kind: "private-endpoint-outbound",
    resourceId: row.id,
    localSubscriptionId: row.subscriptionId,
    localTenantId: row.tenantId,
    remoteSubscriptionId,
    remoteTenantId: remote.tenantId,
    remoteTenantName: remote.tenantName,
    relation,
    status,
    allowlistEntryId: entry?.id ?? null,
    severity: connectionSeverity(status, row.connectionState),
    riskFactors: [],
    privateEndpointId: row.containerId,
    targetResourceId: row.targetResourceId,
    groupIds: row.groupIds ?? [],
    connectionState: row.connectionState,
    manual: row.manual,
  };
  const state = row.connectionState || "state not reported";
  const summary =
    `Private endpoint '${nameOf(row.containerId)}' has a ${row.manual ? "manual " : ""}connection (${state}) ` +
    `to '${nameOf(row.targetResourceId)}' ${whereText(finding)}, ${judgementText(status, entry)}.`;
  return { ...finding, summary };
}

async function scanOutbound(context: ScanContext): Promise<ScannerResult> {
  const source = PRIVATE_ENDPOINT_OUTBOUND_CHECK.id;
  const errors: ScanError[] = [];
  const rows: (OutboundRow & { manual: boolean })[] = [];
  let connections = 0;
  let endpoints = 0;
  const arrays: [ConnectionArray, boolean][] = [
    ["privateLinkServiceConnections", false],
    ["manualPrivateLinkServiceConnections", true],
  ];
  for (const [array, manual] of arrays) {
    const read = await readWindowed(
      context,
      source,
      {
        name: manual ? "manual private endpoint connection" : "private endpoint connection",
        array: manual ? "manual" : "automatic",
        windowQuery: (window) => outboundCandidatesQuery(array, window),
        rowSchema: outboundRowSchema,
      },
      errors,
    );
    if (!read) return { findings: [], counts: {}, errors };
    rows.push(...read.rows.map((row) => ({ ...row, manual })));
    connections += read.items;
    // An endpoint has connections of one sort: automatic or manual.
    endpoints += read.containers;
  }

  const findings = await judgeRows(rows, context, errors, {
    source,
    remoteSubscriptionOf,
    classify: classifyOutbound,
    describe: (row) => `Private endpoint connection ${row.id}`,
  });
  return {
    findings,
    counts: { privateEndpoints: endpoints, privateEndpointConnections: connections },
    errors,
  };
}

export const privateEndpointOutboundScanner: Scanner = {
  check: PRIVATE_ENDPOINT_OUTBOUND_CHECK,
  scan: scanOutbound,
};
