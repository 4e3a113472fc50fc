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
import { exposureFindingId } from "../private-link-service-exposure/scanner";
import type { PrivateEndpointInboundFinding } from "./finding";
import { PRIVATE_ENDPOINT_INBOUND_CHECK } from "./metadata";
import { inboundCandidatesQuery, inboundRowSchema, type InboundRow } from "./query";

const remoteSubscriptionOf = (row: InboundRow) =>
  idKey(parseResourceId(row.privateEndpointId)?.subscriptionId ?? "");

/** The exposure finding that let this subscription find or reach our private link service, if any. */
function exposureOf(row: InboundRow, remoteSubscriptionId: string): string | null {
  const listed = row.exposedTo.includes(idKey(remoteSubscriptionId))
    ? remoteSubscriptionId
    : row.exposedTo.includes("*")
      ? "*"
      : null;
  return listed && remoteSubscriptionId ? exposureFindingId(row.containerId, listed) : null;
}

/** Judges one connection; null when its private endpoint provably lives in our resource's tenant. */
export function classifyInbound(
  row: InboundRow,
  remote: RemoteTenant,
  rules: JudgeRules,
): PrivateEndpointInboundFinding | null {
  const relation = relationOf(row.tenantId, remote, rules);
  if (relation === null) return null;
  const remoteSubscriptionId = parseResourceId(row.privateEndpointId)?.subscriptionId ?? "";
  const { status, entry } = statusOf(
    relation,
    {
      kind: "private-endpoint-inbound",
      localResourceId: row.containerId,
      remoteTenantId: remote.tenantId,
      remoteSubscriptionId,
      remoteResourceId: row.privateEndpointId,
    },
    rules,
  );
  const finding: Omit<PrivateEndpointInboundFinding, "summary"> = {
    id: findingId("private-endpoint-inbound", row.id),
    kind: "private-endpoint-inbound",
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
    riskFactors: idKey(row.connectionState) === "pending" ? ["pending-request"] : [],
    targetResourceId: row.containerId,
    privateEndpointId: row.privateEndpointId,
    connectionState: row.connectionState,
    exposureFindingId: exposureOf(row, remoteSubscriptionId),
  };
  const state = row.connectionState || "state not reported";
  const summary =
    `'${nameOf(row.containerId)}' has a connection (${state}) from private endpoint ` +
    `'${nameOf(row.privateEndpointId)}' ${whereText(finding)}, ${judgementText(status, entry)}.`;
  return { ...finding, summary };
}

async function scanInbound(context: ScanContext): Promise<ScannerResult> {
  const source = PRIVATE_ENDPOINT_INBOUND_CHECK.id;
  const errors: ScanError[] = [];
  const read = await readWindowed(
    context,
    source,
    {
      name: "inbound private endpoint connection",
      array: "inbound",
      windowQuery: inboundCandidatesQuery,
      rowSchema: inboundRowSchema,
    },
    errors,
  );
  if (!read) return { findings: [], counts: {}, errors };
  const findings = await judgeRows(read.rows, context, errors, {
    source,
    remoteSubscriptionOf,
    classify: classifyInbound,
    describe: (row) => `Private endpoint connection ${row.id}`,
  });
  return { findings, counts: { privateEndpointConnections: read.items }, errors };
}

export const privateEndpointInboundScanner: Scanner = {
  check: PRIVATE_ENDPOINT_INBOUND_CHECK,
  scan: scanInbound,
};
