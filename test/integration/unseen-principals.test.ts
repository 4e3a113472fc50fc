import { beforeAll, describe, expect, it } from "@jest/globals";
import type { Estate } from "../../src/sandbox/estate";
import type { SandboxOptions } from "../../src/sandbox/server";
import type { ScanReport } from "../../src/findings/report";
import { ofKind } from "../../src/scanners/findings";
import { sandboxScan } from "../helpers/sandbox";
import {
  APP,
  DEMO_SUB,
  FABRIKAM,
  GROUP_GUEST,
  GUEST,
  HUB_SUB,
  MG_GUEST,
  NET_GROUP,
  NORTHWIND,
  SPRING_APPS,
  SYNCED,
  TENANT_A,
  unseenEstate,
} from "../helpers/unseen-estate";

let estate: Estate;
beforeAll(async () => {
  estate = await unseenEstate();
});

async function scanWith(options: Omit<SandboxOptions, "estate">, env: Record<string, string> = {}) {
  // A quota wide enough that the SDK never waits out the sandbox's Retry-After (tests stay fast).
  const sandbox = await sandboxScan(estate, { quota: { requests: 1000, windowMs: 5000 }, ...options });
  try {
    const report = await sandbox.scan({ env, sleep: async () => {} });
    if (!report.complete) throw new Error(JSON.stringify(report.errors));
    return { report, counters: sandbox.sandbox.counters };
  } finally {
    await sandbox.close();
  }
}

const principals = (report: ScanReport) => report.findings.filter(ofKind("foreign-principal-network-access"));

/** What every scope must show: the four foreign principals as violations, Microsoft's app allowed. */
function expectEveryForeignPrincipal(report: ScanReport): void {
  expect(report.complete).toBe(true);
  const found = principals(report);
  const by = (id: string) => found.filter((f) => f.principalId === id);
  expect(by(GUEST).find((f) => f.scope === `/subscriptions/${DEMO_SUB}`)).toMatchObject({
    principalKind: "guest-user",
    roleName: "Network Contributor",
    relation: "cross-tenant",
    status: "violation",
    severity: "high",
    remoteTenantId: TENANT_A,
    remoteTenantName: "Tenant A",
  });
  expect(by(SYNCED)).toEqual([
    expect.objectContaining({
      principalKind: "external-member",
      relation: "cross-tenant",
      status: "violation",
      remoteTenantId: FABRIKAM,
      principalHomeDomain: "fabrikam.onmicrosoft.com",
    }),
  ]);
  expect(by(APP)).toEqual([
    expect.objectContaining({
      principalKind: "foreign-service-principal",
      status: "violation",
      remoteTenantId: NORTHWIND,
    }),
  ]);
  expect(by(GROUP_GUEST)).toEqual([
    expect.objectContaining({
      principalKind: "guest-user",
      viaGroupId: NET_GROUP,
      viaGroupName: "Network operators",
      status: "violation",
      remoteTenantId: NORTHWIND,
      scope: `/subscriptions/${DEMO_SUB}`,
    }),
  ]);
  // The group's own member is no finding; nor is the group itself.
  expect(found.some((f) => f.principalId === "7b2a3f4e-5d6c-4b7a-9988-2b3c4d5e6f70")).toBe(false);
  expect(found.some((f) => f.principalId === NET_GROUP)).toBe(false);
  // Assigned on a management group above the scanned subscriptions: read with AtScopeAboveAndBelow.
  expect(by(MG_GUEST)).toEqual([
    expect.objectContaining({ principalKind: "guest-user", status: "violation", remoteTenantId: TENANT_A }),
  ]);
  // Microsoft's first-party app (Azure Spring Apps on a VNet, as its docs ask): Microsoft-managed, allowed.
  expect(by(SPRING_APPS)).toEqual([
    expect.objectContaining({ relation: "microsoft-managed", status: "allowed", severity: "info" }),
  ]);
  expect(report.checks!.find((c) => c.id === "foreign-principal-network-access")!.status).toBe("ran");
}

describe("foreign principals on Azure as it answers (issue 16)", () => {
  it("at tenant scope", async () => {
    expectEveryForeignPrincipal((await scanWith({})).report);
  });

  it("with SCAN_SUBSCRIPTIONS narrowing the scope (built-in roles live in no subscription)", async () => {
    const { report } = await scanWith(
      {},
      { SCAN_SUBSCRIPTIONS: `${DEMO_SUB},${HUB_SUB}`, SUBSCRIPTION_GROUP_SIZE: "1" },
    );
    expectEveryForeignPrincipal(report);
  });

  it("past the 10,000-subscription cut-off", async () => {
    const { report } = await scanWith({ tenantSubscriptionLimit: 1 });
    expectEveryForeignPrincipal(report);
  });

  it("past the size where Resource Graph refuses the tenant scope (TooManySubscriptionsUnderScope)", async () => {
    const { report, counters } = await scanWith({ maxSubscriptionsUnderScope: 1 });
    expectEveryForeignPrincipal(report);
    // Fell back to the ARM subscription list, as past the cut-off.
    expect(counters.subscriptionListRequests).toBeGreaterThan(0);
  });

  it("a subnet peering says which subnets it connects", async () => {
    const { report } = await scanWith({});
    expect(
      report.findings
        .filter(ofKind("vnet-peering"))
        .find((f) => f.resourceId.endsWith("/to-tenant-a-subnets")),
    ).toMatchObject({
      relation: "cross-tenant",
      peerCompleteVnets: false,
      localSubnetNames: ["app"],
      remoteSubnetNames: ["shared"],
      summary: expect.stringContaining("subnets only: 'app' to 'shared'"),
    });
  });

  it("an allowlist entry by tenant covers that tenant's guests", async () => {
    const sandbox = await sandboxScan(estate);
    try {
      const report = await sandbox.scan({
        allowlist: [
          {
            id: "tenant-a-guests",
            tenantId: TENANT_A,
            kinds: ["foreign-principal-network-access"],
            owner: "secops@contoso.com",
            reason: "Tenant A's admins manage our networks",
          },
        ],
      });
      expect(
        principals(report)
          .filter((f) => f.remoteTenantId === TENANT_A)
          .map((f) => f.status),
      ).toEqual(["allowed", "allowed"]);
      expect(principals(report).find((f) => f.principalId === SYNCED)!.status).toBe("violation");
    } finally {
      await sandbox.close();
    }
  });

  it("a group cut by GROUP_MEMBERS_PER_SCAN makes the check degraded, naming the group", async () => {
    const sandbox = await sandboxScan(estate, { memberPageSize: 1 });
    try {
      const report = await sandbox.scan({ env: { GROUP_MEMBERS_PER_SCAN: "1" } });
      expect(report.checks!.find((c) => c.id === "foreign-principal-network-access")).toMatchObject({
        status: "degraded",
        reason: expect.stringContaining(`'Network operators' ${NET_GROUP}`),
      });
    } finally {
      await sandbox.close();
    }
  });
});
