import { describe, expect, it } from "@jest/globals";
import { listedOf } from "../../src/scan/findings-view";
import type { StoredFinding } from "../../src/findings/reconcile";
import { demoFinding } from "../helpers/alert-samples";
import {
  nextRecords,
  withLatestVerification,
  type PastScan,
  type SubscriptionRecord,
} from "../../src/findings/coverage";

const SUB = "00000000-0000-4000-8000-0000000000a1";
const record: SubscriptionRecord = {
  subscriptionId: SUB,
  lastVerifiedAt: "2026-11-01T00:00:00.000Z",
  lastVerifiedScanId: "s1",
  managementGroups: ["mg-prod"],
  lostSince: null,
};
const run = (scanId: string, finishedAt: string, more: Partial<PastScan> = {}): PastScan => ({
  scanId,
  finishedAt,
  complete: true,
  scope: { managementGroups: [], subscriptions: [] },
  lostSubscriptions: [],
  ...more,
});

describe("subscription coverage records", () => {
  it("an unchanged subscription that still holds findings is not rewritten", () => {
    const { writes } = nextRecords(
      new Map([[SUB, record]]),
      [{ subscriptionId: SUB, managementGroups: ["MG-Prod"] }],
      new Set(),
      { scanId: "s2", at: "2026-11-02T00:00:00.000Z" },
      new Set([SUB]),
    );
    expect(writes).toEqual([]);
  });

  it("a record is written when it moves between management groups, comes back, or newly holds findings", () => {
    const at = { scanId: "s2", at: "2026-11-02T00:00:00.000Z" };
    const seen = (groups: string[]) => [{ subscriptionId: SUB, managementGroups: groups }];
    expect(
      nextRecords(new Map([[SUB, record]]), seen(["mg-dev"]), new Set(), at, new Set([SUB])).writes,
    ).toHaveLength(1);
    const lost = { ...record, lostSince: "2026-11-01T12:00:00.000Z" };
    expect(
      nextRecords(new Map([[SUB, lost]]), seen(["mg-prod"]), new Set(), at, new Set([SUB])).writes,
    ).toEqual([{ ...record, lastVerifiedAt: at.at, lastVerifiedScanId: "s2" }]);
    expect(
      nextRecords(new Map([[SUB, record]]), seen(["mg-prod"]), new Set(), at, new Set()).writes,
    ).toHaveLength(1);
  });

  it("the last verification comes from the newest complete scan whose scope held the subscription", () => {
    const known = new Map([[SUB, record]]);
    const runs = [
      run("s4", "2026-11-04T00:00:00.000Z", { complete: false }),
      run("s3", "2026-11-03T00:00:00.000Z", { scope: { managementGroups: [], subscriptions: ["other"] } }),
      run("s2", "2026-11-02T00:00:00.000Z", { scope: { managementGroups: ["mg-prod"], subscriptions: [] } }),
    ];
    expect(withLatestVerification(known, runs).get(SUB)).toMatchObject({
      lastVerifiedAt: "2026-11-02T00:00:00.000Z",
      lastVerifiedScanId: "s2",
    });
    // A scan that lost it did not verify it, and a lost record keeps the time it was last seen.
    expect(
      withLatestVerification(known, [
        run("s2", "2026-11-02T00:00:00.000Z", { lostSubscriptions: [SUB] }),
      ]).get(SUB),
    ).toEqual(record);
    const lost = { ...record, lostSince: "2026-11-01T12:00:00.000Z" };
    expect(withLatestVerification(new Map([[SUB, lost]]), runs).get(SUB)).toEqual(lost);
  });
});

describe("how stored findings are listed", () => {
  const { firstSeen: _firstSeen, ...finding } = demoFinding();
  const stored = (over: Partial<StoredFinding>): StoredFinding => ({
    finding,
    state: "open",
    firstSeen: "2026-11-01T00:00:00.000Z",
    firstScanId: "s1",
    lastSeen: "2026-11-01T00:00:00.000Z",
    lastScanId: "s1",
    history: [],
    pendingAlerts: [],
    ...over,
  });
  const latest = { scanId: "s9", lastComplete: "2026-11-09T00:00:00.000Z" };

  it("an open finding was seen by the latest complete scan; a stale one when its subscription was verified", () => {
    expect(listedOf(stored({}), latest).lastSeen).toBe(latest.lastComplete);
    const stale = stored({ coverage: { state: "stale", lastVerified: "2026-11-05T00:00:00.000Z" } });
    expect(listedOf(stale, latest).lastSeen).toBe("2026-11-05T00:00:00.000Z");
    expect(listedOf(stored({ state: "resolved" }), latest).lastSeen).toBe("2026-11-01T00:00:00.000Z");
    expect(listedOf(stored({ firstScanId: "s9" }), latest).state).toBe("new");
  });
});
