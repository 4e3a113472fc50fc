import { ARRAY_SUMMARY_QUERY } from "../../src/scanners/array-summary";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { join } from "node:path";
import { withId, type AllowlistEntry } from "../../src/allowlist/entry";
import { createResourceGraphClient } from "../../src/azure/resource-graph";
import { loadConfig } from "../../src/config";
import { sandboxConnection } from "../../src/sandbox/connection";
import { parseEstate, readEstateFile, type Estate } from "../../src/sandbox/estate";
import type { ScanReport } from "../../src/findings/report";
import { checkOf, ofKind } from "../../src/scanners/findings";
import { SERVICE_ENDPOINT_CANDIDATES_QUERY } from "../../src/scanners/service-endpoint-inbound/query";
import { PRIVATE_LINK_SERVICE_CANDIDATES_QUERY } from "../../src/scanners/private-link-service-exposure/query";
import { LIGHTHOUSE_CANDIDATES_QUERY } from "../../src/scanners/foreign-principal-network-access/lighthouse-query";
import { NO_QUOTA_WAITS, type SandboxScan, sandboxScan } from "../helpers/sandbox";

// Issue 19: the paths by which another tenant reaches into the estate beyond peerings and private endpoints.
const ROOT = join(__dirname, "../../..");
const NORTHWIND = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const NORTHWIND_SUB = "e5f7a9b1-4d6e-4f80-9b2c-3d4e5f607182";
const HUB_SUB = "b2c4d6e8-1a3b-4c5d-8e9f-0a1b2c3d4e5f";

const entry = (fields: Partial<AllowlistEntry>): AllowlistEntry =>
  withId({ owner: "netops@contoso.com", reason: "approved by the CAB", ...fields });

let estate: Estate;
let env: SandboxScan;
let report: ScanReport;

beforeAll(async () => {
  estate = await readEstateFile(join(ROOT, "examples/estates/two-tenants.json"));
  env = await sandboxScan(estate, NO_QUOTA_WAITS);
  report = await env.scan();
});
afterAll(() => env.close());

describe("service-endpoint-inbound on the example estate", () => {
  it("reports the storage account's rule naming Northwind's subnet as high, and nothing for the key vault", () => {
    expect(report.complete).toBe(true);
    expect(report.checks!.find((c) => c.id === "service-endpoint-inbound")?.status).toBe("ran");
    expect(report.findings.filter(ofKind("service-endpoint-inbound"))).toEqual([
      expect.objectContaining({
        resourceId: expect.stringMatching(/\/storageAccounts\/stcontososhared$/),
        targetResourceId: expect.stringMatching(/\/storageAccounts\/stcontososhared$/),
        subnetId: expect.stringMatching(
          new RegExp(`^/subscriptions/${NORTHWIND_SUB}/.*/nw-migration-vnet/subnets/workers$`),
        ),
        rule: "properties.networkAcls.virtualNetworkRules",
        localSubscriptionId: HUB_SUB,
        remoteSubscriptionId: NORTHWIND_SUB,
        remoteTenantId: NORTHWIND,
        remoteTenantName: "Northwind Traders",
        relation: "cross-tenant",
        status: "violation",
        severity: "high",
      }),
    ]);
    expect(
      report.findings.some(
        (f) => f.resourceId.includes("/vaults/kv-contoso-secrets") && f.kind === "service-endpoint-inbound",
      ),
    ).toBe(false);
  });

  it("is low, and says so, when the resource is open to all networks anyway", async () => {
    const open = structuredClone(estate);
    const storage = open.resources.find((r) => r.name === "stcontososhared")!;
    (storage.properties as { networkAcls: { defaultAction: string } }).networkAcls.defaultAction = "Allow";
    const openEnv = await sandboxScan(open, NO_QUOTA_WAITS);
    try {
      const [finding] = (await openEnv.scan()).findings.filter(ofKind("service-endpoint-inbound"));
      expect(finding).toMatchObject({ severity: "low", riskFactors: ["open-to-all-networks"] });
      expect(finding!.summary).toContain("open to all networks");
    } finally {
      await openEnv.close();
    }
  });

  it("an allowlist entry by Northwind's tenant allows it with kinds [service-endpoint-inbound], not without", async () => {
    const status = (r: ScanReport) => r.findings.filter(ofKind("service-endpoint-inbound"))[0]!.status;
    const allowed = await env.scan({
      allowlist: [entry({ tenantId: NORTHWIND, kinds: ["service-endpoint-inbound"] })],
    });
    expect(status(allowed)).toBe("allowed");
    const other = await env.scan({
      allowlist: [entry({ tenantId: NORTHWIND, kinds: ["private-endpoint-inbound"] })],
    });
    expect(status(other)).toBe("violation");
  });

  it("costs one summary and one windowed read per scan", async () => {
    const before = (q: string) => env.sandbox.counters.resourceGraphQueries.get(q) ?? 0;
    const summary = before(ARRAY_SUMMARY_QUERY);
    const rows = before(SERVICE_ENDPOINT_CANDIDATES_QUERY);
    await env.scan();
    // One summary, shared with every other check, and one windowed read.
    expect(before(ARRAY_SUMMARY_QUERY) - summary).toBe(1);
    expect(before(SERVICE_ENDPOINT_CANDIDATES_QUERY) - rows).toBe(1);
  });
});

