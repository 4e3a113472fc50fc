import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ofKind } from "../../src/scanners/findings";
import { createResourceGraphClient } from "../../src/azure/resource-graph";
import { SUBSCRIPTION_COUNT_QUERY } from "../../src/azure/subscription-inventory";
import { PEERING_CANDIDATES_QUERY } from "../../src/scanners/peering/query";
import { loadConfig } from "../../src/config";
import { ARRAY_SUMMARY_QUERY, CENSUS_AND_SUMMARY_QUERY } from "../../src/scanners/array-summary";
import { LIGHTHOUSE_CANDIDATES_QUERY } from "../../src/scanners/foreign-principal-network-access/lighthouse-query";
import { PRIVATE_LINK_SERVICE_CANDIDATES_QUERY } from "../../src/scanners/private-link-service-exposure/query";
import { SERVICE_ENDPOINT_CANDIDATES_QUERY } from "../../src/scanners/service-endpoint-inbound/query";
import { sandboxConnection } from "../../src/sandbox/connection";
import { parseEstate, type Estate } from "../../src/sandbox/estate";
import type { ScanReport } from "../../src/findings/report";
import { EstateBuilder, guid, vnetId, type PeeringSpec } from "../helpers/estate-builder";
import { NO_QUOTA_WAITS, type SandboxScan, sandboxScan } from "../helpers/sandbox";

const HOME = guid(1, "e1");
const PARTNER = guid(2, "e1");
const S_HOME = guid(1, "f1");
const S_PARTNER = guid(2, "f1");

const peeringNames = (report: ScanReport) =>
  report.findings.map((f) => f.resourceId.split("/").at(-1)!).sort();

/** A hub with `count` peerings to home spokes, the last `foreign` of them to the partner. */
function hubPeerings(prefix: string, count: number, foreignAt: number[]): PeeringSpec[] {
  return Array.from({ length: count }, (_, i) =>
    foreignAt.includes(i)
      ? { name: `${prefix}-foreign-${i}`, remote: vnetId(S_PARTNER, "p-rg", `${prefix}-p-${i}`) }
      : { name: `${prefix}-spoke-${i}`, remote: vnetId(S_HOME, "spokes-rg", `${prefix}-s-${i}`) },
  );
}

describe("large hubs: windows past Resource Graph's mv-expand limit of 400", () => {
  const estate = new EstateBuilder(HOME)
    .tenant(PARTNER, "Partner")
    .subscription(S_HOME, HOME)
    .subscription(S_PARTNER, PARTNER)
    .vnet(S_HOME, HOME, "hub-rg", "hub-450", hubPeerings("h450", 450, [449]))
    .vnet(S_HOME, HOME, "hub-rg", "hub-1000", hubPeerings("h1000", 1000, [0, 399, 400, 799, 800, 999]))
    .build();
  let env: SandboxScan;
  beforeAll(async () => {
    env = await sandboxScan(estate, NO_QUOTA_WAITS);
  });
  afterAll(() => env.close());

  it("finds every foreign peering of a 450- and a 1000-peering VNet, and counts all 1450", async () => {
    const report = await env.scan();
    expect(report.errors).toEqual([]);
    expect(report.complete).toBe(true);
    expect(peeringNames(report)).toEqual(
      ["h450-foreign-449", ...[0, 399, 400, 799, 800, 999].map((i) => `h1000-foreign-${i}`)].sort(),
    );
    expect(report.stats).toMatchObject({ virtualNetworks: 2, peerings: 1450 });
    // Only the candidates travel: 7 peering rows, plus the count and summary rows.
    expect(report.stats.resourceGraphRows).toBeLessThan(20);
  });

  it("the sandbox refuses an mv-expand limit above 400 with Resource Graph's error shape", async () => {
    const client = createResourceGraphClient(sandboxConnection(env.sandbox, estate, loadConfig({})));
    const query = "resources | mv-expand peering = properties.virtualNetworkPeerings limit 2000 | project id";
    const error = await client.resources({ query }).then(
      () => undefined,
      (e: unknown) => e as { statusCode?: number; code?: string; message: string },
    );
    expect(error).toMatchObject({ statusCode: 400, code: "BadRequest" });
    const accepted = await client.resources({ query: query.replace("2000", "400") });
    expect(accepted.totalRecords).toBe(800); // 400 of each hub: one mv-expand never reaches them all
  });
});

