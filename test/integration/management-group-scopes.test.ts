import { beforeAll, describe, expect, it } from "@jest/globals";
import { join } from "node:path";
import { readEstateFile, type Estate } from "../../src/sandbox/estate";
import type { SandboxOptions } from "../../src/sandbox/server";
import type { ScanReport } from "../../src/findings/report";
import { ofKind } from "../../src/scanners/findings";
import { ROLE_GUIDS_IN_USE_QUERY } from "../../src/scanners/foreign-principal-network-access/query";
import { LIGHTHOUSE_CANDIDATES_QUERY } from "../../src/scanners/foreign-principal-network-access/lighthouse-query";
import { loadConfig } from "../../src/config";
import { azureGetter } from "../../src/azure/http";
import { listDescendants } from "../../src/azure/management-groups";
import {
  createResourceGraphClient,
  resourceGraphQuery,
  SCOPE_MEMBERS_QUERY,
} from "../../src/azure/resource-graph";
import { listSubscriptions } from "../../src/azure/subscription-inventory";
import { sandboxConnection } from "../../src/sandbox/connection";
import { z } from "zod";
import type { Descendant } from "../../src/azure/scope-plan";
import { guid } from "../helpers/estate-builder";
import { NO_QUOTA_WAITS, sandboxScan, type SandboxScan } from "../helpers/sandbox";

/**
 * Past Resource Graph's cut-off, the queries that read every subscription (the roles in use, the
 * role assignments, the Lighthouse delegations) go by whole management groups within the cut-off
 * where the identity can read the tree, instead of one request per subscription group.
 */
const ROOT = join(__dirname, "../../..");
const CHECK = "foreign-principal-network-access";
/** A cut-off of 5 subscriptions, groups of 1: every subscription is its own group. */
const CUT_OFF: Omit<SandboxOptions, "estate"> = { ...NO_QUOTA_WAITS, tenantSubscriptionLimit: 5 };
const GROUPS = { SUBSCRIPTION_GROUP_SIZE: "1", MANAGEMENT_GROUP_SCOPE_LIMIT: "5" };
const GUEST_ASSIGNMENT = "1f0e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";

/**
 * The bundled estate with six more home subscriptions in two business units under the landing
 * zones and two in a sandbox group; the write-up's guest also holds Network Contributor on one
 * business unit's subscription. The landing zones (7) are past the cut-off of 5, so their units
 * (3 each) are asked whole, the sandbox (2) and platform (1) with them, and demo-test, directly
 * under the landing zones, by itself.
 */
async function estate_(): Promise<{ estate: Estate; inUnit: string }> {
  const estate = await readEstateFile(join(ROOT, "examples/estates/two-tenants.json"));
  const home = estate.homeTenantId;
  const chains = [
    ...Array.from({ length: 3 }, () => ["bu-a", "contoso-landingzones"]),
    ...Array.from({ length: 3 }, () => ["bu-b", "contoso-landingzones"]),
    ["contoso-sandbox"],
    ["contoso-sandbox"],
  ];
  chains.forEach((managementGroups, i) =>
    estate.subscriptions.push({
      subscriptionId: guid(i + 1, "c9"),
      tenantId: home,
      displayName: `filler-${i + 1}`,
      state: "Enabled",
      managementGroups,
    }),
  );
  const inUnit = guid(2, "c9");
  const guest = estate.authorizationResources.find((r) => String(r.id).endsWith(GUEST_ASSIGNMENT))!;
  const copy = structuredClone(guest) as Record<string, unknown> & { properties: Record<string, unknown> };
  copy.id = `/subscriptions/${inUnit}/providers/Microsoft.Authorization/roleAssignments/${guid(7, "d9")}`;
  copy.name = guid(7, "d9");
  copy.subscriptionId = inUnit;
  copy.properties = { ...copy.properties, scope: `/subscriptions/${inUnit}` };
  estate.authorizationResources.push(copy as Estate["authorizationResources"][number]);
  return { estate, inUnit };
}

const principalFindings = (report: ScanReport) =>
  report
    .findings!.filter(ofKind(CHECK))
    .map((f) => `${f.principalId} ${f.scope} ${f.status}`)
    .sort();