const PLS_API = `/subscriptions/${HUB_SUB}/resourceGroups/hub-rg/providers/Microsoft.Network/privateLinkServices/pls-contoso-api`;
const PLS_PUBLIC = `/subscriptions/${HUB_SUB}/resourceGroups/hub-rg/providers/Microsoft.Network/privateLinkServices/pls-contoso-public`;

describe("private-link-service-exposure on the example estate", () => {
  it("reports the service visible to Northwind's subscription as medium and the one auto-approving * as high, not its own subscription", () => {
    expect(report.checks!.find((c) => c.id === "private-link-service-exposure")?.status).toBe("ran");
    const exposures = report.findings.filter(ofKind("private-link-service-exposure"));
    expect(exposures).toHaveLength(2);
    expect(exposures.find((f) => f.resourceId === PLS_API)).toMatchObject({
      setting: "visibility",
      subscriptions: [NORTHWIND_SUB],
      remoteSubscriptionId: NORTHWIND_SUB,
      remoteTenantId: NORTHWIND,
      relation: "cross-tenant",
      status: "violation",
      severity: "medium",
    });
    const everyone = exposures.find((f) => f.resourceId === PLS_PUBLIC)!;
    expect(everyone).toMatchObject({
      setting: "autoApproval",
      subscriptions: ["*"],
      remoteTenantId: null,
      status: "violation",
      severity: "high",
      riskFactors: ["any-subscription", "auto-approval"],
    });
    expect(everyone.summary).toContain("every subscription of every tenant (*)");
  });

  it("an entry by Northwind's tenant with kinds [private-link-service-exposure] allows the visibility, not `*`; the service's id allows `*`", async () => {
    const statuses = async (allowlist: AllowlistEntry[]) =>
      Object.fromEntries(
        (await env.scan({ allowlist })).findings
          .filter(ofKind("private-link-service-exposure"))
          .map((f) => [f.resourceId, f.status]),
      );
    expect(
      await statuses([entry({ tenantId: NORTHWIND, kinds: ["private-link-service-exposure"] })]),
    ).toEqual({
      [PLS_API]: "allowed",
      [PLS_PUBLIC]: "violation",
    });
    expect(await statuses([entry({ tenantId: NORTHWIND, kinds: ["service-endpoint-inbound"] })])).toEqual({
      [PLS_API]: "violation",
      [PLS_PUBLIC]: "violation",
    });
    expect(
      await statuses([entry({ remoteResourceId: PLS_PUBLIC, kinds: ["private-link-service-exposure"] })]),
    ).toEqual({ [PLS_API]: "violation", [PLS_PUBLIC]: "allowed" });
  });

  it("links an inbound private endpoint connection from a listed subscription to the exposure finding", async () => {
    const linked = structuredClone(estate);
    const service = linked.resources.find((r) => r.id === PLS_API)!;
    (service.properties as { privateEndpointConnections: unknown[] }).privateEndpointConnections = [
      {
        id: `${PLS_API}/privateEndpointConnections/nw-to-api.1a2b`,
        properties: {
          privateEndpoint: {
            id: `/subscriptions/${NORTHWIND_SUB}/resourceGroups/nw-migration-rg/providers/Microsoft.Network/privateEndpoints/nw-to-api`,
          },
          privateLinkServiceConnectionState: { status: "Pending", description: "", actionsRequired: "None" },
        },
      },
    ];
    const linkedEnv = await sandboxScan(linked, NO_QUOTA_WAITS);
    try {
      const scanned = await linkedEnv.scan();
      const exposure = scanned.findings
        .filter(ofKind("private-link-service-exposure"))
        .find((f) => f.resourceId === PLS_API)!;
      const inbound = scanned.findings
        .filter(ofKind("private-endpoint-inbound"))
        .find((f) => f.targetResourceId === PLS_API)!;
      expect(inbound).toMatchObject({ remoteTenantId: NORTHWIND, exposureFindingId: exposure.id });
      // The key vault's connection is to no private link service: no link.
      const vault = scanned.findings
        .filter(ofKind("private-endpoint-inbound"))
        .find((f) => f.targetResourceId.includes("/vaults/"))!;
      expect(vault.exposureFindingId).toBeNull();
    } finally {
      await linkedEnv.close();
    }
  });

  it("costs one summary and one windowed read per scan", async () => {
    const count = (q: string) => env.sandbox.counters.resourceGraphQueries.get(q) ?? 0;
    const summary = count(ARRAY_SUMMARY_QUERY);
    const rows = count(PRIVATE_LINK_SERVICE_CANDIDATES_QUERY);
    await env.scan();
    expect(count(ARRAY_SUMMARY_QUERY) - summary).toBe(1);
    expect(count(PRIVATE_LINK_SERVICE_CANDIDATES_QUERY) - rows).toBe(1);
  });
});

