import { describe, expect, it } from "@jest/globals";
import type { AllowlistEntry } from "../../src/allowlist/entry";
import { classifyPeering, type PeeringRules } from "../../src/scanners/peering/classify";
import type { PeeringRow } from "../../src/scanners/peering/query";
import { findingId } from "../../src/scanners/finding";
import { truncatedVnets } from "../../src/scanners/peering/scanner";

const LOCAL_TENANT = "11111111-1111-4111-8111-111111111111";
const REMOTE_TENANT = "22222222-2222-4222-8222-222222222222";
const MS_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const LOCAL_VNET =
  "/subscriptions/aaaaaaaa-0000-4000-8000-000000000001/resourceGroups/hub-rg/providers/Microsoft.Network/virtualNetworks/hub";
const REMOTE_SUB = "bbbbbbbb-0000-4000-8000-000000000002";
const REMOTE_VNET = `/subscriptions/${REMOTE_SUB}/resourceGroups/r-rg/providers/Microsoft.Network/virtualNetworks/remote`;

const row = (over: Partial<PeeringRow> = {}): PeeringRow => ({
  vnetId: LOCAL_VNET,
  vnetName: "hub",
  subscriptionId: "aaaaaaaa-0000-4000-8000-000000000001",
  tenantId: LOCAL_TENANT,
  peeringCount: 1,
  id: `${LOCAL_VNET}/virtualNetworkPeerings/to-remote`,
  peeringName: "to-remote",
  remoteVnetId: REMOTE_VNET,
  remoteTenantId: "",
  peeringState: "Connected",
  peeringSyncLevel: "FullyInSync",
  allowForwardedTraffic: null,
  allowGatewayTransit: true,
  useRemoteGateways: false,
  remoteAddressPrefixes: ["10.0.0.0/16"],
  ...over,
});

const rules = (over: Partial<PeeringRules> = {}): PeeringRules => ({
  allowlist: [],
  microsoftTenantIds: [MS_TENANT],
  allowMicrosoftManaged: true,
  now: new Date("2026-11-29T12:00:00Z"),
  ...over,
});

const entry = (over: Partial<AllowlistEntry>): AllowlistEntry => ({
  id: "e",
  owner: "o",
  reason: "r",
  ...over,
});
const remote = { tenantId: REMOTE_TENANT, tenantName: "Remote Org" };