async function scanWith(
  estate: Estate,
  env: Record<string, string>,
  options: Omit<SandboxOptions, "estate"> = {},
) {
  const scan = await sandboxScan(estate, { ...CUT_OFF, ...options });
  try {
    const report = await scan.scan({ env: { ...GROUPS, ...env } });
    const asked = (query: string) => scan.sandbox.counters.resourceGraphQueries.get(query) ?? 0;
    return {
      report,
      rolesInUse: asked(ROLE_GUIDS_IN_USE_QUERY),
      lighthouse: asked(LIGHTHOUSE_CANDIDATES_QUERY),
      memberChecks: asked(SCOPE_MEMBERS_QUERY),
      descendants: scan.sandbox.counters.managementGroupDescendantsRequests,
    };
  } finally {
    await scan.close();
  }
}

describe("past the cut-off, the queries over every subscription go by management group", () => {
  let fixture: { estate: Estate; inUnit: string };
  let bySubscription: Awaited<ReturnType<typeof scanWith>>;
  beforeAll(async () => {
    fixture = await estate_();
    bySubscription = await scanWith(fixture.estate, { MANAGEMENT_GROUP_SCOPE_LIMIT: "0" });
  });

  it("one request per packed group of units and per leftover subscription, and the same findings as by subscription", async () => {
    expect(bySubscription.report.complete).toBe(true);
    expect(bySubscription.descendants).toBe(0);
    const byGroup = await scanWith(fixture.estate, {});
    expect(byGroup.report.errors).toEqual([]);
    expect(byGroup.report.complete).toBe(true);
    // bu-a with the sandbox, bu-b with the platform; demo-test and the delegated subscription alone.
    expect(byGroup.rolesInUse).toBe(4);
    expect(byGroup.lighthouse).toBe(4);
    // Each management-group scope's members are checked once, not once per query.
    expect(byGroup.memberChecks).toBe(2);
    expect(bySubscription.rolesInUse).toBeGreaterThanOrEqual(11);
    expect(principalFindings(byGroup.report)).toEqual(principalFindings(bySubscription.report));
    // The guest is found on the business unit's subscription, read through its management group.
    expect(
      principalFindings(byGroup.report).some((f) => f.includes(`/subscriptions/${fixture.inUnit}`)),
    ).toBe(true);
  });

  it("a tree the identity may not read: subscription groups as before, still complete", async () => {
    const denied = await scanWith(fixture.estate, {}, { managementGroupsReadable: false });
    expect(denied.descendants).toBe(1);
    expect(denied.report.complete).toBe(true);
    expect(denied.rolesInUse).toBe(bySubscription.rolesInUse);
    expect(principalFindings(denied.report)).toEqual(principalFindings(bySubscription.report));
  });

  it("a management-group scope Resource Graph cuts off after all is read by its subscriptions instead", async () => {
    // Planned for 6 a request (bu-a and bu-b together), but Resource Graph covers 5: the check of
    // its members meets the cut-off, so every query reads its 6 subscriptions one by one.
    const cut = await scanWith(fixture.estate, { MANAGEMENT_GROUP_SCOPE_LIMIT: "6" });
    expect(cut.report.complete).toBe(true);
    expect(principalFindings(cut.report)).toEqual(principalFindings(bySubscription.report));
    // [bu-a, bu-b] by its 6, [sandbox, platform] (1), demo-test and the delegated one (2).
    expect(cut.rolesInUse).toBe(9);
    expect(cut.lighthouse).toBe(9);
    // The cut-off scope is checked once and then left to its subscriptions; the other once.
    expect(cut.memberChecks).toBe(2);
  });

  it("an explicit subscription list never goes by management group: nothing past the list is asked", async () => {
    const listed = [...fixture.estate.subscriptions]
      .filter((s) => s.tenantId === fixture.estate.homeTenantId && s.visibleToScanner !== false)
      .map((s) => s.subscriptionId);
    const explicit = await scanWith(fixture.estate, { SCAN_SUBSCRIPTIONS: listed.join(",") });
    expect(explicit.descendants).toBe(0);
    expect(explicit.rolesInUse).toBe(listed.length);
    expect(explicit.report.complete).toBe(true);
  });
});