describe("the estate holds subscription-level resources as Resource Graph returns them", () => {
  const ASSIGNMENT = `/subscriptions/${HUB_SUB}/providers/Microsoft.ManagedServices/registrationAssignments/3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c`;
  const assignment = (resourceGroup: string) => ({
    id: ASSIGNMENT,
    name: "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c",
    type: "Microsoft.ManagedServices/registrationAssignments",
    subscriptionId: HUB_SUB,
    resourceGroup,
    location: "",
    tenantId: "5f1e4c2a-7b3d-4e8f-9a6b-2c1d0e9f8a7b",
    properties: {
      registrationDefinitionId: `/subscriptions/${HUB_SUB}/providers/Microsoft.ManagedServices/registrationDefinitions/6b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e`,
      provisioningState: "Succeeded",
    },
  });

  it("accepts one with an empty resourceGroup, serves it, and refuses one that names a resource group", async () => {
    const withAssignment = { ...structuredClone(estate), resources: [...estate.resources, assignment("")] };
    expect(parseEstate(withAssignment, "test").resources.some((r) => r.id === ASSIGNMENT)).toBe(true);
    expect(() =>
      parseEstate({ ...withAssignment, resources: [...estate.resources, assignment("hub-rg")] }, "test"),
    ).toThrow(/resourceGroup.*subscription-level/s);
    const served = await sandboxScan(parseEstate(withAssignment, "test"), NO_QUOTA_WAITS);
    try {
      const client = createResourceGraphClient(
        sandboxConnection(served.sandbox, withAssignment, loadConfig({})),
      );
      const answer = await client.resources({
        query:
          "managedserviceresources | where type =~ 'microsoft.managedservices/registrationassignments' | project id, resourceGroup | order by id asc",
      });
      expect(answer.data).toContainEqual({ id: ASSIGNMENT, resourceGroup: "" });
      // As in Azure, Lighthouse's types are in `managedserviceresources` only, never in `resources`.
      const inResources = await client.resources({
        query: "resources | where type startswith 'microsoft.managedservices/' | project id",
      });
      expect(inResources.data).toEqual([]);
    } finally {
      await served.close();
    }
  });
});

