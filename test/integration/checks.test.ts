import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { join } from "node:path";
import { withId, type AllowlistEntry } from "../../src/allowlist/entry";
import { loadConfig } from "../../src/config";
import { sandboxConnection } from "../../src/sandbox/connection";
import { readEstateFile, type Estate } from "../../src/sandbox/estate";
import { startSandbox, type SandboxOptions } from "../../src/sandbox/server";
import { runRecordedScan } from "../../src/scan/record-scan";
import type { ScanReport } from "../../src/findings/report";
import { ofKind } from "../../src/scanners/findings";
import type { RunningAzurite } from "../../src/store/azurite";
import { AllowlistStore } from "../../src/store/allowlist-store";
import { FindingsStore } from "../../src/store/findings-store";
import type { Storage } from "../../src/store/storage";
import { sandboxScan, type SandboxScan } from "../helpers/sandbox";
import { testStorage, writeCounter } from "../helpers/azurite";

const ROOT = join(__dirname, "../../..");
const TENANT_A = "31ca78c2-d833-433a-9977-88e160bd4ac0";
const NORTHWIND = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const DEMO_SUB = "31bdf544-8e8e-4f5b-bb31-3316a05e5581";
const HUB_SUB = "b2c4d6e8-1a3b-4c5d-8e9f-0a1b2c3d4e5f";
const GUEST = "6a1f2e3d-4c5b-4a69-8877-1a2b3c4d5e6f";
const MEMBER = "7b2a3f4e-5d6c-4b7a-9988-2b3c4d5e6f70";
const APP = "8c3b4a5f-6e7d-4c8b-aa99-3c4d5e6f7081";

const entry = (fields: Partial<AllowlistEntry>): AllowlistEntry =>
  withId({ owner: "netops@contoso.com", reason: "approved by the CAB", ...fields });

let estate: Estate;
let env: SandboxScan;

beforeAll(async () => {
  estate = await readEstateFile(join(ROOT, "examples/estates/two-tenants.json"));
  env = await sandboxScan(estate);
});
afterAll(() => env.close());

