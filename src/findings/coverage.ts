import { idKey } from "../azure/resource-id";
import type { ScanScope } from "../azure/resource-graph";

/** What the scanner last knew of a subscription that holds findings (kept between scans). */
export interface SubscriptionRecord {
  /** Lower-case. */
  subscriptionId: string;
  /** When a scan last saw this subscription through Resource Graph. */
  lastVerifiedAt: string;
  lastVerifiedScanId: string;
  /** Its management group ancestors (lower-case names) when last verified. */
  managementGroups: string[];
  /** Since when it is out of sight of the scope that covered it; null while it is visible. */
  lostSince: string | null;
}

/** A subscription as Resource Graph's `resourcecontainers` showed it to this scan. */
export interface VisibleSubscription {
  subscriptionId: string;
  managementGroups: string[];
}

/** What one scan covered: the part of reconciliation that depends on where it looked. */
export interface CoverageFacts {
  /** Subscriptions (lower-case) this scan was asked to look at and Resource Graph showed it. */
  covered: ReadonlySet<string>;
  /** Subscriptions (lower-case) inside the asked scope that the scan could not see. */
  unseen: ReadonlySet<string>;
  /** When each subscription was last verified before this scan (for findings turning stale). */
  lastVerified: ReadonlyMap<string, string>;
}

/** The report's `coverage`: what the scan was asked for, what it saw, and what it lost sight of. */
export interface ScanCoverage {
  scope: ScanScope;
  /** Subscriptions holding findings (stored or new) that Resource Graph showed this scan. */
  subscriptions: string[];
  /** Subscriptions that held unresolved findings and are no longer visible to this scope. */
  lostSubscriptions: string[];
}

const lower = (ids: Iterable<string>) => [...new Set([...ids].map((id) => idKey(id)))].sort();

/**
 * Whether a subscription that Resource Graph did not show belongs to the asked scope: every
 * subscription for a whole-tenant scan, the listed ones for a narrowed scan, and for a
 * management-group scan those that were under one of its groups when last verified.
 */
export function expectedInScope(
  subscriptionId: string,
  scope: ScanScope,
  known: SubscriptionRecord | undefined,
): boolean {
  const id = idKey(subscriptionId);
  if (scope.managementGroups.length > 0) {
    const groups = new Set(scope.managementGroups.map((g) => idKey(g)));
    return known?.managementGroups.some((g) => groups.has(g)) ?? false;
  }
  if (scope.subscriptions.length > 0) return scope.subscriptions.some((s) => idKey(s) === id);
  return true;
}

/**
 * Subscriptions this scan's own inventory returned rows from: Resource Graph showed them inside
 * the scope, so they need no second question. Under a management-group scope they are under one
 * of its groups; what was known of their ancestors is kept.
 */
export function seenByInventory(
  found: Iterable<string>,
  scope: ScanScope,
  known: ReadonlyMap<string, SubscriptionRecord>,
): VisibleSubscription[] {
  return lower(found).map((subscriptionId) => ({
    subscriptionId,
    managementGroups: lower([
      ...(known.get(subscriptionId)?.managementGroups ?? []),
      ...scope.managementGroups,
    ]),
  }));
}

export interface CoverageInput {
  scope: ScanScope;
  /** Subscriptions that hold stored unresolved findings. */
  stored: Iterable<string>;
  /** Subscriptions where this scan found something. */
  found: Iterable<string>;
  /** What Resource Graph showed of `stored` and `found`; null when asking it failed. */
  visible: readonly VisibleSubscription[] | null;
  known: ReadonlyMap<string, SubscriptionRecord>;
}

/**
 * Decides what a scan covered. A subscription is covered only when Resource Graph showed it
 * inside the asked scope; when that could not be asked, nothing is covered and nothing is lost,
 * because absence is never inferred from not looking.
 */
