import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { join } from "node:path";
import { loadConfig } from "../../src/config";
import { sandboxConnection } from "../../src/sandbox/connection";
import { readEstateFile, type Estate } from "../../src/sandbox/estate";
import { startSandbox, type SandboxOptions } from "../../src/sandbox/server";
import { runRecordedScan } from "../../src/scan/record-scan";
import type { ScanReport } from "../../src/findings/report";
import { ofKind } from "../../src/scanners/findings";
import { LIGHTHOUSE_SOURCE } from "../../src/scanners/foreign-principal-network-access/lighthouse";
import { LIGHTHOUSE_CANDIDATES_QUERY } from "../../src/scanners/foreign-principal-network-access/lighthouse-query";
import { FindingsStore } from "../../src/store/findings-store";
import { testStorage, type TestStorage } from "../helpers/azurite";
import { NO_QUOTA_WAITS, sandboxScan } from "../helpers/sandbox";

// Issue 19: Azure Lighthouse delegations, read where Resource Graph keeps them (managedserviceresources).
const ROOT = join(__dirname, "../../..");
const NORTHWIND = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const DEMO_SUB = "31bdf544-8e8e-4f5b-bb31-3316a05e5581";
const ASSIGNMENT = `/subscriptions/${DEMO_SUB}/providers/Microsoft.ManagedServices/registrationAssignments/3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c`;
const NOC = "9d4c5b6a-7f8e-4d9c-8baa-4d5e6f708192";
const ON_CALL = "4b3a2918-7e6d-4c5b-9a0f-1e2d3c4b5a69";
const NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7";
/** Contributor: a built-in role the bundled estate holds no definition of. */
const CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c";
const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const CHECK = "foreign-principal-network-access";

let bundled: Estate;
beforeAll(async () => {
  bundled = await readEstateFile(join(ROOT, "examples/estates/two-tenants.json"));
});

const delegations = (report: ScanReport) =>
  report.findings.filter(ofKind(CHECK)).filter((f) => f.principalKind === "lighthouse-delegation");
const checkOf = (report: ScanReport) => report.checks!.find((c) => c.id === CHECK)!;

/** The bundled estate with its registration definition's properties changed. */
function withDefinition(change: (properties: Record<string, unknown>) => void): Estate {
  const estate = structuredClone(bundled);
  const definition = estate.resources.find(
    (r) => r.type === "Microsoft.ManagedServices/registrationDefinitions",
  )!;
  change(definition.properties as Record<string, unknown>);
  return estate;
}

async function scanOnce(estate: Estate, options: Omit<SandboxOptions, "estate"> = {}) {
  const env = await sandboxScan(estate, { ...NO_QUOTA_WAITS, ...options });
  try {
    const report = await env.scan();
    return { report, queries: env.sandbox.counters.resourceGraphQueries };
  } finally {
    await env.close();
  }
}

