import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { EstateBuilder, guid, vnetId, type PeeringSpec } from "../helpers/estate-builder";
import { NO_QUOTA_WAITS, type SandboxScan, sandboxScan } from "../helpers/sandbox";
import { PEERING_CANDIDATES_QUERY, peeringCandidatesQuery } from "../../src/scanners/peering/query";
import { LOCALS_MAX, filterLists } from "../../src/scanners/census";
import { ARRAY_SUMMARY_QUERY, CENSUS_AND_SUMMARY_QUERY } from "../../src/scanners/array-summary";
import { SERVICE_ENDPOINT_CANDIDATES_QUERY } from "../../src/scanners/service-endpoint-inbound/query";
import type { Estate } from "../../src/sandbox/estate";
import type { ScanReport } from "../../src/findings/report";
import { FindingsStore } from "../../src/store/findings-store";
import { testStorage } from "../helpers/azurite";

const HOME = guid(1, "e7");
const PARTNER = guid(2, "e7");
const S_PARTNER = guid(1, "f7");
const CUT_OFF = { tenantSubscriptionLimit: 100, subscriptionListPageSize: 500 };
const GROUPS = { SUBSCRIPTION_GROUP_SIZE: "100" };

/**
 * 300 landing-zone subscriptions in groups of 100, past a cut-off of 100: every spoke peers with a
 * same-tenant hub whose subscription sorts last, so it sits in another group than every spoke; a
 * foreign hub (the partner's) peers with spokes 50 and 250, and the home hub with the partner.
 */
function estate() {
  const b = new EstateBuilder(HOME).tenant(PARTNER, "Partner").subscription(S_PARTNER, PARTNER);
  const hubSub = guid(999, "ff");
  const hub = vnetId(hubSub, "hub-rg", "hub");
  const spokes: PeeringSpec[] = [];
  for (let i = 1; i <= 300; i++) {
    const sub = guid(i, "a7");
    const peerings: PeeringSpec[] = [{ name: `to-hub-${i}`, remote: hub }];
    if (i === 50 || i === 250)
      peerings.push({ name: `to-partner-${i}`, remote: vnetId(S_PARTNER, "p-rg", "partner-hub") });
    b.subscription(sub, HOME).vnet(sub, HOME, "rg", `spoke-${i}`, peerings);
    spokes.push({ name: `to-spoke-${i}`, remote: vnetId(sub, "rg", `spoke-${i}`) });
  }
  b.subscription(hubSub, HOME).vnet(hubSub, HOME, "hub-rg", "hub", [
    ...spokes,
    { name: "to-partner-hub", remote: vnetId(S_PARTNER, "p-rg", "partner-hub") },
  ]);
  const estate = b.build();
  // The hub's storage account admits a subnet of every spoke (same tenant, other groups) and one
  // of the partner's: a virtual-network rule per subnet, read in windows like peerings.
  const subnets = [
    ...Array.from(
      { length: 300 },
      (_, i) => `${vnetId(guid(i + 1, "a7"), "rg", `spoke-${i + 1}`)}/subnets/app`,
    ),
    `${vnetId(S_PARTNER, "p-rg", "partner-hub")}/subnets/workers`,
  ];
  estate.resources.push({
    id: `/subscriptions/${hubSub}/resourceGroups/hub-rg/providers/Microsoft.Storage/storageAccounts/sthub`,
    name: "sthub",
    type: "Microsoft.Storage/storageAccounts",
    subscriptionId: hubSub,
    resourceGroup: "hub-rg",
    location: "westeurope",
    tenantId: HOME,
    properties: {
      networkAcls: {
        defaultAction: "Deny",
        virtualNetworkRules: subnets.map((id) => ({ id, action: "Allow" })),
      },
    },
  } as Estate["resources"][number]);
  return estate;
}

