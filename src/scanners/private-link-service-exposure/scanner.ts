import { idKey, nameOf } from "../../azure/resource-id";
import { cleanText, MAX_NAME_LENGTH } from "../../text";
import { findingId, type Relation, type Severity } from "../finding";
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
import type { PrivateLinkServiceExposureFinding } from "./finding";
import { PRIVATE_LINK_SERVICE_EXPOSURE_CHECK } from "./metadata";
import { exposureCandidatesQuery, exposureRowId, exposureRowSchema, type ExposureRow } from "./query";

const EVERYONE = "*";
const isEveryone = (row: ExposureRow) => row.subscription.trim() === EVERYONE;
const remoteSubscriptionOf = (row: ExposureRow) => idKey(row.subscription.trim());

/** The exposure finding's id for a private link service and a subscription it lists (or `*`). */
export const exposureFindingId = (serviceId: string, subscription: string) =>
  findingId("private-link-service-exposure", exposureRowId(serviceId, subscription.trim()));

/** Judges one listed subscription; null when it provably lives in the service's tenant. */
export function classifyExposure(
  row: ExposureRow,
  remote: RemoteTenant,
  rules: JudgeRules,
): PrivateLinkServiceExposureFinding | null {
  const everyone = isEveryone(row);
  const relation: Relation | null = everyone ? "cross-tenant" : relationOf(row.tenantId, remote, rules);
  if (relation === null) return null;
  // Text from the service's own properties, still cleaned and bounded where it enters a finding.
  const subscription = cleanText(row.subscription.trim(), MAX_NAME_LENGTH);
  const setting = row.autoApproval ? "autoApproval" : "visibility";
  const { status, entry } = statusOf(
    relation,
    {
      kind: "private-link-service-exposure",
      localResourceId: row.containerId,
      remoteTenantId: everyone ? null : remote.tenantId,
      remoteSubscriptionId: everyone ? "" : subscription,
      // `*` names no tenant or subscription: an entry allows it by naming the service itself.
      remoteResourceId: everyone ? row.containerId : "",
    },
    rules,
  );
  const severity: Severity = status === "allowed" ? "info" : setting === "autoApproval" ? "high" : "medium";
  const finding: Omit<PrivateLinkServiceExposureFinding, "summary"> = {
    id: exposureFindingId(row.containerId, subscription),
    kind: "private-link-service-exposure",
    resourceId: row.containerId,
    localSubscriptionId: row.subscriptionId,
    localTenantId: row.tenantId,
    remoteSubscriptionId: everyone ? "" : subscription,
    remoteTenantId: everyone ? null : remote.tenantId,
    remoteTenantName: everyone ? null : remote.tenantName,
    relation,
    status,
    allowlistEntryId: entry?.id ?? null,
    severity,
    riskFactors: [
      ...(everyone ? ["any-subscription"] : []),
      ...(setting === "autoApproval" ? ["auto-approval"] : []),
    ],
    setting,
    subscriptions: [subscription],
  };
  const who = everyone
    ? "every subscription of every tenant (*)"
    : `subscription ${subscription} ${whereText(finding)}`;
  const what =
    setting === "autoApproval" ? "approves private endpoint connections automatically from" : "is visible to";
  const summary = `Private link service '${nameOf(row.containerId)}' ${what} ${who}, ${judgementText(status, entry)}.`;
  return { ...finding, summary };
}

async function scanExposure(context: ScanContext): Promise<ScannerResult> {
  const source = PRIVATE_LINK_SERVICE_EXPOSURE_CHECK.id;
  const errors: ScanError[] = [];
  const read = await readWindowed(
    context,
    source,
    {
      name: "private link service exposure",
      array: "entries",
      windowQuery: exposureCandidatesQuery,
      rowSchema: exposureRowSchema,
    },
    errors,
  );
  if (read === null) return { findings: [], counts: {}, errors };
  const findings = await judgeRows(read.rows, context, errors, {
    source,
    // "*" names no subscription: nothing to resolve.
    remoteSubscriptionOf: (row) => (isEveryone(row) ? null : remoteSubscriptionOf(row)),
    classify: classifyExposure,
    describe: (row) => `Private link service ${row.containerId}`,
  });
  return { findings, counts: {}, errors };
}

export const privateLinkServiceExposureScanner: Scanner = {
  check: PRIVATE_LINK_SERVICE_EXPOSURE_CHECK,
  scan: scanExposure,
};
