import type { Severity } from "../scanners/finding";
import { FindingsStore } from "../store/findings-store";
import { ScanRunsStore } from "../store/scan-runs";
import type { Storage } from "../store/storage";
import type { StoredFinding } from "./reconcile";

export const LISTED_STATES = ["new", "open", "allowed", "expired-exception", "resolved"] as const;
export type ListedState = (typeof LISTED_STATES)[number];

/** A stored finding as people see it: "new" while the latest scan is the one that first saw it. */
export type ListedFinding = Omit<StoredFinding, "etag" | "pendingAlerts" | "state"> & { state: ListedState };

/**
 * How a stored finding is shown. Unchanged findings are not rewritten per scan, so an unresolved
 * one counts as seen by the latest complete scan; a stale one was last confirmed when its
 * subscription was last verified.
 */
export function listedOf(
  { etag: _etag, pendingAlerts: _pending, ...s }: StoredFinding,
  latest: { scanId?: string; lastComplete?: string },
): ListedFinding {
  return {
    ...s,
    state: s.state === "open" && s.firstScanId === latest.scanId ? "new" : s.state,
    lastSeen:
      s.state === "resolved"
        ? s.lastSeen
        : s.coverage
          ? s.coverage.lastVerified || s.lastSeen
          : (latest.lastComplete ?? s.lastSeen),
  };
}

/** The stored findings, filtered, oldest first. */
export async function listFindings(
  storage: Storage,
  filter: { state?: ListedState; severity?: Severity } = {},
): Promise<ListedFinding[]> {
  const runs = await new ScanRunsStore(storage).latest(50);
  const latest = { scanId: runs[0]?.scanId, lastComplete: runs.find((r) => r.complete)?.finishedAt };
  return (await new FindingsStore(storage).list())
    .map((s) => listedOf(s, latest))
    .filter(
      (s) =>
        (filter.state === undefined || s.state === filter.state) &&
        (filter.severity === undefined || s.finding.severity === filter.severity),
    )
    .sort((a, b) => a.firstSeen.localeCompare(b.firstSeen) || a.finding.id.localeCompare(b.finding.id));
}
