import { describe, expect, it } from "@jest/globals";
import { azureGetter } from "../../src/azure/http";
import { workspaceQuery } from "../../src/azure/log-analytics";
import { loadConfig } from "../../src/config";
import { probeLogAnalyticsWorkspace, probePolicyRead } from "../../src/doctor/entra-evidence";
import { sandboxConnection } from "../../src/sandbox/connection";
import { parseEstate, type Estate } from "../../src/sandbox/estate";
import { startSandbox, type RunningSandbox } from "../../src/sandbox/server";
import { EstateBuilder, guid } from "../helpers/estate-builder";

const HOME = guid(1, "d0");
const WORKSPACE = guid(9, "d9");
const config = loadConfig({ AZURE_MAX_RETRIES: "0" });

function estate(extra: Record<string, unknown>): Estate {
  return parseEstate({ ...(new EstateBuilder(HOME).json() as object), ...extra }, "test estate");
}

const rows = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ TimeGenerated: new Date(Date.now() - i * 3600_000).toISOString() }));

/** Runs `probe` against a sandbox serving `world`. */
async function withSandbox<T>(world: Estate, probe: (sandbox: RunningSandbox) => Promise<T>): Promise<T> {
  const sandbox = await startSandbox({ estate: world });
  try {
    return await probe(sandbox);
  } finally {
    await sandbox.close();
  }
}

const policyProbe = (world: Estate) =>
  withSandbox(world, (sandbox) => {
    const connection = sandboxConnection(sandbox, world, config);
    return probePolicyRead(connection, azureGetter(connection));
  });

const workspaceProbe = (world: Estate, workspaceId = WORKSPACE) =>
  withSandbox(world, (sandbox) =>
    probeLogAnalyticsWorkspace(
      workspaceId,
      workspaceId ? workspaceQuery(sandboxConnection(sandbox, world, config), workspaceId) : null,
      "P30D",
    ),
  );

describe("doctor: Policy.Read.All", () => {
  it("ok when Graph answers the cross-tenant access policy", async () => {
    expect(await policyProbe(estate({ entra: {} }))).toEqual({
      id: "graph-policy-read",
      status: "ok",
      detail: expect.stringContaining("Policy.Read.All"),
      fix: "",
    });
  });

  it("warns, with the grant command, when Graph answers 403", async () => {
    const check = await policyProbe(estate({}));
    expect(check.status).toBe("warn");
    expect(check.detail).toMatch(/403.*lacks Policy\.Read\.All.*skipped/);
    expect(check.fix).toContain("appRoles[?value=='Policy.Read.All'].id");
  });
});

describe("doctor: the evidence workspace", () => {
  const tables = { SigninLogs: rows(3), AADNonInteractiveUserSignInLogs: rows(2), AzureActivity: rows(1) };

  it("ok when every table is readable and holds rows", async () => {
    const check = await workspaceProbe(estate({ logAnalytics: { workspaceId: WORKSPACE, tables } }));
    expect(check).toMatchObject({ status: "ok", fix: "" });
    expect(check.detail).toContain("SigninLogs 3, AADNonInteractiveUserSignInLogs 2, AzureActivity 1");
  });

  it("warns when LOG_ANALYTICS_WORKSPACE_ID is not set", async () => {
    const check = await workspaceProbe(estate({}), "");
    expect(check).toMatchObject({ status: "warn", detail: expect.stringMatching(/not set/) });
  });

  it("warns with the role assignment when the workspace answers 403", async () => {
    const check = await workspaceProbe(estate({}));
    expect(check.status).toBe("warn");
    expect(check.detail).toMatch(/403.*Log Analytics Reader/);
    expect(check.fix).toMatch(/--role "Log Analytics Reader" --scope/);
  });

  it("warns with the diagnostic setting when a table is missing or empty", async () => {
    const { AADNonInteractiveUserSignInLogs: _missing, ...some } = tables;
    const check = await workspaceProbe(
      estate({ logAnalytics: { workspaceId: WORKSPACE, tables: { ...some, SigninLogs: [] } } }),
    );
    expect(check.status).toBe("warn");
    expect(check.detail).toMatch(/could not be asked for AADNonInteractiveUserSignInLogs/);
    expect(check.detail).toMatch(/holds no rows of SigninLogs in P30D/);
    expect(check.fix).toContain("microsoft.aadiam/diagnosticSettings");
  });
});
