import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { AllowlistEntry } from "../../src/allowlist/entry";
import type { ScanReport } from "../../src/findings/report";
import type { PeeringFinding } from "../../src/scanners/peering/finding";
import { ofKind } from "../../src/scanners/findings";
import { EstateBuilder, guid, vnetId } from "../helpers/estate-builder";
import { sandboxScan, type SandboxScan } from "../helpers/sandbox";

const HOME = guid(1, "a0");
const PARTNER = guid(2, "a0");
const OTHER = guid(3, "a0");
const LAPSED = guid(4, "a0");
const MS_TEST = guid(5, "a0");

const S_HUB = guid(1, "b0");
const S_SPOKES = guid(2, "b0");
const S_HIDDEN = guid(3, "b0");
const S_PARTNER = guid(4, "b0");
const S_OTHER = guid(5, "b0");
const S_LAPSED = guid(6, "b0");
const S_MS = guid(7, "b0");
const S_UNKNOWN = guid(99, "b0");

const SPOKES = 1100;
const HUB_PEERINGS = 600;
const VWAN = "4f3e2d1c-0b9a-4876-9543-210fedcba987";
const LOOK_ALIKE = "5a4b3c2d-1e0f-4876-9543-210fedcba987";

const hub = vnetId(S_HUB, "hub-rg", "hub-vnet");
const otherShared = vnetId(S_OTHER, "other-rg", "shared-vnet");

/**
 * A hub with 600 peerings (one foreign), 1100 spokes (so every query pages), and an edge VNet
 * with one peering of each kind the scanner must tell apart.
 */
function largeEstate() {
  const b = new EstateBuilder(HOME, "Contoso")
    .tenant(PARTNER, "Partner Co")
    .tenant(OTHER, "Other Org")
    .tenant(LAPSED, "Lapsed Ltd")
    .tenant(MS_TEST, "Microsoft Test")
    .subscription(S_HUB, HOME, { managementGroups: ["platform"] })
    .subscription(S_SPOKES, HOME, { managementGroups: ["landing-zones"] })
    .subscription(S_HIDDEN, HOME, { visibleToScanner: false })
    .subscription(S_PARTNER, PARTNER)
    .subscription(S_OTHER, OTHER)
    .subscription(S_LAPSED, LAPSED)
    .subscription(S_MS, MS_TEST);
  const hubPeerings = Array.from({ length: HUB_PEERINGS - 1 }, (_, i) => ({
    name: `hub-to-spoke-${i}`,
    remote: vnetId(S_SPOKES, "spokes-rg", `spoke-${i}`),
  }));
  hubPeerings.splice(321, 0, { name: "hub-to-partner", remote: vnetId(S_PARTNER, "p-rg", "partner-hub") });
  b.vnet(S_HUB, HOME, "hub-rg", "hub-vnet", hubPeerings);
  for (let i = 0; i < SPOKES; i++) {
    b.vnet(S_SPOKES, HOME, "spokes-rg", `spoke-${i}`, [
      { name: "to-hub", remote: hub, useRemoteGateways: true },
    ]);
  }
  b.vnet(S_HUB, HOME, "edge-rg", "edge-vnet", [
    { name: "to-hidden-home", remote: vnetId(S_HIDDEN, "lab-rg", "lab-vnet") },
    { name: "to-unknown", remote: vnetId(S_UNKNOWN, "x-rg", "mystery"), state: "Initiated" },
    {
      name: "to-partner-MIXED",
      id: `/SUBSCRIPTIONS/${S_HUB.toUpperCase()}/RESOURCEGROUPS/EDGE-RG/providers/Microsoft.Network/virtualNetworks/EDGE-VNET/virtualNetworkPeerings/to-partner-MIXED`,
      remote: `/SUBSCRIPTIONS/${S_PARTNER.toUpperCase()}/resourcegroups/P-RG/providers/microsoft.network/virtualnetworks/PARTNER-EDGE`,
      allowForwardedTraffic: true,
    },
    {
      name: "to-other-initiated",
      remote: vnetId(S_OTHER, "other-rg", "app-vnet"),
      state: "Initiated",
      allowGatewayTransit: true,
    },
    { name: "to-other-disconnected", remote: vnetId(S_OTHER, "other-rg", "old-vnet"), state: "Disconnected" },
    { name: "to-other-shared", remote: otherShared.toUpperCase() },
    { name: "to-lapsed", remote: vnetId(S_LAPSED, "l-rg", "l-vnet") },
    {
      name: `RemoteVnetToHubPeering_${VWAN}`,
      remote: `/subscriptions/${S_MS}/resourceGroups/RG_weu-hub_${VWAN}/providers/Microsoft.Network/virtualNetworks/HV_weu-hub_${VWAN}`,
      useRemoteGateways: true,
    },
    {
      // Anyone can name a VNet like a Virtual WAN hub in their own tenant.
      name: `RemoteVnetToHubPeering_${LOOK_ALIKE}`,
      remote: `/subscriptions/${S_OTHER}/resourceGroups/RG_weu-hub_${LOOK_ALIKE}/providers/Microsoft.Network/virtualNetworks/HV_weu-hub_${LOOK_ALIKE}`,
      useRemoteGateways: true,
    },
    { name: "to-microsoft-tenant", remote: vnetId(S_MS, "ms-rg", "ms-vnet") },
  ]);
  // Same remote VNet as edge's to-other-shared, but outside the allowlist entry's localScope
  // (edge-rg2 shares a prefix with edge-rg, not a path segment).
  b.vnet(S_HUB, HOME, "edge-rg2", "edge2-vnet", [{ name: "edge2-to-other-shared", remote: otherShared }]);
  return b.build();
}

