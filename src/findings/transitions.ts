import { checkOf } from "../scanners/findings";
import { driftTitle } from "../scanners/cross-tenant-access-policy/drift";
import type { StoredFinding } from "./reconcile";
import type { AlertKind, AlertMessage } from "./alert-message";

/**
 * Which alert, if any, a finding's latest change calls for. Becoming allowed, or changing while
 * it stays open, is no news; a finding that needed action and went away is.
 */
export function alertKindOf(write: StoredFinding): AlertKind | undefined {
  const last = write.history[write.history.length - 1]!;
  const previous = write.history[write.history.length - 2]?.state;
  const needsAction = (state: string | undefined) => state === "open" || state === "expired-exception";
  switch (last.event) {
    case "new":
      return last.state === "open"
        ? "violation-new"
        : last.state === "expired-exception"
          ? "exception-expired"
          : undefined;
    case "reopened":
      return needsAction(last.state) ? "violation-reopened" : undefined;
    case "resolved":
      return needsAction(previous) ? "finding-resolved" : undefined;
    case "stale":
    case "verified":
      // Coverage, not the finding, changed: the scan alerts once per subscription instead.
      return undefined;
    case "changed":
      // A cross-tenant access setting that changed is news either way, unless an allowlist entry now
      // covers it. A partner's setting is a finding only while open: allowed then open is an entry gone.
      if (write.finding?.kind === "cross-tenant-access-policy") {
        if (write.finding.status === "allowed" && write.finding.allowlistEntryId) return undefined;
        if (write.finding.remoteTenantId !== null && previous === "allowed")
          return last.state === "open" ? "violation-new" : undefined;
        return "setting-changed";
      }
      if (last.state === "expired-exception" && previous !== "expired-exception") return "exception-expired";
      return last.state === "open" && previous === "allowed" ? "violation-new" : undefined;
  }
}

/** The alert for a finding write, keyed by finding, transition and scan so every copy is one alert. */
export function findingAlert(write: StoredFinding): AlertMessage | undefined {
  const kind = alertKindOf(write);
  if (!kind) return undefined;
  const last = write.history[write.history.length - 1]!;
  const f = write.finding;
  const previous = write.history[write.history.length - 2]?.state;
  const title =
    kind === "finding-resolved"
      ? checkOf(f).resolvedTitle(f)
      : kind === "setting-changed" && f.kind === "cross-tenant-access-policy"
        ? driftTitle(f, previous)
        : f.summary;
  return {
    schemaVersion: 1,
    kind,
    idempotencyKey: `${f.id}:${kind}:${last.scanId}`,
    scanId: last.scanId,
    createdAt: last.at,
    // A setting closed to meet its baseline is good news, said as info like a resolution.
    severity: kind === "finding-resolved" ? "info" : f.severity,
    title,
    finding: { ...f, firstSeen: write.firstSeen },
  };
}