describe("past the cut-off: a census of remote subscriptions, then only the candidates", () => {
  let env: SandboxScan;
  beforeAll(async () => {
    env = await sandboxScan(estate(), { ...NO_QUOTA_WAITS, ...CUT_OFF });
  });
  afterAll(() => env.close());

  it("a same-tenant hub in another group is not a candidate; the foreign hub is found from every group", async () => {
    const before = env.sandbox.counters.resourceGraphRequests;
    const report = await env.scan({ env: GROUPS });
    expect(report.errors).toEqual([]);
    expect(report.complete).toBe(true);
    expect(report.stats.subscriptions).toBe(301);
    expect(report.stats).toMatchObject({ virtualNetworks: 301, peerings: 603 });
    const found = report.findings
      .filter((f) => f.kind === "vnet-peering")
      .map((f) => f.resourceId.split("/").at(-1))
      .sort();
    expect(found).toEqual(["to-partner-250", "to-partner-50", "to-partner-hub"]);
    // The storage account's rule for the partner's subnet is found; its 300 rules for spoke subnets
    // of other groups are not candidates either.
    const rules = report.findings.filter((f) => f.kind === "service-endpoint-inbound");
    expect(rules.map((f) => (f as { subnetId: string }).subnetId.split("/").at(-3))).toEqual(["partner-hub"]);
    // Only the three foreign peerings and the one foreign rule travel as candidate rows; the
    // censuses name the spoke subscriptions in sets, not one row each: the hub's peering census is
    // at most 256 rows (one per last two hex digits), a spoke group's two (the hub, the partner),
    // the rules' census 16 rows (one per last hex digit), and each group's summary one.
    const rows = report.stats.resourceGraphRows;
    expect(rows).toBeLessThanOrEqual(3 + 1 + 256 + 4 * 2 + 16 + 4 + 10);
    // The rules' candidate query went out filtered to the partner's subscription only.
    expect(env.sandbox.counters.resourceGraphQueries.get(SERVICE_ENDPOINT_CANDIDATES_QUERY) ?? 0).toBe(0);
    // Each group's array summary comes in the request that brings its first peering census: one
    // request per group (4 groups) for both, and the summary is never asked on its own.
    expect(env.sandbox.counters.resourceGraphQueries.get(CENSUS_AND_SUMMARY_QUERY)).toBe(4);
    expect(env.sandbox.counters.resourceGraphQueries.get(ARRAY_SUMMARY_QUERY) ?? 0).toBe(0);
    // The candidate peerings are read once, from the three subscriptions whose census rows point
    // at the partner (spokes 50 and 250, the hub), not once per group.
    expect(
      env.sandbox.counters.resourceGraphQueries.get(peeringCandidatesQuery(0, filterLists([S_PARTNER])[0]!)),
    ).toBe(1);
    // The unfiltered candidate query (whose join sees only its group) is never sent.
    expect(env.sandbox.counters.resourceGraphQueries.get(PEERING_CANDIDATES_QUERY) ?? 0).toBe(0);
    // The peering check: a census and at most one candidate query per group (4 groups), plus the
    // cut-off probe; the other checks' per-group summaries come on top.
    expect(report.stats.resourceGraphRequests).toBe(env.sandbox.counters.resourceGraphRequests - before);
  });

  it("a census longer than one page is asked again over smaller parts of its group", async () => {
    // Pages of 5 rows: the census of the group holding the hub, which points at 300 spoke
    // subscriptions and the partner, is up to 256 rows (one per last two hex digits), more than a page holds,
    // and summarize does not page. The hub alone still does not fit: it is read unfiltered.
    const unfiltered = () => env.sandbox.counters.resourceGraphQueries.get(PEERING_CANDIDATES_QUERY) ?? 0;
    const asked = unfiltered();
    const report = await env.scan({ env: { ...GROUPS, RESOURCE_GRAPH_PAGE_SIZE: "5" } });
    expect(report.errors).toEqual([]);
    // The hub's set reached its bound: its peerings were read unfiltered (301 candidate rows in
    // its own request scope, 61 pages of 5), and still counted.
    expect(unfiltered() - asked).toBe(61);
    expect(report.stats).toMatchObject({ virtualNetworks: 301, peerings: 603 });
    expect(report.findings.map((f) => f.resourceId.split("/").at(-1)).sort()).toEqual([
      "sthub",
      "to-partner-250",
      "to-partner-50",
      "to-partner-hub",
    ]);
  });
});

describe("past the cut-off: the subscriptions a census row names", () => {
  it("a row whose set of local subscriptions reached its bound brings its whole part: a spoke it left out is still read", async () => {
    // 101 spokes point at the hub and the last also at a foreign subscription whose id ends in the
    // same two hex digits as the hub's. Their census row names the hub, the foreign subscription
    // and at most LOCALS_MAX (100) spokes: trusted, that set would leave the last spoke out.
    const hubSub = guid(0x3e7, "ff");
    const foreignSub = guid(0xe7, "f8");
    const hub = vnetId(hubSub, "hub-rg", "hub");
    const spokes = LOCALS_MAX + 1;
    const b = new EstateBuilder(HOME).tenant(PARTNER, "Partner");
    b.subscription(foreignSub, PARTNER, { visibleToScanner: false });
    const back: PeeringSpec[] = [];
    for (let i = 1; i <= spokes; i++) {
      const sub = guid(i, "a8");
      const peerings: PeeringSpec[] = [{ name: `to-hub-${i}`, remote: hub }];
      if (i === spokes) peerings.push({ name: "to-foreign", remote: vnetId(foreignSub, "rg", "partner") });
      b.subscription(sub, HOME).vnet(sub, HOME, "rg", `spoke-${i}`, peerings);
      back.push({ name: `to-spoke-${i}`, remote: vnetId(sub, "rg", `spoke-${i}`) });
    }
    b.subscription(hubSub, HOME).vnet(hubSub, HOME, "hub-rg", "hub", back);
    const env = await sandboxScan(b.build(), {
      ...NO_QUOTA_WAITS,
      tenantSubscriptionLimit: 1,
      subscriptionListPageSize: 500,
    });
    try {
      const report = await env.scan({ env: { SUBSCRIPTION_GROUP_SIZE: String(spokes) } });
      expect(report.errors).toEqual([]);
      expect(report.complete).toBe(true);
      expect(
        report.findings
          .filter((f) => f.relation === "cross-tenant")
          .map((f) => f.resourceId.split("/").at(-1)),
      ).toEqual(["to-foreign"]);
    } finally {
      await env.close();
    }
  });
});