describe("checks beyond peerings, on the example estate", () => {
  let report: ScanReport;
  beforeAll(async () => {
    report = await env.scan();
  });

  it("runs every check and completes", () => {
    expect(report.complete).toBe(true);
    expect(report.checks!.map((c) => [c.id, c.status])).toEqual([
      ["vnet-peering", "ran"],
      ["private-endpoint-outbound", "ran"],
      ["private-endpoint-inbound", "ran"],
      ["foreign-principal-network-access", "ran"],
      ["cross-tenant-access-policy", "ran"],
      ["service-endpoint-inbound", "ran"],
      ["private-link-service-exposure", "ran"],
      ["log-analytics-evidence", "skipped"],
    ]);
  });

  it("reports the outbound private endpoint to another tenant's storage account (manual, Approved) as high", () => {
    const outbound = report.findings.filter(ofKind("private-endpoint-outbound"));
    const foreign = outbound.filter((f) => f.relation === "cross-tenant");
    expect(foreign).toEqual([
      expect.objectContaining({
        resourceId: expect.stringMatching(
          /\/privateEndpoints\/pe-tenanta-storage\/manualPrivateLinkServiceConnections\/to-tenanta-blob$/,
        ),
        privateEndpointId: expect.stringMatching(/\/privateEndpoints\/pe-tenanta-storage$/),
        targetResourceId: expect.stringMatching(/\/storageAccounts\/tenantadata$/),
        groupIds: ["blob"],
        connectionState: "Approved",
        manual: true,
        localSubscriptionId: DEMO_SUB,
        remoteTenantId: TENANT_A,
        remoteTenantName: "Tenant A",
        status: "violation",
        severity: "high",
      }),
    ]);
    // The private endpoint to a Microsoft-operated service is Microsoft-managed, allowed by default.
    expect(outbound.filter((f) => f.relation !== "cross-tenant")).toEqual([
      expect.objectContaining({
        privateEndpointId: expect.stringMatching(/\/pe-azure-monitor$/),
        relation: "microsoft-managed",
        status: "allowed",
        severity: "info",
      }),
    ]);
    // The same-tenant private endpoint to our own key vault is no finding.
    expect(outbound.some((f) => f.privateEndpointId.endsWith("/pe-demo-to-kv"))).toBe(false);
  });

  it("reports the Pending inbound connection from another tenant's private endpoint to our key vault as medium", () => {
    expect(report.findings.filter(ofKind("private-endpoint-inbound"))).toEqual([
      expect.objectContaining({
        resourceId: expect.stringMatching(
          /\/vaults\/kv-contoso-secrets\/privateEndpointConnections\/nw-to-contoso-kv\.51c2$/,
        ),
        targetResourceId: expect.stringMatching(/\/vaults\/kv-contoso-secrets$/),
        privateEndpointId: expect.stringMatching(/\/privateEndpoints\/nw-to-contoso-kv$/),
        connectionState: "Pending",
        remoteTenantId: NORTHWIND,
        status: "violation",
        severity: "medium",
      }),
    ]);
  });

  it("reports the guest and the foreign app who can peer, not the member user", () => {
    // The Lighthouse delegation to Northwind is asserted in tenant-openings.test.ts.
    const principals = report.findings
      .filter(ofKind("foreign-principal-network-access"))
      .filter((f) => f.principalKind !== "lighthouse-delegation");
    expect(principals.map((f) => f.principalId).sort()).toEqual([GUEST, APP].sort());
    expect(principals.some((f) => f.principalId === MEMBER)).toBe(false);
    expect(principals.find((f) => f.principalId === GUEST)).toMatchObject({
      principalType: "User",
      principalKind: "guest-user",
      principalDisplayName: "Mallory (Tenant A)",
      // Found from the domain of the #EXT# UPN (findTenantInformationByDomainName).
      principalHomeTenantId: TENANT_A,
      remoteTenantId: TENANT_A,
      remoteTenantName: "Tenant A",
      roleName: "Network Contributor",
      scope: `/subscriptions/${DEMO_SUB}`,
      grantingActions: ["Microsoft.Network/*"],
      relation: "cross-tenant",
      severity: "high",
    });
    expect(principals.find((f) => f.principalId === APP)).toMatchObject({
      principalType: "ServicePrincipal",
      principalKind: "foreign-service-principal",
      principalHomeTenantId: NORTHWIND,
      remoteTenantId: NORTHWIND,
      remoteTenantName: "Northwind Traders",
      roleName: "Partner Network Operator",
      scope: `/subscriptions/${HUB_SUB}/resourceGroups/hub-rg`,
      severity: "medium",
    });
    // The guest's Reader assignment grants no peering: it never left Resource Graph.
    expect(report.stats.roleAssignments).toBe(3);
  });
});

describe("allowlist entries and finding kinds", () => {
  const outboundStatus = (r: ScanReport) =>
    r.findings.filter(ofKind("private-endpoint-outbound")).find((f) => f.remoteTenantId === TENANT_A)!.status;

  it("an entry without kinds for tenant T still means peerings only: it does not allow a private endpoint to T", async () => {
    const report = await env.scan({ allowlist: [entry({ tenantId: TENANT_A })] });
    expect(outboundStatus(report)).toBe("violation");
    const peering = report.findings
      .filter(ofKind("vnet-peering"))
      .find((f) => f.remoteTenantId === TENANT_A)!;
    expect(peering.status).toBe("allowed");
  });

  it("an entry with kinds [private-endpoint-outbound] allows it, and only it", async () => {
    const allow = entry({ tenantId: TENANT_A, kinds: ["private-endpoint-outbound"] });
    const report = await env.scan({ allowlist: [allow] });
    expect(outboundStatus(report)).toBe("allowed");
    const outbound = report.findings
      .filter(ofKind("private-endpoint-outbound"))
      .find((f) => f.remoteTenantId === TENANT_A)!;
    expect(outbound).toMatchObject({ allowlistEntryId: allow.id, severity: "info" });
    const peering = report.findings
      .filter(ofKind("vnet-peering"))
      .find((f) => f.remoteTenantId === TENANT_A)!;
    expect(peering.status).toBe("violation");
  });

  it("matches remoteResourceId against the other side and principalId against the principal", async () => {
    const report = await env.scan({
      allowlist: [
        entry({
          remoteResourceId: `/subscriptions/e5f7a9b1-4d6e-4f80-9b2c-3d4e5f607182/resourceGroups/nw-migration-rg/providers/Microsoft.Network/privateEndpoints/nw-to-contoso-kv`,
          kinds: ["private-endpoint-inbound"],
        }),
        entry({ principalId: APP, kinds: ["foreign-principal-network-access"] }),
      ],
    });
    expect(report.findings.filter(ofKind("private-endpoint-inbound"))[0]!.status).toBe("allowed");
    // The Lighthouse delegation to Northwind is asserted in tenant-openings.test.ts.
    const principals = report.findings
      .filter(ofKind("foreign-principal-network-access"))
      .filter((f) => f.principalKind !== "lighthouse-delegation");
    expect(principals.find((f) => f.principalId === APP)!.status).toBe("allowed");
    expect(principals.find((f) => f.principalId === GUEST)!.status).toBe("violation");
  });
});