/** The queries of the peering scan proper, as issue 8 bounds them. */
const PEERING_SCAN_QUERIES = [SUBSCRIPTION_COUNT_QUERY, ARRAY_SUMMARY_QUERY, PEERING_CANDIDATES_QUERY];
const requestsOf = (env: SandboxScan, queries: string[]) =>
  queries.reduce((n, q) => n + (env.sandbox.counters.resourceGraphQueries.get(q) ?? 0), 0);

describe("scope limits: 1000 subscriptions per request and the 10,000-subscription cut-off", () => {
  /** `count` home subscriptions, each with one VNet peered to the hub; every 100th also to the partner. */
  function manySubscriptions(count: number): { estate: Estate; foreign: string[]; ids: string[] } {
    const b = new EstateBuilder(HOME).tenant(PARTNER, "Partner").subscription(S_PARTNER, PARTNER);
    const hubSub = guid(0, "a1");
    b.subscription(hubSub, HOME).vnet(hubSub, HOME, "hub-rg", "hub", []);
    const foreign: string[] = [];
    const ids: string[] = [];
    for (let i = 1; i <= count; i++) {
      const sub = guid(i, "a1");
      ids.push(sub);
      const peerings: PeeringSpec[] = [{ name: `to-hub-${i}`, remote: vnetId(hubSub, "hub-rg", "hub") }];
      if (i % 100 === 0) {
        peerings.push({ name: `to-partner-${i}`, remote: vnetId(S_PARTNER, "p-rg", `p-${i}`) });
        foreign.push(`to-partner-${i}`);
      }
      b.subscription(sub, HOME).vnet(sub, HOME, "rg", `v-${i}`, peerings);
    }
    return { estate: b.build(), foreign: foreign.sort(), ids };
  }

  it("10,200 subscriptions under a tenant-scoped query: cut off at 10,000, re-run in groups, complete", async () => {
    const { estate, foreign } = manySubscriptions(10_199); // + the hub's subscription = 10,200
    const env = await sandboxScan(estate, { ...NO_QUOTA_WAITS, subscriptionListPageSize: 1000 });
    try {
      const report = await env.scan();
      expect(report.errors).toEqual([]);
      expect(report.complete).toBe(true);
      expect(peeringNames(report)).toEqual(foreign);
      expect(report.stats.subscriptions).toBe(10_200);
      const groups = Math.ceil(10_200 / 250);
      // The peering scan proper (subscription count, VNet summary, peerings): 3 per group + 10.
      expect(requestsOf(env, PEERING_SCAN_QUERIES)).toBeLessThanOrEqual(3 * groups + 10);
      // With the checks beyond peerings (private endpoint connection summary, role definitions)
      // and the coverage batches; issue 19 adds two summaries and the Lighthouse read per group.
      expect(report.stats.resourceGraphRequests).toBeLessThanOrEqual(10 * groups + 10);
      expect(report.stats.resourceGraphRequests).toBe(env.sandbox.counters.resourceGraphRequests);
      expect(env.sandbox.counters.subscriptionListRequests).toBe(11);
    } finally {
      await env.close();
    }
  });

  it("a cut-off it cannot work around makes the scan incomplete and says what was missed", async () => {
    const { estate } = manySubscriptions(120);
    const env = await sandboxScan(estate, {
      ...NO_QUOTA_WAITS,
      tenantSubscriptionLimit: 100,
      subscriptionListFault: () => ({ status: 403, message: "The client does not have authorization." }),
    });
    try {
      const report = await env.scan({ env: { AZURE_MAX_RETRIES: "0" } });
      expect(report.complete).toBe(false);
      expect(report.errors.map((e) => e.message).join("\n")).toMatch(
        /covered only the first 10,000 subscriptions of the tenant .* the rest were not scanned, and listing subscriptions through Azure Resource Manager failed: Azure Resource Manager answered 403/,
      );
    } finally {
      await env.close();
    }
  });

  it("a management-group scope past the cut-off keeps to the group's subscriptions", async () => {
    const { estate, foreign } = manySubscriptions(150);
    // Put the first 130 landing-zone subscriptions under "lz"; the rest are outside the scope.
    estate.subscriptions.forEach((s) => {
      const n = parseInt(s.subscriptionId.slice(-12), 16);
      if (s.subscriptionId.startsWith("000000a1") && n >= 1 && n <= 130) s.managementGroups = ["lz"];
    });
    const env = await sandboxScan(estate, { ...NO_QUOTA_WAITS, tenantSubscriptionLimit: 100 });
    try {
      const report = await env.scan({
        env: { SCAN_MANAGEMENT_GROUPS: "lz", SUBSCRIPTION_GROUP_SIZE: "50" },
      });
      expect(report.errors).toEqual([]);
      expect(peeringNames(report)).toEqual(foreign.filter((n) => Number(n.split("-").at(-1)) <= 130));
      expect(report.stats.subscriptions).toBe(130);
    } finally {
      await env.close();
    }
  });

  it("nested management groups past the cut-off: a subscription under both is scanned once", async () => {
    const { estate, foreign } = manySubscriptions(150);
    // The first 130 under "lz", 60 of them in its business unit "bu" (an ancestor chain of two).
    estate.subscriptions.forEach((s) => {
      const n = parseInt(s.subscriptionId.slice(-12), 16);
      if (s.subscriptionId.startsWith("000000a1") && n >= 1 && n <= 130)
        s.managementGroups = n <= 60 ? ["bu", "lz"] : ["lz"];
    });
    const env = await sandboxScan(estate, { ...NO_QUOTA_WAITS, tenantSubscriptionLimit: 100 });
    try {
      const report = await env.scan({
        env: { SCAN_MANAGEMENT_GROUPS: "lz,bu", SUBSCRIPTION_GROUP_SIZE: "50" },
      });
      expect(report.errors).toEqual([]);
      expect(report.stats.subscriptions).toBe(130);
      expect(peeringNames(report)).toEqual(foreign.filter((n) => Number(n.split("-").at(-1)) <= 130));
    } finally {
      await env.close();
    }
  });

  it("SCAN_SUBSCRIPTIONS with 1,500 ids goes out in groups (the sandbox refuses more than 1000)", async () => {
    const { estate, foreign, ids } = manySubscriptions(1_500);
    const env = await sandboxScan(estate, NO_QUOTA_WAITS);
    try {
      const report = await env.scan({ env: { SCAN_SUBSCRIPTIONS: ids.join(",") } });
      expect(report.errors).toEqual([]);
      expect(report.complete).toBe(true);
      expect(peeringNames(report)).toEqual(foreign);
      expect(report.stats.subscriptions).toBe(1_500);
      // 6 groups of 250, each its own request scope: the groups are the count, and the peering
      // check asks each group's census of remote subscriptions (with the group's array summary, in
      // one request), then only the candidates.
      expect(requestsOf(env, [SUBSCRIPTION_COUNT_QUERY, PEERING_CANDIDATES_QUERY])).toBe(0);
      expect(env.sandbox.counters.resourceGraphQueries.get(CENSUS_AND_SUMMARY_QUERY)).toBe(6);
      // With the private endpoint connection summary, role definitions, and coverage where asked.
      expect(report.stats.resourceGraphRequests).toBeGreaterThanOrEqual(3 * 6);
      // Issue 19's two checks add one summary each per group, and no windowed read where nothing has rules.
      expect(report.stats.resourceGraphRequests).toBeLessThanOrEqual(9 * 6);
      // This estate shows no role definitions, so whether a delegation's role can peer is unknown:
      // Lighthouse delegations are asked about, once per group.
      expect(requestsOf(env, [LIGHTHOUSE_CANDIDATES_QUERY])).toBe(6);
      // The summary that counts every check's arrays came with each group's census: never asked alone.
      expect(requestsOf(env, [ARRAY_SUMMARY_QUERY])).toBe(0);
      expect(
        requestsOf(env, [SERVICE_ENDPOINT_CANDIDATES_QUERY, PRIVATE_LINK_SERVICE_CANDIDATES_QUERY]),
      ).toBe(0);

      const one = await env.scan({
        env: { SCAN_SUBSCRIPTIONS: ids.join(","), SUBSCRIPTION_GROUP_SIZE: "1000" },
      });
      expect(one.complete).toBe(true);
      const client = createResourceGraphClient(sandboxConnection(env.sandbox, estate, loadConfig({})));
      await expect(
        client.resources({ query: "resources | count", subscriptions: ids }),
      ).rejects.toMatchObject({
        statusCode: 400,
      });
    } finally {
      await env.close();
    }
  });
});