const ALLOWLIST: AllowlistEntry[] = [
  { id: "partner", tenantId: PARTNER.toUpperCase(), owner: "netops@contoso.com", reason: "Partner hub" },
  {
    id: "other-shared-from-edge",
    remoteVnetId: otherShared,
    localScope: `/subscriptions/${S_HUB}/resourceGroups/edge-rg`,
    owner: "netops@contoso.com",
    reason: "Shared services",
  },
  {
    id: "lapsed",
    subscriptionId: S_LAPSED,
    expiresOn: "2026-11-28",
    owner: "x@contoso.com",
    reason: "Migration",
  },
];

const NOW = new Date("2026-11-29T10:00:00Z");
const byName = (report: ScanReport, name: string): PeeringFinding | undefined =>
  report.findings
    .filter(ofKind("vnet-peering"))
    .find((f) => f.resourceId.toLowerCase().endsWith(`/virtualnetworkpeerings/${name.toLowerCase()}`));

describe("scan of a large estate through the real SDK and the sandbox", () => {
  const estate = largeEstate();
  let env: SandboxScan;
  let report: ScanReport;

  beforeAll(async () => {
    env = await sandboxScan(estate);
    report = await env.scan({ allowlist: ALLOWLIST, at: NOW, env: { MICROSOFT_TENANT_IDS: MS_TEST } });
  });
  afterAll(() => env.close());

  it("reads every page: all VNets and all peerings, including the hub's 600", () => {
    expect(report.complete).toBe(true);
    expect(report.errors).toEqual([]);
    expect(report.stats.virtualNetworks).toBe(SPOKES + 3);
    expect(report.stats.peerings).toBe(HUB_PEERINGS + SPOKES + 11);
    expect(report.stats.subscriptions).toBe(2);
    expect(env.sandbox.counters.resourceGraphRequests).toBeGreaterThanOrEqual(4);
  });

  it("finds the one foreign peering among the hub's 600, allowed by its tenant entry", () => {
    const f = byName(report, "hub-to-partner");
    expect(f).toMatchObject({
      relation: "cross-tenant",
      remoteTenantId: PARTNER.toLowerCase(),
      remoteTenantName: "Partner Co",
      status: "allowed",
      allowlistEntryId: "partner",
      severity: "info",
    });
    expect(report.findings.filter(ofKind("vnet-peering")).filter((x) => x.localVnetId === hub)).toHaveLength(
      1,
    );
  });

  it("does not report same-tenant peerings, even to a home subscription the scanner cannot read", () => {
    expect(byName(report, "to-hidden-home")).toBeUndefined();
    expect(byName(report, "to-hub")).toBeUndefined();
    expect(byName(report, "hub-to-spoke-5")).toBeUndefined();
  });

  it("reports a subscription nobody knows as unresolved, never guessed", () => {
    expect(byName(report, "to-unknown")).toMatchObject({
      relation: "unresolved",
      remoteTenantId: null,
      status: "violation",
      severity: "medium",
    });
  });

  it("resolves and allowlists mixed-case ids, and keeps their casing in the report", () => {
    const f = byName(report, "to-partner-MIXED")!;
    expect(f).toMatchObject({
      relation: "cross-tenant",
      status: "allowed",
      riskFactors: ["forwarded-traffic"],
    });
    expect(f.resourceId).toContain("/SUBSCRIPTIONS/");
    expect(f.remoteSubscriptionId).toBe(S_PARTNER.toUpperCase());
  });

  it("grades violations by peering state and lists risk factors", () => {
    expect(byName(report, "to-other-initiated")).toMatchObject({
      status: "violation",
      severity: "medium",
      riskFactors: ["gateway-transit"],
      remoteTenantName: "Other Org",
    });
    expect(byName(report, "to-other-disconnected")).toMatchObject({ status: "violation", severity: "low" });
  });

  it("applies a remote VNet entry only inside its localScope, on a path-segment boundary", () => {
    expect(byName(report, "to-other-shared")).toMatchObject({
      status: "allowed",
      allowlistEntryId: "other-shared-from-edge",
    });
    expect(byName(report, "edge2-to-other-shared")).toMatchObject({
      status: "violation",
      severity: "high",
      allowlistEntryId: null,
    });
  });

  it("marks peerings covered only by an expired entry as expired-exception", () => {
    expect(byName(report, "to-lapsed")).toMatchObject({
      status: "expired-exception",
      allowlistEntryId: "lapsed",
      severity: "high",
    });
  });

  it("treats a Virtual WAN hub as Microsoft-managed only in a Microsoft tenant, never by its name", () => {
    expect(byName(report, `RemoteVnetToHubPeering_${VWAN}`)).toMatchObject({
      relation: "microsoft-managed",
      status: "allowed",
      riskFactors: ["remote-gateways"],
    });
    const lookAlike = byName(report, `RemoteVnetToHubPeering_${LOOK_ALIKE}`)!;
    expect(lookAlike).toMatchObject({
      relation: "cross-tenant",
      remoteTenantId: OTHER.toLowerCase(),
      status: "violation",
      severity: "high",
    });
    expect(lookAlike.summary).toContain("looks like a Virtual WAN hub");
    expect(byName(report, "to-microsoft-tenant")).toMatchObject({
      relation: "microsoft-managed",
      status: "allowed",
    });
  });

  it("counts what needs action", () => {
    const statuses = report.findings.map((f) => f.status);
    expect(report.stats.findings).toBe(report.findings.length);
    expect(report.stats.violations).toBe(statuses.filter((s) => s !== "allowed").length);
    expect(report.stats.violations).toBe(6);
  });

  it("scans only the configured management group", async () => {
    const scoped = await env.scan({
      allowlist: ALLOWLIST,
      at: NOW,
      env: { SCAN_MANAGEMENT_GROUPS: "landing-zones" },
    });
    expect(scoped.complete).toBe(true);
    expect(scoped.stats).toMatchObject({
      subscriptions: 1,
      virtualNetworks: SPOKES,
      peerings: SPOKES,
      findings: 0,
    });
  });
});