/** A runner of its own over the sandbox: groups of one, scopes of at most 5, pages of `pageSize`. */
function runnerOver(
  scan: SandboxScan,
  estate: Estate,
  pageSize: number,
  tree?: (group: string) => Promise<Descendant[]>,
) {
  const connection = sandboxConnection(scan.sandbox, estate, loadConfig({}));
  const get = azureGetter(connection);
  return resourceGraphQuery(
    createResourceGraphClient(connection),
    { managementGroups: [], subscriptions: [] },
    {
      pageSize,
      subscriptionGroupSize: 1,
      listSubscriptions: async () => (await listSubscriptions(connection, get)).map((s) => s.subscriptionId),
      listManagementGroups: tree ?? ((group) => listDescendants(connection, get, group)),
      tenantRootGroup: estate.homeTenantId,
      managementGroupScopeLimit: 5,
    },
  );
}

describe("a query a management-group scope cannot answer", () => {
  it("is read by the scope's subscriptions; the next query still goes by the scope", async () => {
    const { estate } = await estate_();
    const scan = await sandboxScan(estate, CUT_OFF);
    try {
      const runner = runnerOver(scan, estate, 2);
      // A summarize past its first page (2 rows) at a scope of 3 or 5: Resource Graph cannot page it.
      const perSubscription = await runner.queryAll(
        "per subscription",
        `resourcecontainers | where type =~ 'microsoft.resources/subscriptions' | summarize n = count() by subscriptionId`,
        z.object({ subscriptionId: z.string(), n: z.number() }),
      );
      const home = estate.subscriptions.filter(
        (s) => s.tenantId === estate.homeTenantId && s.visibleToScanner !== false,
      );
      expect(perSubscription.rows.map((r) => r.subscriptionId.toLowerCase()).sort()).toEqual(
        expect.arrayContaining(home.map((s) => s.subscriptionId.toLowerCase()).sort()),
      );
      const assignments = `authorizationresources | where type =~ 'microsoft.authorization/roleassignments' | project id, subscriptionId`;
      await runner.queryAll(
        "assignments",
        assignments,
        z.object({ id: z.string(), subscriptionId: z.string() }),
      );
      // Two management-group requests and the two left over, not one per subscription.
      expect(scan.sandbox.counters.resourceGraphQueries.get(assignments)).toBe(4);
    } finally {
      await scan.close();
    }
  });
});

describe("a plan made from ARM's tree is checked against Resource Graph's own view of it", () => {
  it("a subscription ARM places in a planned group but Resource Graph does not is still read, by itself", async () => {
    const { estate, inUnit } = await estate_();
    const scan = await sandboxScan(estate, CUT_OFF);
    try {
      const connection = sandboxConnection(scan.sandbox, estate, loadConfig({}));
      const get = azureGetter(connection);
      // ARM's tree (stale, say) puts the guest's subscription under the sandbox group; Resource
      // Graph still has it under bu-a. bu-a (now 2) packs with bu-b (3), where Resource Graph sees
      // 6, past its cut-off of 5: that request goes by the 5 subscriptions ARM placed there, not the
      // guest's. The sandbox group (now 3) is checked: Resource Graph does not place the guest's
      // there, so it is read by itself.
      const runner = runnerOver(scan, estate, 1000, async (group) =>
        (await listDescendants(connection, get, group)).map((d) =>
          d.name === inUnit ? { ...d, parent: "contoso-sandbox" } : d,
        ),
      );
      const { rows } = await runner.queryAll(
        "assignments",
        `authorizationresources | where type =~ 'microsoft.authorization/roleassignments' | project id, subscriptionId`,
        z.object({ id: z.string(), subscriptionId: z.string() }),
      );
      expect(rows.filter((r) => r.subscriptionId.toLowerCase() === inUnit)).toHaveLength(1);
      expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    } finally {
      await scan.close();
    }
  });
});