export function decideCoverage(input: CoverageInput): { facts: CoverageFacts; coverage: ScanCoverage } {
  const stored = lower(input.stored);
  const visible = new Set((input.visible ?? []).map((v) => idKey(v.subscriptionId)));
  const lastVerified = new Map(
    [...input.known.values()].map((r) => [r.subscriptionId, r.lastVerifiedAt] as const),
  );
  const unseen =
    input.visible === null
      ? []
      : stored.filter((id) => !visible.has(id) && expectedInScope(id, input.scope, input.known.get(id)));
  return {
    facts: { covered: visible, unseen: new Set(unseen), lastVerified },
    coverage: {
      scope: input.scope,
      subscriptions: [...visible].sort(),
      lostSubscriptions: unseen,
    },
  };
}

/** A finished scan as far as coverage cares: complete scans saw everything of their scope. */
export interface PastScan {
  scanId: string;
  finishedAt: string;
  complete: boolean;
  scope: ScanScope;
  lostSubscriptions: readonly string[];
}

/**
 * Records brought up to the latest complete scan that verified them. A record is written only
 * when something about it changes, so between changes its verification time comes from the scan
 * runs: a complete scan whose scope held a subscription that holds findings, and did not lose it,
 * saw it (it would have been lost otherwise).
 */
export function withLatestVerification(
  known: ReadonlyMap<string, SubscriptionRecord>,
  runs: readonly PastScan[],
): Map<string, SubscriptionRecord> {
  const complete = runs.filter((r) => r.complete).sort((a, b) => b.finishedAt.localeCompare(a.finishedAt));
  const result = new Map<string, SubscriptionRecord>();
  for (const [id, record] of known) {
    const latest = record.lostSince
      ? undefined
      : complete.find(
          (r) =>
            r.finishedAt > record.lastVerifiedAt &&
            expectedInScope(id, r.scope, record) &&
            !r.lostSubscriptions.some((lost) => idKey(lost) === id),
        );
    result.set(
      id,
      latest ? { ...record, lastVerifiedAt: latest.finishedAt, lastVerifiedScanId: latest.scanId } : record,
    );
  }
  return result;
}

/**
 * The subscription records after a scan: unseen ones lost since the first scan that missed them;
 * visible ones written only when new, back in sight, moved between management groups, or newly
 * holding findings (from then on every scan of their scope checks them). Only records that change
 * are returned, so an unchanged rescan writes none.
 */
export function nextRecords(
  known: ReadonlyMap<string, SubscriptionRecord>,
  visible: readonly VisibleSubscription[],
  unseen: ReadonlySet<string>,
  scan: { scanId: string; at: string },
  /** Subscriptions (lower-case) that held unresolved findings before this scan. */
  holding: ReadonlySet<string>,
): { writes: SubscriptionRecord[]; newlyLost: SubscriptionRecord[] } {
  const writes: SubscriptionRecord[] = [];
  const newlyLost: SubscriptionRecord[] = [];
  for (const v of visible) {
    const id = idKey(v.subscriptionId);
    const before = known.get(id);
    const managementGroups = lower(v.managementGroups);
    const unchanged =
      before !== undefined &&
      before.lostSince === null &&
      holding.has(id) &&
      JSON.stringify(before.managementGroups) === JSON.stringify(managementGroups);
    if (unchanged) continue;
    writes.push({
      subscriptionId: id,
      lastVerifiedAt: scan.at,
      lastVerifiedScanId: scan.scanId,
      managementGroups,
      lostSince: null,
    });
  }
  for (const id of unseen) {
    const before = known.get(id);
    if (before?.lostSince) continue;
    const lost: SubscriptionRecord = before
      ? { ...before, lostSince: scan.at }
      : {
          subscriptionId: id,
          lastVerifiedAt: "",
          lastVerifiedScanId: "",
          managementGroups: [],
          lostSince: scan.at,
        };
    writes.push(lost);
    newlyLost.push(lost);
  }
  return { writes, newlyLost };
}