describe("odd rows", () => {
  const estate = (() => {
    const b = new EstateBuilder(HOME)
      .tenant(PARTNER, "Partner")
      .subscription(S_HOME, HOME)
      .subscription(S_PARTNER, PARTNER);
    b.vnet(S_HOME, HOME, "rg", "edge", [
      { name: "normal", remote: vnetId(S_PARTNER, "p-rg", "a") },
      { name: "reconnecting", remote: vnetId(S_PARTNER, "p-rg", "b"), state: "Reconnecting" },
      { name: "no-address-space", remote: vnetId(S_PARTNER, "p-rg", "c") },
      { name: "no-id", remote: vnetId(S_PARTNER, "p-rg", "d") },
    ]);
    const json = b.json() as {
      resources: { properties: { virtualNetworkPeerings: Record<string, Record<string, unknown>>[] } }[];
    };
    const peerings = json.resources[0]!.properties.virtualNetworkPeerings;
    peerings[2]!.properties!.remoteAddressSpace = null;
    // Resource Graph row without an id: the row cannot be judged, and must be named.
    (peerings[3] as Record<string, unknown>).id = "";
    return json;
  })();

  it("names the unreadable row in errors and keeps every other finding, the odd ones included", async () => {
    const env = await sandboxScan(parseEstate(estate, "odd rows"), NO_QUOTA_WAITS);
    try {
      const report = await env.scan();
      expect(report.complete).toBe(false);
      expect(report.errors).toHaveLength(1);
      expect(report.errors[0]!.message).toContain(`a row of ${vnetId(S_HOME, "rg", "edge")}`);
      expect(report.errors[0]!.message).toContain("the peering has no id");
      expect(peeringNames(report)).toEqual(["no-address-space", "normal", "reconnecting"]);
      const reconnecting = report.findings
        .filter(ofKind("vnet-peering"))
        .find((f) => f.resourceId.endsWith("/reconnecting"))!;
      expect(reconnecting).toMatchObject({
        peeringState: "Reconnecting",
        severity: "high",
        allowForwardedTraffic: false,
      });
      const noSpace = report.findings
        .filter(ofKind("vnet-peering"))
        .find((f) => f.resourceId.endsWith("/no-address-space"))!;
      expect(noSpace.remoteAddressPrefixes).toEqual([]);
    } finally {
      await env.close();
    }
  });
});

