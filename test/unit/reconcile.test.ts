import { describe, expect, it } from "@jest/globals";
import { findingAlert } from "../../src/findings/transitions";
import { deltaOf, reconcile, type StoredFinding } from "../../src/findings/reconcile";
import type { PeeringFinding } from "../../src/scanners/peering/finding";

const finding = (id: string, over: Partial<PeeringFinding> = {}): PeeringFinding => ({
  id,
  kind: "vnet-peering",
  resourceId: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/virtualNetworkPeerings/${id}`,
  localVnetId: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v",
  localSubscriptionId: "s",
  localTenantId: "t",
  remoteVnetId: "/subscriptions/r/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/x",
  remoteSubscriptionId: "r",
  remoteTenantId: "u",
  remoteTenantName: null,
  relation: "cross-tenant",
  peeringState: "Connected",
  peeringSyncLevel: "FullyInSync",
  allowForwardedTraffic: false,
  allowGatewayTransit: false,
  useRemoteGateways: false,
  remoteAddressPrefixes: [],
  status: "violation",
  allowlistEntryId: null,
  severity: "high",
  riskFactors: [],
  summary: "s",
  ...over,
});

const scan = (scanId: string, complete = true) => ({
  scanId,
  at: `2026-11-0${scanId.slice(-1)}T00:00:00Z`,
  complete,
});

function apply(stored: Map<string, StoredFinding>, writes: StoredFinding[]) {
  for (const w of writes) stored.set(w.finding.id, w);
}

describe("reconcile", () => {
  it("follows a finding through new, unchanged, changed, resolved and reopened", () => {
    const stored = new Map<string, StoredFinding>();
    let writes = reconcile(stored, [finding("a"), finding("b")], scan("s1"));
    expect(deltaOf(writes)).toEqual({ new: ["a", "b"], resolved: [], reopened: [], changed: [] });
    apply(stored, writes);

    expect(reconcile(stored, [finding("a"), finding("b", { summary: "reworded" })], scan("s2"))).toEqual([]);

    writes = reconcile(
      stored,
      [finding("a", { status: "allowed", severity: "info", allowlistEntryId: "e" }), finding("b")],
      scan("s3"),
    );
    expect(deltaOf(writes).changed).toEqual(["a"]);
    expect(writes[0]!.state).toBe("allowed");
    apply(stored, writes);

    writes = reconcile(
      stored,
      [finding("a", { status: "allowed", severity: "info", allowlistEntryId: "e" })],
      scan("s4"),
    );
    expect(deltaOf(writes).resolved).toEqual(["b"]);
    expect(writes[0]).toMatchObject({ state: "resolved", lastSeen: "2026-11-01T00:00:00Z" });
    apply(stored, writes);

    writes = reconcile(
      stored,
      [finding("a", { status: "allowed", severity: "info", allowlistEntryId: "e" }), finding("b")],
      scan("s5"),
    );
    expect(deltaOf(writes).reopened).toEqual(["b"]);
    expect(writes[0]).toMatchObject({
      state: "open",
      firstSeen: "2026-11-01T00:00:00Z",
      firstScanId: "s1",
      lastSeen: "2026-11-05T00:00:00Z",
    });
    expect(writes[0]!.history.map((h) => h.event)).toEqual(["new", "resolved", "reopened"]);
  });

  it("never resolves from an incomplete scan", () => {
    const stored = new Map<string, StoredFinding>();
    apply(stored, reconcile(stored, [finding("a")], scan("s1")));
    expect(reconcile(stored, [], scan("s2", false))).toEqual([]);
  });

  it("outside coverage a finding turns stale once, without alert or delta, and is verified when seen again", () => {
    const stored = new Map<string, StoredFinding>();
    apply(
      stored,
      reconcile(stored, [finding("a"), finding("b", { localSubscriptionId: "other" })], scan("s1")),
    );
    const lost = {
      covered: new Set(["other"]),
      unseen: new Set(["s"]),
      lastVerified: new Map([["s", "2026-11-01T12:00:00Z"]]),
    };
    let writes = reconcile(stored, [finding("b", { localSubscriptionId: "other" })], {
      ...scan("s2"),
      coverage: lost,
    });
    expect(writes.map((w) => [w.finding.id, w.state, w.coverage])).toEqual([
      ["a", "open", { state: "stale", lastVerified: "2026-11-01T12:00:00Z" }],
    ]);
    expect(deltaOf(writes)).toEqual({ new: [], resolved: [], reopened: [], changed: [] });
    expect(writes.map(findingAlert)).toEqual([undefined]);
    apply(stored, writes);
    expect(
      reconcile(stored, [finding("b", { localSubscriptionId: "other" })], { ...scan("s3"), coverage: lost }),
    ).toEqual([]);

    writes = reconcile(stored, [finding("a"), finding("b", { localSubscriptionId: "other" })], {
      ...scan("s4"),
      coverage: { covered: new Set(["s", "other"]), unseen: new Set(), lastVerified: new Map() },
    });
    expect(writes.map((w) => [w.finding.id, w.history.at(-1)!.event, w.coverage])).toEqual([
      ["a", "verified", undefined],
    ]);
    expect(writes.map(findingAlert)).toEqual([undefined]);
  });

  it("a subscription outside the asked scope is neither resolved nor marked stale", () => {
    const stored = new Map<string, StoredFinding>();
    apply(stored, reconcile(stored, [finding("a")], scan("s1")));
    const narrowed = { covered: new Set(["other"]), unseen: new Set<string>(), lastVerified: new Map() };
    expect(reconcile(stored, [], { ...scan("s2"), coverage: narrowed })).toEqual([]);
  });
});

describe("reconcile scoped to some VNets (change poller, Event Grid)", () => {
  const vnet = (name: string) =>
    `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/${name}`;
  const inVnet = (id: string, name: string) =>
    finding(id, { localVnetId: vnet(name), resourceId: `${vnet(name)}/virtualNetworkPeerings/${id}` });

  it("resolves a peering gone from a re-checked VNet and touches no finding of any other VNet", () => {
    const stored = new Map<string, StoredFinding>();
    apply(stored, reconcile(stored, [inVnet("a", "spoke"), inVnet("b", "hub")], scan("s1")));
    const writes = reconcile(stored, [], { ...scan("s2"), vnets: new Set([vnet("spoke").toLowerCase()]) });
    expect(deltaOf(writes)).toEqual({ new: [], resolved: ["a"], reopened: [], changed: [] });
  });

  it("a full scan told which peerings ARM confirmed gone resolves only those", () => {
    const stored = new Map<string, StoredFinding>();
    apply(stored, reconcile(stored, [finding("a"), finding("b")], scan("s1")));
    const writes = reconcile(stored, [], { ...scan("s2"), peeringsGone: new Set(["b"]) });
    expect(deltaOf(writes)).toEqual({ new: [], resolved: ["b"], reopened: [], changed: [] });
  });

  it("keeps the creator an Event Grid event named when a later scan cannot know it", () => {
    const stored = new Map<string, StoredFinding>();
    const createdBy = { principalId: "guest", at: "2026-11-01T00:00:00Z" };
    apply(stored, reconcile(stored, [finding("a", { createdBy })], scan("s1")));
    expect(reconcile(stored, [finding("a")], scan("s2"))).toEqual([]);
    expect(
      findingAlert(reconcile(new Map(), [finding("a", { createdBy })], scan("s1"))[0]!)?.finding,
    ).toMatchObject({ kind: "vnet-peering", createdBy });
  });

  it("keeps who created a peering when a later write event names who changed it", () => {
    const stored = new Map<string, StoredFinding>();
    const createdBy = { principalId: "creator", at: "2026-11-01T00:00:00Z" };
    const changedBy = { principalId: "editor", at: "2026-11-02T00:00:00Z" };
    apply(stored, reconcile(stored, [finding("a", { createdBy })], scan("s1")));
    const writes = reconcile(
      stored,
      [finding("a", { remoteAddressPrefixes: ["10.1.0.0/16"], createdBy: changedBy })],
      scan("s2"),
    );
    expect(deltaOf(writes).changed).toEqual(["a"]);
    expect(writes[0]!.finding).toMatchObject({ createdBy, lastChangedBy: changedBy });
    apply(stored, writes);

    // Deleted, then created again by someone else: that is its creator now.
    apply(stored, reconcile(stored, [], scan("s3")));
    const again = reconcile(stored, [finding("a", { createdBy: changedBy })], scan("s4"));
    expect(deltaOf(again).reopened).toEqual(["a"]);
    expect(again[0]!.finding).toMatchObject({ createdBy: changedBy });
  });

  it("never names as creator whoever updated a peering a scan found first", () => {
    const stored = new Map<string, StoredFinding>();
    apply(stored, reconcile(stored, [finding("a")], scan("s1")));
    const updatedBy = { principalId: "updater", at: "2026-11-03T00:00:00Z" };
    const writes = reconcile(
      stored,
      [finding("a", { remoteAddressPrefixes: ["10.9.0.0/16"], createdBy: updatedBy })],
      scan("event-1"),
    );
    expect(writes[0]!.finding).toMatchObject({ lastChangedBy: updatedBy });
    expect(writes[0]!.finding).not.toHaveProperty("createdBy");
  });
});