describe("kept state with several checks (Azurite)", () => {
  let azurite: RunningAzurite;
  let storage: Storage;
  const counter = writeCounter();
  const config = loadConfig({ AZURE_MAX_RETRIES: "1" });
  /** The TenantB2TenantA peering finding as the scanner stored it before other checks existed. */
  const OLD_PEERING_ID = "d9c063e8be24c73abaf1dd156f616793";

  beforeAll(async () => {
    ({ azurite, storage } = await testStorage({
      additionalPolicies: [{ policy: counter.policy, position: "perCall" }],
    }));
  });
  afterAll(() => azurite.stop());

  async function scan(at: string, sandbox: Omit<SandboxOptions, "estate"> = {}): Promise<ScanReport> {
    const running = await startSandbox({ ...sandbox, estate });
    try {
      return await runRecordedScan({
        connection: {
          ...sandboxConnection(running, estate, config),
          retryOptions: { maxRetries: 1, retryDelayInMs: 10 },
        },
        config,
        storage,
        trigger: "cli",
        allowlist: [],
        now: () => new Date(at),
      });
    } finally {
      await running.close();
    }
  }

  it("a peering finding stored before this change keeps its id and history", async () => {
    const resourceId = `/subscriptions/${DEMO_SUB}/resourceGroups/demo-test-rg/providers/Microsoft.Network/virtualNetworks/vnet-demo-test/virtualNetworkPeerings/TenantB2TenantA`;
    const old = {
      id: OLD_PEERING_ID,
      kind: "vnet-peering",
      resourceId,
      localVnetId: resourceId.split("/virtualNetworkPeerings/")[0],
      localSubscriptionId: DEMO_SUB,
      localTenantId: estate.homeTenantId,
      remoteVnetId:
        "/subscriptions/8655f4d3-0bb1-4be0-b73c-6a8f3b304cf6/resourceGroups/demo-rg/providers/Microsoft.Network/virtualNetworks/demo-vnet",
      remoteSubscriptionId: "8655f4d3-0bb1-4be0-b73c-6a8f3b304cf6",
      remoteTenantId: TENANT_A,
      remoteTenantName: "Tenant A",
      relation: "cross-tenant",
      peeringState: "Connected",
      peeringSyncLevel: "FullyInSync",
      allowForwardedTraffic: false,
      allowGatewayTransit: false,
      useRemoteGateways: false,
      remoteAddressPrefixes: ["10.0.0.0/16"],
      status: "violation",
      allowlistEntryId: null,
      severity: "high",
      riskFactors: [],
      summary:
        "Peering 'TenantB2TenantA' (Connected) connects VNet 'vnet-demo-test' to 'demo-vnet' (older wording).",
    };
    const table = await storage.table("findings");
    await table.createEntity({
      partitionKey: OLD_PEERING_ID.charAt(0),
      rowKey: OLD_PEERING_ID,
      kind: "vnet-peering",
      status: "violation",
      severity: "high",
      localSubscriptionId: DEMO_SUB,
      finding: JSON.stringify(old),
      state: "open",
      firstSeen: "2026-10-01T00:00:00.000Z",
      firstScanId: "before-checks",
      lastSeen: "2026-10-01T00:00:00.000Z",
      lastScanId: "before-checks",
      history: JSON.stringify([
        { at: "2026-10-01T00:00:00.000Z", scanId: "before-checks", event: "new", state: "open" },
      ]),
      pendingAlerts: "",
    });

    const report = await scan("2026-11-01T00:00:00Z");
    expect(report.delta!.new).not.toContain(OLD_PEERING_ID);
    expect(report.delta!.changed).not.toContain(OLD_PEERING_ID);
    expect(report.findings.find((f) => f.resourceId === resourceId)!.id).toBe(OLD_PEERING_ID);
    const stored = (await new FindingsStore(storage).list()).find((s) => s.finding.id === OLD_PEERING_ID)!;
    expect(stored).toMatchObject({ firstSeen: "2026-10-01T00:00:00.000Z", firstScanId: "before-checks" });
    expect(stored.history.map((h) => h.event)).toEqual(["new"]);
  });

  it("an unchanged rescan writes no finding, whatever its kind", async () => {
    const etags = async () =>
      new Map((await new FindingsStore(storage).list()).map((f) => [f.finding.id, f.etag]));
    const before = await etags();
    expect(new Set([...before.keys()].map((id) => id.length))).toEqual(new Set([32]));
    counter.writes.length = 0;
    const again = await scan("2026-11-02T00:00:00Z");
    expect(again.delta).toEqual({ new: [], resolved: [], reopened: [], changed: [] });
    // No finding of any kind is written again; the scan run is (and at most the coverage batch).
    expect(await etags()).toEqual(before);
    expect(counter.writes.filter((w) => /\/scanruns\(/.test(w))).toHaveLength(1);
    expect(counter.writes.length).toBeLessThanOrEqual(2);
  });

  it("keeps an entry's kinds in Table Storage and reads them back", async () => {
    const allowlist = new AllowlistStore(storage);
    const entries = [
      entry({ tenantId: TENANT_A, kinds: ["private-endpoint-outbound", "private-endpoint-inbound"] }),
      entry({ principalId: APP, kinds: ["foreign-principal-network-access"] }),
      entry({ tenantId: NORTHWIND }),
    ];
    await allowlist.replaceAll(entries, "test");
    const read = new Map((await allowlist.list()).map((e) => [e.id, e]));
    expect(read.get(entries[0]!.id)!.kinds).toEqual([
      "private-endpoint-outbound",
      "private-endpoint-inbound",
    ]);
    expect(read.get(entries[1]!.id)).toMatchObject({
      principalId: APP,
      kinds: ["foreign-principal-network-access"],
    });
    expect(read.get(entries[2]!.id)!.kinds).toBeUndefined();
    await allowlist.replaceAll([], "test");
  });

  it("without Graph directory rights the principal check is skipped, named, and its findings are kept", async () => {
    const report = await scan("2026-11-03T00:00:00Z", { directoryAccess: false });
    expect(report.complete).toBe(true);
    expect(report.checks!.find((c) => c.id === "foreign-principal-network-access")).toMatchObject({
      status: "skipped",
      reason: expect.stringMatching(/403.*Directory\.Read\.All/),
    });
    expect(report.checks!.filter((c) => c.status === "ran").map((c) => c.id)).toEqual([
      "vnet-peering",
      "private-endpoint-outbound",
      "private-endpoint-inbound",
      "cross-tenant-access-policy",
      "service-endpoint-inbound",
      "private-link-service-exposure",
    ]);
    expect(report.findings.filter(ofKind("private-endpoint-inbound"))).toHaveLength(1);
    expect(report.findings.filter(ofKind("foreign-principal-network-access"))).toEqual([]);
    // Not looked at is not gone: the principal findings stay open.
    expect(report.delta!.resolved).toEqual([]);
    const principals = (await new FindingsStore(storage).list()).filter(
      (s) => s.finding.kind === "foreign-principal-network-access",
    );
    // The guest, the foreign app and the Lighthouse delegation.
    expect(principals.map((s) => s.state)).toEqual(["open", "open", "open"]);
  });
});