/**
 * A hub whose peerings reach past the first window of 400, to partner subscriptions either spread
 * over every last hex digit or all ending in 0 (so one census set fills up), with pages of 20 rows
 * (sets of at most 100): a census that does not fit at a later window, and a subscription read
 * unfiltered while its group's census goes on to the next window.
 */
function windowsEstate(parts: ({ sameDigit: number } | { spread: number })[], withOther: boolean) {
  const b = new EstateBuilder(HOME).tenant(PARTNER, "Partner");
  const hubSub = guid(1, "c7");
  const peerings: PeeringSpec[] = [];
  let sameDigit = 0;
  let spread = 0;
  for (const part of parts) {
    const count = "sameDigit" in part ? part.sameDigit : part.spread;
    for (let i = 0; i < count; i++) {
      const sub = "sameDigit" in part ? guid(16 * ++sameDigit, "b7") : guid(100_000 + ++spread, "d7");
      b.subscription(sub, PARTNER, { visibleToScanner: false });
      peerings.push({ name: `p${peerings.length}`, remote: vnetId(sub, "rg", "v") });
    }
  }
  b.subscription(hubSub, HOME).vnet(hubSub, HOME, "rg", "hub", peerings);
  if (withOther) {
    // Another VNet of more than 400 peerings in the group: its census goes on to a second window.
    const otherSub = guid(2, "c7");
    const own = Array.from({ length: 401 }, (_, i) => ({
      name: `o${i}`,
      remote: vnetId(otherSub, "rg", `x${i}`),
    }));
    b.subscription(otherSub, HOME).vnet(otherSub, HOME, "rg", "other", own);
  }
  const third = guid(3, "c7");
  b.subscription(third, HOME).vnet(third, HOME, "rg", "third", []);
  return { estate: b.build(), total: peerings.length };
}

describe("past the cut-off: a census that does not fit at a later window", () => {
  const PAGES_OF_20 = { RESOURCE_GRAPH_PAGE_SIZE: "20" };
  const cutOff = { tenantSubscriptionLimit: 1, subscriptionListPageSize: 500 };
  const crossTenant = (report: ScanReport) =>
    report.findings
      .filter((f) => f.kind === "vnet-peering" && f.relation === "cross-tenant")
      .map((f) => f.id);

  it("a subscription whose second-window census outgrows its set has that window read unfiltered", async () => {
    const { estate, total } = windowsEstate([{ spread: 400 }, { sameDigit: 150 }], false);
    const env = await sandboxScan(estate, { ...NO_QUOTA_WAITS, ...cutOff });
    try {
      const report = await env.scan({ env: { ...PAGES_OF_20, SUBSCRIPTION_GROUP_SIZE: "1" } });
      expect(report.complete).toBe(true);
      expect(new Set(crossTenant(report)).size).toBe(total);
      expect(report.stats.peerings).toBe(total);
    } finally {
      await env.close();
    }
  });

  it("a subscription read unfiltered is not read again by its group's next window: no duplicate, stored", async () => {
    const { estate, total } = windowsEstate([{ sameDigit: 150 }, { spread: 250 }, { spread: 50 }], true);
    const env = await sandboxScan(estate, { ...NO_QUOTA_WAITS, ...cutOff });
    try {
      const report = await env.scan({ env: { ...PAGES_OF_20, SUBSCRIPTION_GROUP_SIZE: "2" } });
      expect(report.errors).toEqual([]);
      const ids = crossTenant(report);
      expect(ids).toHaveLength(total);
      expect(new Set(ids).size).toBe(total);
      // Stored: a duplicate would be the same row twice in one transaction, which Table Storage refuses.
      const state = await testStorage();
      try {
        const store = new FindingsStore(state.storage);
        await store.save(report.findings, { scanId: report.scanId, at: report.finishedAt, complete: true });
        expect((await store.list()).filter((s) => s.finding.relation === "cross-tenant")).toHaveLength(total);
      } finally {
        await state.stop();
      }
    } finally {
      await env.close();
    }
  });
});
