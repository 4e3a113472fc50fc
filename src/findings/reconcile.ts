import { idKey } from "../azure/resource-id";
import type { AlertMessage } from "./alert-message";
import { TENANT_WIDE_KINDS } from "../scanners/finding";
import { checkOf, type Finding } from "../scanners/findings";
import { earliestCreator } from "../scanners/log-analytics-evidence/attach";
import type { CoverageFacts } from "./coverage";

/** Where a stored finding stands. "new" is not stored: a finding is new in the scan that first saw it. */
export type FindingState = "open" | "allowed" | "expired-exception" | "resolved";

export interface HistoryEvent {
  at: string;
  scanId: string;
  /** "stale": its subscription went out of the scan's sight; "verified": seen again since. */
  event: "new" | "reopened" | "resolved" | "changed" | "stale" | "verified";
  state: FindingState;
}

/** A finding the latest scans of its scope could not look at: kept as it was, not confirmed. */
export interface StaleCoverage {
  state: "stale";
  /** When a scan last saw the finding's subscription (or the finding), before it went out of sight. */
  lastVerified: string;
}

/** A finding as kept between scans: the last observation plus its lifecycle and history. */
export interface StoredFinding {
  finding: Finding;
  state: FindingState;
  firstSeen: string;
  firstScanId: string;
  lastSeen: string;
  lastScanId: string;
  history: HistoryEvent[];
  /** Present while the finding's subscription is out of the scan's sight. */
  coverage?: StaleCoverage;
  /** Alerts written with the finding and not yet on the queue (the outbox: they survive a crash). */
  pendingAlerts: AlertMessage[];
  /** Concurrency token of the stored version this was read from; absent for a finding not stored yet. */
  etag?: string;
}

export interface Delta {
  new: string[];
  resolved: string[];
  reopened: string[];
  changed: string[];
}

export interface ScanFacts {
  scanId: string;
  at: string;
  complete: boolean;
  /**
   * Where the scan looked. Without it the scan counts as covering every stored finding's
   * subscription (a whole-estate scan that did not check visibility).
   */
  coverage?: CoverageFacts;
  /**
   * Lower-case ids of the VNets a scoped check re-read (change poller, Event Grid): only their
   * peering findings may be resolved or turn stale; every other finding is left as it is.
   */
  vnets?: ReadonlySet<string>;
  /**
   * The finding kinds whose check ran. A kind whose check was skipped (or that is missing here)
   * was not looked at, so its stored findings are left as they are. Without it, every kind ran.
   */
  checked?: ReadonlySet<string>;
  /**
   * Ids of the stored peering findings ARM confirmed gone. When set (a full scan, whose Resource
   * Graph view can lag ARM without bound), no other peering finding is resolved in this scan.
   */
  peeringsGone?: ReadonlySet<string>;
}

export const MAX_HISTORY = 50;

const stateOf = (finding: Finding): FindingState =>
  finding.status === "violation" ? "open" : finding.status;

/** The fields whose change is worth a write and an alert (common, then the check's own); the summary follows from them. */
function material(f: Finding): string {
  return JSON.stringify([
    f.kind,
    f.status,
    f.severity,
    f.relation,
    f.remoteTenantId,
    f.remoteTenantName,
    f.allowlistEntryId,
    f.riskFactors,
    f.resourceId,
    ...checkOf(f).material(f),
  ]);
}

/** A finding seen again (changed or back); a resolved one keeps when it was last seen. */
function record(
  stored: StoredFinding,
  event: HistoryEvent,
  finding: Finding,
  scan: ScanFacts,
): StoredFinding {
  const seen = event.event !== "resolved" && event.event !== "stale";
  const { coverage: _coverage, ...rest } = stored;
  return {
    ...rest,
    ...(event.event === "stale"
      ? { coverage: { state: "stale", lastVerified: lastVerifiedOf(stored, scan) } }
      : {}),
    finding,
    state: event.state,
    lastSeen: seen ? scan.at : stored.lastSeen,
    lastScanId: seen ? scan.scanId : stored.lastScanId,
    history: [...stored.history, event].slice(-MAX_HISTORY),
  };
}

function lastVerifiedOf(stored: StoredFinding, scan: ScanFacts): string {
  const sub = idKey(stored.finding.localSubscriptionId);
  const verified = scan.coverage?.lastVerified.get(sub);
  return verified && verified > stored.lastSeen ? verified : stored.lastSeen;
}