describe("classifyPeering", () => {
  it("ignores a peering whose remote subscription is in the local VNet's own tenant", () => {
    expect(
      classifyPeering(row(), { tenantId: LOCAL_TENANT.toUpperCase(), tenantName: null }, rules()),
    ).toBeNull();
  });

  it("reports a cross-tenant peering with no allowlist entry as a violation graded by state", () => {
    const f = classifyPeering(row(), remote, rules())!;
    expect(f).toMatchObject({
      relation: "cross-tenant",
      status: "violation",
      severity: "high",
      allowlistEntryId: null,
      riskFactors: ["gateway-transit"],
      allowForwardedTraffic: false,
    });
    expect(f.id).toBe(findingId("vnet-peering", row().id.toUpperCase()));
    expect(f.summary).toBe(
      "Peering 'to-remote' (Connected) connects VNet 'hub' to 'remote' in another tenant, Remote Org (22222222-2222-4222-8222-222222222222), and no allowlist entry covers it.",
    );
    expect(classifyPeering(row({ peeringState: "Initiated" }), remote, rules())!.severity).toBe("medium");
    expect(classifyPeering(row({ peeringState: "Disconnected" }), remote, rules())!.severity).toBe("low");
  });

  it("matches entries by tenant, subscription or VNet, case-insensitively", () => {
    for (const match of [
      { tenantId: REMOTE_TENANT.toUpperCase() },
      { subscriptionId: REMOTE_SUB.toUpperCase() },
      { remoteVnetId: REMOTE_VNET.toLowerCase() },
    ]) {
      const f = classifyPeering(row(), remote, rules({ allowlist: [entry({ id: "ok", ...match })] }))!;
      expect(f).toMatchObject({ status: "allowed", severity: "info", allowlistEntryId: "ok" });
    }
    const other = classifyPeering(
      row(),
      remote,
      rules({ allowlist: [entry({ subscriptionId: "cccccccc-0000-4000-8000-000000000003" })] }),
    )!;
    expect(other.status).toBe("violation");
  });

  it("honours localScope on a path-segment boundary", () => {
    const scoped = (localScope: string) =>
      classifyPeering(row(), remote, rules({ allowlist: [entry({ tenantId: REMOTE_TENANT, localScope })] }))!
        .status;
    expect(scoped("/subscriptions/AAAAAAAA-0000-4000-8000-000000000001/resourceGroups/HUB-RG")).toBe(
      "allowed",
    );
    expect(scoped("/subscriptions/aaaaaaaa-0000-4000-8000-000000000001/resourceGroups/hub")).toBe(
      "violation",
    );
    expect(scoped("/subscriptions/aaaaaaaa-0000-4000-8000-000000000001/resourceGroups/other-rg")).toBe(
      "violation",
    );
  });

  it("keeps an entry in force through the end of its expiry day (UTC), then reports expired-exception", () => {
    const onDay = classifyPeering(
      row(),
      remote,
      rules({
        allowlist: [entry({ tenantId: REMOTE_TENANT, expiresOn: "2026-11-29" })],
        now: new Date("2026-11-29T23:59:59Z"),
      }),
    )!;
    expect(onDay.status).toBe("allowed");
    const after = classifyPeering(
      row(),
      remote,
      rules({
        allowlist: [entry({ id: "old", tenantId: REMOTE_TENANT, expiresOn: "2026-11-29" })],
        now: new Date("2026-11-30T00:00:00Z"),
      }),
    )!;
    expect(after).toMatchObject({ status: "expired-exception", allowlistEntryId: "old", severity: "high" });
    expect(after.summary).toMatch(/allowlist entry 'old' expired on 2026-11-29/);
  });

  it("prefers an entry in force over an expired one", () => {
    const f = classifyPeering(
      row(),
      remote,
      rules({
        allowlist: [
          entry({ id: "old", tenantId: REMOTE_TENANT, expiresOn: "2020-01-01" }),
          entry({ id: "new", subscriptionId: REMOTE_SUB }),
        ],
      }),
    )!;
    expect(f).toMatchObject({ status: "allowed", allowlistEntryId: "new" });
  });

  it("calls a subscription of unknown tenant unresolved", () => {
    const f = classifyPeering(row(), { tenantId: null, tenantName: null }, rules())!;
    expect(f).toMatchObject({ relation: "unresolved", status: "violation", remoteTenantId: null });
    expect(f.summary).toMatch(/whose tenant could not be determined/);
  });

  it("trusts the tenant, not the name: HV_ hubs are Microsoft-managed only in a Microsoft tenant", () => {
    const g = "0a1b2c3d-0000-4000-8000-00000000abcd";
    const vwan = row({
      remoteVnetId: `/subscriptions/${REMOTE_SUB}/resourceGroups/RG_hub1_${g}/providers/Microsoft.Network/virtualNetworks/HV_hub1_${g}`,
    });
    const real = classifyPeering(vwan, { tenantId: MS_TENANT, tenantName: "Microsoft" }, rules())!;
    expect(real).toMatchObject({ relation: "microsoft-managed", status: "allowed", allowlistEntryId: null });
    expect(real.summary).toContain("(a Virtual WAN hub)");

    const lookAlike = classifyPeering(vwan, remote, rules())!;
    expect(lookAlike).toMatchObject({ relation: "cross-tenant", status: "violation", severity: "high" });
    expect(lookAlike.summary).toContain(
      "looks like a Virtual WAN hub, but its tenant is not a Microsoft tenant",
    );
    const unknown = classifyPeering(vwan, { tenantId: null, tenantName: null }, rules())!;
    expect(unknown).toMatchObject({ relation: "unresolved", status: "violation" });
    // Its tenant is unknown, so the summary must not claim it is not Microsoft's.
    expect(unknown.summary).toContain("looks like a Virtual WAN hub, but its tenant could not be checked");

    expect(classifyPeering(row(), { tenantId: MS_TENANT, tenantName: "Microsoft" }, rules())).toMatchObject({
      relation: "microsoft-managed",
      status: "allowed",
    });
    expect(
      classifyPeering(
        vwan,
        { tenantId: MS_TENANT, tenantName: null },
        rules({ allowMicrosoftManaged: false }),
      ),
    ).toMatchObject({ relation: "microsoft-managed", status: "violation", severity: "high" });
  });

  it("keeps an unknown or missing peering state as given and judges it like Connected", () => {
    expect(classifyPeering(row({ peeringState: "Reconnecting" }), remote, rules())).toMatchObject({
      peeringState: "Reconnecting",
      severity: "high",
    });
    const missing = classifyPeering(row({ peeringState: "", remoteAddressPrefixes: null }), remote, rules())!;
    expect(missing).toMatchObject({ peeringState: "", severity: "high", remoteAddressPrefixes: [] });
    expect(missing.summary).toContain("(state not reported)");
  });

  it("lists every risk factor the peering enables", () => {
    const f = classifyPeering(
      row({ allowForwardedTraffic: true, allowGatewayTransit: true, useRemoteGateways: true }),
      remote,
      rules(),
    )!;
    expect(f.riskFactors).toEqual(["forwarded-traffic", "gateway-transit", "remote-gateways"]);
  });
});

describe("truncatedVnets", () => {
  it("names a VNet with more peerings than the windows read could hold", () => {
    const rows = [
      row({ peeringCount: 1001 }),
      row({ id: `${LOCAL_VNET}/virtualNetworkPeerings/b`, peeringCount: 1001 }),
    ];
    expect(truncatedVnets(rows, 3)).toEqual([]);
    expect(truncatedVnets(rows, 2)).toEqual([`${LOCAL_VNET} (1001 peerings, 800 read)`]);
  });
});