describe("volatile paging: Resource Graph re-runs the query for every page", () => {
  function pagedEstate(): Estate {
    const b = new EstateBuilder(HOME)
      .tenant(PARTNER, "Partner")
      .subscription(S_HOME, HOME)
      .subscription(S_PARTNER, PARTNER);
    for (let i = 0; i < 30; i++) {
      b.vnet(S_HOME, HOME, "rg", `v-${String(i).padStart(2, "0")}`, [
        { name: `to-partner-${String(i).padStart(2, "0")}`, remote: vnetId(S_PARTNER, "p-rg", `p-${i}`) },
      ]);
    }
    return b.build();
  }
  // Requests: 1 subscription count, 2 VNet summary, 3.. peering pages of 10 rows.
  const PAGE = { RESOURCE_GRAPH_PAGE_SIZE: "10" };

  it("a VNet deleted between two pages: the scan reads again and reports what is there", async () => {
    const estate = pagedEstate();
    const env = await sandboxScan(estate, {
      ...NO_QUOTA_WAITS,
      volatile: true,
      resourceGraphFault: (n) => {
        if (n === 4) estate.resources.splice(3, 1); // v-03 goes, after page 1 was served
        return undefined;
      },
    });
    try {
      const report = await env.scan({ env: PAGE });
      expect(report.errors).toEqual([]);
      expect(report.complete).toBe(true);
      expect(report.findings).toHaveLength(29);
      expect(peeringNames(report)).not.toContain("to-partner-03");
    } finally {
      await env.close();
    }
  });

  it("an estate that keeps changing while paged: never a complete report it did not get", async () => {
    const estate = pagedEstate();
    const env = await sandboxScan(estate, {
      ...NO_QUOTA_WAITS,
      volatile: true,
      resourceGraphFault: (n) => {
        if (n >= 4 && estate.resources.length > 5) estate.resources.splice(0, 1);
        return undefined;
      },
    });
    try {
      const report = await env.scan({ env: PAGE });
      expect(report.complete).toBe(false);
      expect(report.errors.map((e) => e.message).join("\n")).toMatch(
        /peering query's result changed while it was being paged/,
      );
    } finally {
      await env.close();
    }
  });
});