/** What a set of writes means for the report: which findings are new, resolved, reopened or changed. */
export function deltaOf(writes: readonly StoredFinding[]): Delta {
  const delta: Delta = { new: [], resolved: [], reopened: [], changed: [] };
  for (const write of writes) {
    // "stale" and "verified" say whether the finding could be looked at, not what it is.
    const event = write.history[write.history.length - 1]!.event;
    if (event === "new" || event === "reopened" || event === "resolved" || event === "changed")
      delta[event].push(write.finding.id);
  }
  return delta;
}

/**
 * Only an Event Grid event names who wrote a peering, and only a create may set its creator: a
 * write event for a peering with no earlier record (or one resolved, so created again) names its
 * creator; any later write event names whoever changed it, kept as `lastChangedBy`, and the first
 * creator stored stays.
 */
export function keepCreator(observed: Finding, before: StoredFinding | undefined): Finding {
  if (observed.kind !== "vnet-peering" || before?.finding.kind !== "vnet-peering") return observed;
  if (before.state === "resolved") return observed;
  const { createdBy: writer, ...rest } = observed;
  const createdBy = before.finding.createdBy;
  const lastChangedBy = writer ?? before.finding.lastChangedBy;
  const kept: Finding = {
    ...rest,
    ...(createdBy ? { createdBy } : {}),
    ...(lastChangedBy ? { lastChangedBy } : {}),
  };
  if (!createdBy || !kept.evidence) return kept;
  // The Activity log's first write and Event Grid's record of the creation: the earliest wins.
  return {
    ...kept,
    evidence: {
      ...kept.evidence,
      createdBy: earliestCreator(kept.evidence.createdBy, {
        ...createdBy,
        principalName: null,
        homeTenantId: null,
        source: "event-grid",
      }),
    },
  };
}

/** A scoped re-check of some VNets looked at their peerings and nothing else. */
const withinVnets = (finding: Finding, vnets: ReadonlySet<string>) =>
  finding.kind === "vnet-peering" && vnets.has(idKey(finding.localVnetId));

/**
 * Compares this scan's findings with the stored ones and returns only what must be written
 * (`deltaOf` says what the writes mean).
 * An unchanged finding needs no write. Only a complete scan resolves a finding it did not see,
 * and only inside its coverage: a finding whose subscription the scan was asked to look at but
 * could not see turns stale (kept as it was); one outside the asked scope is not touched.
 */
export function reconcile(
  stored: ReadonlyMap<string, StoredFinding>,
  current: readonly Finding[],
  scan: ScanFacts,
): StoredFinding[] {
  const writes: StoredFinding[] = [];
  const seen = new Set<string>();

  for (const observed of current) {
    seen.add(observed.id);
    const before = stored.get(observed.id);
    const finding = keepCreator(observed, before);
    const state = stateOf(finding);
    if (!before) {
      writes.push({
        finding,
        state,
        firstSeen: scan.at,
        firstScanId: scan.scanId,
        lastSeen: scan.at,
        lastScanId: scan.scanId,
        history: [{ at: scan.at, scanId: scan.scanId, event: "new", state }],
        pendingAlerts: [],
      });
    } else if (before.state === "resolved") {
      writes.push(
        record(before, { at: scan.at, scanId: scan.scanId, event: "reopened", state }, finding, scan),
      );
    } else if (material(before.finding) !== material(finding)) {
      writes.push(
        record(before, { at: scan.at, scanId: scan.scanId, event: "changed", state }, finding, scan),
      );
    } else if (before.coverage) {
      writes.push(
        record(before, { at: scan.at, scanId: scan.scanId, event: "verified", state }, finding, scan),
      );
    }
  }

  for (const before of stored.values()) {
    if (before.state === "resolved" || seen.has(before.finding.id)) continue;
    // Resolved means looked at and gone: a check that did not run looked at nothing.
    if (scan.checked && !scan.checked.has(before.finding.kind)) continue;
    if (scan.vnets && !withinVnets(before.finding, scan.vnets)) continue;
    const sub = idKey(before.finding.localSubscriptionId);
    const covered =
      TENANT_WIDE_KINDS.has(before.finding.kind) || (scan.coverage ? scan.coverage.covered.has(sub) : true);
    if (covered && scan.complete) {
      if (
        before.finding.kind === "vnet-peering" &&
        scan.peeringsGone &&
        !scan.peeringsGone.has(before.finding.id)
      )
        continue;
      writes.push(
        record(
          before,
          { at: scan.at, scanId: scan.scanId, event: "resolved", state: "resolved" },
          before.finding,
          scan,
        ),
      );
    } else if (!before.coverage && scan.coverage?.unseen.has(sub)) {
      writes.push(
        record(
          before,
          { at: scan.at, scanId: scan.scanId, event: "stale", state: before.state },
          before.finding,
          scan,
        ),
      );
    }
  }
  return writes;
}