describe("issue 19's must-show: the four openings to tenant F (Northwind) and to everyone", () => {
  const NOC = "9d4c5b6a-7f8e-4d9c-8baa-4d5e6f708192";
  const DEMO_SUB = "31bdf544-8e8e-4f5b-bb31-3316a05e5581";
  const ASSIGNMENT = `/subscriptions/${DEMO_SUB}/providers/Microsoft.ManagedServices/registrationAssignments/3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c`;
  const DEFINITION = `/subscriptions/${DEMO_SUB}/providers/Microsoft.ManagedServices/registrationDefinitions/6b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e`;
  const NEW_KINDS = ["service-endpoint-inbound", "private-link-service-exposure"] as const;
  const opening = (r: ScanReport) =>
    r.findings.filter(
      (f) =>
        (NEW_KINDS as readonly string[]).includes(f.kind) ||
        (f.kind === "foreign-principal-network-access" && f.principalKind === "lighthouse-delegation"),
    );

  it("reports exactly four, with the right tenants and severities, and nothing for the key vault", () => {
    const found = opening(report).map((f) => [
      f.kind,
      f.resourceId.split("/").at(-1),
      f.remoteTenantId,
      f.severity,
    ]);
    expect(found.sort()).toEqual(
      [
        ["foreign-principal-network-access", "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c", NORTHWIND, "high"],
        ["private-link-service-exposure", "pls-contoso-api", NORTHWIND, "medium"],
        ["private-link-service-exposure", "pls-contoso-public", null, "high"],
        ["service-endpoint-inbound", "stcontososhared", NORTHWIND, "high"],
      ].sort(),
    );
    expect(opening(report).some((f) => f.resourceId.includes("/vaults/"))).toBe(false);
    expect(
      report.findings.filter(ofKind("foreign-principal-network-access")).find((f) => f.principalId === NOC),
    ).toMatchObject({
      resourceId: ASSIGNMENT,
      principalKind: "lighthouse-delegation",
      managedByTenantId: NORTHWIND,
      registrationDefinitionId: DEFINITION.toLowerCase(),
      remoteTenantName: "Northwind Traders",
      roleName: "Network Contributor",
      scope: `/subscriptions/${DEMO_SUB}`,
      status: "violation",
    });
    const delegation = report.findings
      .filter(ofKind("foreign-principal-network-access"))
      .find((f) => f.principalId === NOC)!;
    expect(checkOf(delegation).command(delegation)).toBe(
      `az managedservices assignment delete --assignment 3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c --subscription ${DEMO_SUB}`,
    );
    expect(checkOf(delegation).facts(delegation)).toContainEqual(["Managing tenant", NORTHWIND]);
    // The NOC's Reader authorization cannot peer: no finding.
    expect(opening(report).filter((f) => f.kind === "foreign-principal-network-access")).toHaveLength(1);
  });

  it("an entry by tenant F with the right kinds allows each of F's; without those kinds, none", async () => {
    const withKinds = await env.scan({
      allowlist: [
        entry({
          tenantId: NORTHWIND,
          kinds: [...NEW_KINDS, "foreign-principal-network-access"],
        }),
      ],
    });
    const status = (r: ScanReport) =>
      Object.fromEntries(opening(r).map((f) => [f.resourceId.split("/").at(-1)!, f.status]));
    expect(status(withKinds)).toEqual({
      "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c": "allowed",
      "pls-contoso-api": "allowed",
      "pls-contoso-public": "violation", // `*` is not tenant F
      stcontososhared: "allowed",
    });
    const withoutKinds = await env.scan({ allowlist: [entry({ tenantId: NORTHWIND })] });
    expect(Object.values(status(withoutKinds))).toEqual(["violation", "violation", "violation", "violation"]);
  });

  it("reads Lighthouse delegations with one Resource Graph request a scan", async () => {
    const count = () => env.sandbox.counters.resourceGraphQueries.get(LIGHTHOUSE_CANDIDATES_QUERY) ?? 0;
    const before = count();
    await env.scan();
    expect(count() - before).toBe(1);
  });
});