describe("Lighthouse delegations from Resource Graph's managedserviceresources table", () => {
  it("finds the delegation of Network Contributor to tenant F through the table Azure keeps them in", async () => {
    const { report, queries } = await scanOnce(bundled);
    expect(LIGHTHOUSE_CANDIDATES_QUERY).toMatch(/^managedserviceresources\n/);
    expect(queries.get(LIGHTHOUSE_CANDIDATES_QUERY)).toBe(1);
    expect(delegations(report)).toEqual([
      expect.objectContaining({
        resourceId: ASSIGNMENT,
        principalId: NOC,
        managedByTenantId: NORTHWIND,
        roleName: "Network Contributor",
        relation: "cross-tenant",
        status: "violation",
        severity: "high",
        riskFactors: ["subscription-scope"],
      }),
    ]);
    expect(checkOf(report).status).not.toBe("failed");
  });

  it("counts eligible (PIM) authorizations, with or without a just-in-time policy, and keeps them apart from active ones", async () => {
    const estate = withDefinition((p) => {
      p.eligibleAuthorizations = [
        // `justInTimeAccessPolicy` is optional in the spec: the array, not the policy, makes it eligible.
        { principalId: NOC, principalIdDisplayName: "Northwind NOC", roleDefinitionId: NETWORK_CONTRIBUTOR },
        {
          principalId: ON_CALL,
          principalIdDisplayName: "Northwind on-call",
          roleDefinitionId: NETWORK_CONTRIBUTOR,
          justInTimeAccessPolicy: { multiFactorAuthProvider: "Azure", maximumActivationDuration: "PT8H" },
        },
        // Reader cannot peer: no finding.
        { principalId: ON_CALL, roleDefinitionId: READER },
      ];
    });
    const { report } = await scanOnce(estate);
    const found = delegations(report);
    expect(found.map((f) => [f.principalId, f.riskFactors]).sort()).toEqual(
      [
        [NOC, ["subscription-scope"]],
        [NOC, ["subscription-scope", "eligible-authorization"]],
        [ON_CALL, ["subscription-scope", "eligible-authorization"]],
      ].sort(),
    );
    expect(new Set(found.map((f) => f.id)).size).toBe(3);
    const eligible = found.find((f) => f.principalId === ON_CALL)!;
    expect(eligible).toMatchObject({ status: "violation", severity: "high", remoteTenantId: NORTHWIND });
    expect(eligible.summary).toContain("an eligible (PIM) 'Network Contributor'");
  });

  it("keeps a delegation whose role definition the scan cannot read unresolved, and says so in checks[]", async () => {
    const estate = withDefinition((p) => {
      p.eligibleAuthorizations = [{ principalId: ON_CALL, roleDefinitionId: CONTRIBUTOR }];
    });
    const { report } = await scanOnce(estate);
    expect(delegations(report).find((f) => f.principalId === ON_CALL)).toMatchObject({
      relation: "unresolved",
      roleName: "unknown role",
      riskFactors: ["subscription-scope", "eligible-authorization"],
    });
    expect(checkOf(report)).toMatchObject({ status: "degraded" });
    expect(checkOf(report).reason).toContain(CONTRIBUTOR);
  });

  it("a delegation of one resource group is judged at that scope (medium), as Resource Graph returns it", async () => {
    const estate = structuredClone(bundled);
    const assignment = estate.resources.find((r) => r.id === ASSIGNMENT)!;
    const rgAssignment = `/subscriptions/${DEMO_SUB}/resourceGroups/demo-rg/providers/Microsoft.ManagedServices/registrationAssignments/7c6b5a49-3e2d-4c1b-9a08-f7e6d5c4b3a2`;
    Object.assign(assignment, {
      id: rgAssignment,
      name: "7c6b5a49-3e2d-4c1b-9a08-f7e6d5c4b3a2",
      resourceGroup: "demo-rg",
    });
    const { report } = await scanOnce(estate);
    expect(delegations(report)).toEqual([
      expect.objectContaining({
        resourceId: rgAssignment,
        scope: `/subscriptions/${DEMO_SUB}/resourceGroups/demo-rg`,
        severity: "medium",
        riskFactors: ["resource-group-scope"],
        remoteTenantId: NORTHWIND,
      }),
    ]);
  });

  it("an assignment whose definition Resource Graph does not return is named as not judged, never dropped silently", async () => {
    const estate = structuredClone(bundled);
    estate.resources = estate.resources.filter(
      (r) => r.type !== "Microsoft.ManagedServices/registrationDefinitions",
    );
    const { report } = await scanOnce(estate);
    expect(delegations(report)).toEqual([]);
    expect(checkOf(report)).toMatchObject({ status: "degraded" });
    expect(checkOf(report).reason).toContain(`Lighthouse assignment ${ASSIGNMENT}`);
  });
});

describe("a failed read of the delegations", () => {
  let state: TestStorage;
  beforeAll(async () => {
    state = await testStorage();
  });
  afterAll(() => state.stop());

  async function recorded(estate: Estate, at: string, options: Omit<SandboxOptions, "estate"> = {}) {
    const config = loadConfig({ AZURE_MAX_RETRIES: "0" });
    const sandbox = await startSandbox({ ...NO_QUOTA_WAITS, ...options, estate });
    try {
      return await runRecordedScan({
        connection: { ...sandboxConnection(sandbox, estate, config), retryOptions: { maxRetries: 0 } },
        config,
        storage: state.storage,
        trigger: "cli",
        allowlist: [],
        now: () => new Date(at),
      });
    } finally {
      await sandbox.close();
    }
  }
  const storedDelegation = async () =>
    (await new FindingsStore(state.storage).list()).find((s) => s.finding.resourceId === ASSIGNMENT)!;

  it("keeps the check degraded, the scan incomplete, and resolves nothing; once read and gone, it is resolved", async () => {
    const first = await recorded(bundled, "2026-12-01T00:00:00Z");
    expect(delegations(first)).toHaveLength(1);
    expect((await storedDelegation()).state).toBe("open");

    const broken = await recorded(bundled, "2026-12-02T00:00:00Z", {
      resourceGraphFault: (_n, query) =>
        query === LIGHTHOUSE_CANDIDATES_QUERY ? { status: 403, message: "Not allowed." } : undefined,
    });
    expect(delegations(broken)).toEqual([]);
    expect(checkOf(broken)).toMatchObject({ status: "degraded" });
    expect(checkOf(broken).reason).toMatch(/Reading Lighthouse delegations .* failed/);
    expect(broken.complete).toBe(false);
    expect(broken.errors).toContainEqual(expect.objectContaining({ source: LIGHTHOUSE_SOURCE }));
    expect(broken.delta!.resolved).toEqual([]);
    expect((await storedDelegation()).state).toBe("open");

    // The same stored finding is resolved by a scan that read the delegations and found it gone.
    const removed = structuredClone(bundled);
    removed.resources = removed.resources.filter((r) => r.id !== ASSIGNMENT);
    const gone = await recorded(removed, "2026-12-03T00:00:00Z");
    expect(gone.complete).toBe(true);
    expect((await storedDelegation()).state).toBe("resolved");
  });
});