describe("Resource Graph throttling and failures", () => {
  const estate = largeEstate();

  it("survives a 429 in the middle of paging", async () => {
    const env = await sandboxScan(estate, {
      resourceGraphFault: (n) => (n === 4 ? { status: 429, retryAfterSeconds: 1 } : undefined),
    });
    try {
      const report = await env.scan({ allowlist: ALLOWLIST, at: NOW });
      expect(report.complete).toBe(true);
      expect(report.stats.peerings).toBe(HUB_PEERINGS + SPOKES + 11);
      // The scan's own requests (subscription count; the array summary every check shares; peerings
      // 2; role definitions over the tenant, none granting peering; which roles are assigned; the
      // Lighthouse delegations, no role definition being visible) and the one retry. Nothing
      // stored, so no coverage question; no windowed read where no array holds anything.
      expect(env.sandbox.counters.resourceGraphRequests).toBe(8);
    } finally {
      await env.close();
    }
  });

  it("waits out a spent quota instead of running into 429s", async () => {
    const env = await sandboxScan(estate, { quota: { requests: 2, windowMs: 1000 } });
    const waits: number[] = [];
    try {
      const report = await env.scan({
        at: NOW,
        sleep: (ms) => {
          waits.push(ms);
          return new Promise((resolve) => setTimeout(resolve, ms));
        },
      });
      expect(report.complete).toBe(true);
      expect(waits.length).toBeGreaterThan(0);
      expect(env.sandbox.counters.throttledRequests).toBe(0);
    } finally {
      await env.close();
    }
  });

  it("reports a persistent failure as an incomplete scan", async () => {
    const env = await sandboxScan(estate, {
      resourceGraphFault: (n) => (n >= 3 ? { status: 500 } : undefined),
    });
    try {
      const report = await env.scan({ at: NOW });
      expect(report.complete).toBe(false);
      expect(report.errors.map((e) => e.message).join("\n")).toMatch(
        /Reading VNet peerings from Resource Graph failed/,
      );
      expect(report.findings).toEqual([]);
    } finally {
      await env.close();
    }
  });

  it("degrades to tenant ids when Microsoft Graph refuses tenant names", async () => {
    const env = await sandboxScan(estate, { graphAccess: false });
    try {
      const report = await env.scan({ allowlist: ALLOWLIST, at: NOW });
      expect(report.complete).toBe(true);
      expect(byName(report, "to-other-initiated")).toMatchObject({
        remoteTenantId: OTHER.toLowerCase(),
        remoteTenantName: null,
      });
      expect(report.findings.every((f) => f.remoteTenantName === null)).toBe(true);
    } finally {
      await env.close();
    }
  });
});
