import type { Severity } from "../scanners/finding";
import { odata } from "@azure/data-tables";
import { FindingsStore, type TablePosition } from "../store/findings-store";
import { ScanRunsStore } from "../store/scan-runs";
import type { Storage } from "../store/storage";
import type { StoredFinding } from "../findings/reconcile";

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

const latestRuns = (storage: Storage) => new ScanRunsStore(storage).latestIds(50);

/** The table filter of a listed state and severity ("new" and "open" split on the latest scan). */
function tableFilter(
  filter: { state?: ListedState; severity?: Severity },
  latestScanId: string | undefined,
): string | undefined {
  const parts: string[] = [];
  if (filter.state === "new" || filter.state === "open") {
    parts.push(odata`state eq ${"open"}`);
    if (filter.state === "new") parts.push(odata`firstScanId eq ${latestScanId ?? ""}`);
    else if (latestScanId) parts.push(odata`firstScanId ne ${latestScanId}`);
  } else if (filter.state) parts.push(odata`state eq ${filter.state}`);
  if (filter.severity) parts.push(odata`severity eq ${filter.severity}`);
  return parts.length > 0 ? parts.join(" and ") : undefined;
}

export interface FindingsPage {
  findings: ListedFinding[];
  next?: TablePosition;
}

/** Page reads under way, per storage account: an identical request joins one instead of starting its own. */
const inFlight = new WeakMap<Storage, Map<string, Promise<FindingsPage>>>();

/**
 * One page of the stored findings, filtered in the query, in table order: what
 * `GET /api/findings` serves, so a request costs a page, not the table. `next` is where the
 * following page starts (absent on the last); a page may hold fewer than `limit` and still have one.
 * Requests for the same page while it is being read share that read (a dashboard's many viewers
 * cost one query, not one each); nothing is kept once it is answered.
 */
export function listFindingsPage(
  storage: Storage,
  filter: { state?: ListedState; severity?: Severity },
  limit: number,
  from?: TablePosition,
): Promise<FindingsPage> {
  const key = JSON.stringify([filter.state ?? "", filter.severity ?? "", limit, from ?? null]);
  let reads = inFlight.get(storage);
  if (!reads) inFlight.set(storage, (reads = new Map()));
  const running = reads.get(key);
  if (running) return running;
  const read = (async () => {
    const latest = await latestRuns(storage);
    const page = await new FindingsStore(storage).page(tableFilter(filter, latest.scanId), limit, from);
    return { ...page, findings: page.findings.map((s) => listedOf(s, latest)) };
  })().finally(() => reads.delete(key));
  reads.set(key, read);
  return read;
}

/** The stored findings, filtered, oldest first. */
export async function listFindings(
  storage: Storage,
  filter: { state?: ListedState; severity?: Severity } = {},
): Promise<ListedFinding[]> {
  const latest = await latestRuns(storage);
  return (await new FindingsStore(storage).list())
    .map((s) => listedOf(s, latest))
    .filter(
      (s) =>
        (filter.state === undefined || s.state === filter.state) &&
        (filter.severity === undefined || s.finding.severity === filter.severity),
    )
    .sort((a, b) => a.firstSeen.localeCompare(b.firstSeen) || a.finding.id.localeCompare(b.finding.id));
}
