import { beforeAll, describe, expect, it } from "@jest/globals";
import { join } from "node:path";
import { readEstateFile, parseEstate, type Estate } from "../../src/sandbox/estate";
import type { SandboxOptions } from "../../src/sandbox/server";
import type { ScanReport } from "../../src/scan/report";
import { ofKind } from "../../src/scanners/findings";
import { sandboxScan } from "../helpers/sandbox";

const ROOT = join(__dirname, "../../..");
const HOME = "5f1e4c2a-7b3d-4e8f-9a6b-2c1d0e9f8a7b";
const TENANT_A = "31ca78c2-d833-433a-9977-88e160bd4ac0";
const FABRIKAM = "9c8b7a65-4d3e-4f21-8a0b-1c2d3e4f5a6b";
const NORTHWIND = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const DEMO_SUB = "31bdf544-8e8e-4f5b-bb31-3316a05e5581";
const HUB_SUB = "b2c4d6e8-1a3b-4c5d-8e9f-0a1b2c3d4e5f";
const NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7";
const GUEST = "6a1f2e3d-4c5b-4a69-8877-1a2b3c4d5e6f";
const APP = "8c3b4a5f-6e7d-4c8b-aa99-3c4d5e6f7081";
const SYNCED = "9d4c5b6a-7f80-4d9c-8baa-4d5e6f708192";
const GROUP_GUEST = "ae5d6c7b-8091-4eab-9cbb-5e6f708192a3";
const NET_GROUP = "bf6e7d8c-91a2-4fbc-8dcc-6f708192a3b4";
const SPRING_APPS = "c07f8e9d-a2b3-40cd-9edd-708192a3b4c5";
const MG_GUEST = "d1809fae-b3c4-41de-8fee-8192a3b4c5d6";
const MICROSOFT_APPS = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";

const assignment = (name: string, principalId: string, principalType: string, scope: string) => {
  const subscriptionId = scope.match(/^\/subscriptions\/([^/]+)/)?.[1];
  return {
    id: `${scope === "/" ? "" : scope}/providers/Microsoft.Authorization/roleAssignments/${name}`,
    name,
    type: "microsoft.authorization/roleassignments",
    ...(subscriptionId ? { subscriptionId } : {}),
    tenantId: HOME,
    properties: {
      roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${NETWORK_CONTRIBUTOR}`,
      principalId,
      principalType,
      scope,
    },
  };
};

/**
 * The example estate, plus the principals real Azure holds and the scanner used to miss: a user made
 * by cross-tenant sync (Member, #EXT#), a guest holding the role only through a group, a guest
 * holding it on a management group, and Microsoft's first-party app on a VNet.
 */
async function unseenEstate(): Promise<Estate> {
  const base = await readEstateFile(join(ROOT, "examples/estates/two-tenants.json"));
  const raw = JSON.parse(JSON.stringify(base)) as Record<string, unknown[]> & Estate;
  const vnet = `/subscriptions/${HUB_SUB}/resourceGroups/hub-rg/providers/Microsoft.Network/virtualNetworks/vnet-hub`;
  raw.authorizationResources.push(
    assignment("e1111111-0000-4000-8000-000000000001", SYNCED, "User", `/subscriptions/${HUB_SUB}`),
    assignment("e1111111-0000-4000-8000-000000000002", NET_GROUP, "Group", `/subscriptions/${DEMO_SUB}`),
    assignment("e1111111-0000-4000-8000-000000000003", SPRING_APPS, "ServicePrincipal", vnet),
    assignment(
      "e1111111-0000-4000-8000-000000000004",
      MG_GUEST,
      "User",
      "/providers/Microsoft.Management/managementGroups/contoso-landingzones",
    ),
  );
  raw.directoryObjects.push(
    {
      "@odata.type": "#microsoft.graph.user",
      id: SYNCED,
      displayName: "Sam (synced from Fabrikam)",
      userType: "Member",
      userPrincipalName: "sam_fabrikam.onmicrosoft.com#EXT#@contoso.onmicrosoft.com",
    },
    {
      "@odata.type": "#microsoft.graph.user",
      id: GROUP_GUEST,
      displayName: "Grace (Northwind)",
      userType: "Guest",
      userPrincipalName: "grace_northwind.onmicrosoft.com#EXT#@contoso.onmicrosoft.com",
      externalUserState: "Accepted",
      creationType: "Invitation",
    },
    {
      "@odata.type": "#microsoft.graph.user",
      id: MG_GUEST,
      displayName: "Mel (Tenant A)",
      userType: "Guest",
      userPrincipalName: "mel_tenanta.onmicrosoft.com#EXT#@contoso.onmicrosoft.com",
    },
    {
      "@odata.type": "#microsoft.graph.group",
      id: NET_GROUP,
      displayName: "Network operators",
      members: ["7b2a3f4e-5d6c-4b7a-9988-2b3c4d5e6f70", GROUP_GUEST],
    },
    {
      "@odata.type": "#microsoft.graph.servicePrincipal",
      id: SPRING_APPS,
      displayName: "Azure Spring Cloud Resource Provider",
      appId: "e8de9221-a19c-4c81-b814-fd37c6caf9d2",
      appOwnerOrganizationId: MICROSOFT_APPS,
      servicePrincipalType: "Application",
    },
  );
  return parseEstate(raw, "unseen estate");
}

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
