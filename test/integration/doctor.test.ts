import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { healthApi } from "../../src/api/health";
import { main } from "../../src/cli/main";
import type { CliIo } from "../../src/cli/io";
import { loadConfig } from "../../src/config";
import type { DoctorCheck } from "../../src/doctor/check";
import { sandboxConnection } from "../../src/sandbox/connection";
import { readEstateFile, type Estate } from "../../src/sandbox/estate";
import { startSandbox, type RunningSandbox, type SandboxOptions } from "../../src/sandbox/server";
import { silentLogger } from "../../src/log";
import type { Storage } from "../../src/store/storage";

const ROOT = join(__dirname, "../../..");
const ESTATE = join(ROOT, "examples/estates/two-tenants.json");
/** A webhook the guard can judge without DNS or sending: an address literal, allowed for the local demo. */
const WEBHOOK_ENV = {
  WEBHOOK_URL: "https://127.0.0.1:9/hooks/alerts?sig=secret-key",
  ALERT_ALLOWED_HOSTS: "127.0.0.1",
  ALERT_ALLOW_PRIVATE_ADDRESSES: "true",
};

async function doctor(
  args: string[],
  sandbox: Omit<SandboxOptions, "estate"> = {},
  env: Record<string, string> = WEBHOOK_ENV,
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    color: false,
    env: { AZURE_MAX_RETRIES: "1", ...env },
    sandbox,
  };
  const code = await main(["doctor", "--estate", ESTATE, ...args], io);
  return { code, stdout, stderr };
}

const byId = (checks: DoctorCheck[]) => new Map(checks.map((c) => [c.id, c]));

describe("cross-tenant-scanner doctor (issue 16)", () => {
  it("against the sandbox: every line ok, exit 0", async () => {
    const { code, stdout } = await doctor(["--format", "json"]);
    const { checks } = JSON.parse(stdout) as { checks: DoctorCheck[] };
    expect(checks.filter((c) => c.status !== "ok")).toEqual([]);
    expect(checks.map((c) => c.id)).toEqual([
      "settings",
      "key-vault-references",
      "identity",
      "resource-graph",
      "graph-directory-read-all",
      "graph-user-type",
      "graph-cross-tenant-information",
      "built-in-role-definitions",
      "lighthouse-delegations",
      "management-group-tree",
      "peering-event-grid",
      "graph-policy-read",
      "webhook-generic",
    ]);
    expect(byId(checks).get("identity")!.detail).toContain("5f1e4c2a-7b3d-4e8f-9a6b-2c1d0e9f8a7b");
    expect(byId(checks).get("resource-graph")!.detail).toMatch(/3 subscription\(s\) visible/);
    // The webhook's key never shows.
    expect(stdout).not.toContain("secret-key");
    expect(code).toBe(0);
  });

  it("without Directory.Read.All the Graph line fails and names the grant command; exit 3", async () => {
    const { code, stdout } = await doctor(["--format", "json"], { directoryAccess: false });
    const checks = byId((JSON.parse(stdout) as { checks: DoctorCheck[] }).checks);
    expect(checks.get("graph-directory-read-all")).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/403.*Directory\.Read\.All/),
      fix: expect.stringMatching(
        /appRoles\[\?value=='Directory\.Read\.All'\]\.id.*servicePrincipals\/00000000-0000-0000-0000-00000000c0de\/appRoleAssignments/,
      ),
    });
    expect(checks.get("resource-graph")!.status).toBe("ok");
    expect(code).toBe(3);
  });

  it("warns when Resource Graph cuts the tenant scope off or refuses it as too large", async () => {
    for (const sandbox of [{ tenantSubscriptionLimit: 1 }, { maxSubscriptionsUnderScope: 1 }]) {
      const { code, stdout } = await doctor(["--format", "json"], sandbox);
      const check = byId((JSON.parse(stdout) as { checks: DoctorCheck[] }).checks).get("resource-graph")!;
      expect(check).toMatchObject({
        status: "warn",
        detail: expect.stringMatching(/first 10,000 subscriptions/),
      });
      expect(code).toBe(0);
    }
  });

  it("prints a table: one line per check, the fix under what fails", async () => {
    const { code, stdout } = await doctor([], { graphAccess: false }, {});
    expect(stdout).toMatch(/^ok {4}identity +Signed in to tenant/m);
    expect(stdout).toMatch(/^FAIL {2}graph-cross-tenant-information +Microsoft Graph answered 403/m);
    expect(stdout).toMatch(/^ +fix: graph=\$\(az ad sp show.*CrossTenantInformation\.ReadBasic\.All/m);
    // No webhook set: said, not failed.
    expect(stdout).toMatch(/^WARN {2}webhooks +No alert destination is set/m);
    expect(code).toBe(3);
  });

  it("names unresolved Key Vault references and a webhook the guard refuses", async () => {
    const { stdout } = await doctor(
      ["--format", "json"],
      {},
      {
        WEBHOOK_SECRET: "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/hook)",
        WEBHOOK_URL: "https://10.0.0.5/hook",
        ALERT_ALLOWED_HOSTS: "10.0.0.5",
      },
    );
    const checks = byId((JSON.parse(stdout) as { checks: DoctorCheck[] }).checks);
    expect(checks.get("key-vault-references")).toMatchObject({
      status: "fail",
      detail: expect.stringContaining("WEBHOOK_SECRET"),
      fix: expect.stringContaining("Key Vault Secrets User"),
    });
    expect(checks.get("webhook-generic")).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/10\.0\.0\.5.*private address; nothing was sent/),
    });
  });
});

describe("GET /api/health runs the same checks", () => {
  let estate: Estate;
  let sandbox: RunningSandbox;
  beforeAll(async () => {
    estate = await readEstateFile(ESTATE);
    sandbox = await startSandbox({ estate, directoryAccess: false });
  });
  afterAll(() => sandbox.close());

  const health = (running: RunningSandbox) => {
    const config = loadConfig({ ...WEBHOOK_ENV, AZURE_MAX_RETRIES: "1" });
    return healthApi(
      { method: "GET", params: {}, query: new URLSearchParams(), header: () => null, body: "" },
      {
        config,
        connection: sandboxConnection(running, estate, config),
        storage: {} as Storage,
        log: silentLogger,
      },
      WEBHOOK_ENV,
    );
  };

  it("answers 200 with doctor's JSON when nothing fails", async () => {
    const healthy = await startSandbox({ estate });
    try {
      const response = await health(healthy);
      expect(response.status).toBe(200);
      expect((response.body as { checks: DoctorCheck[] }).checks.every((c) => c.status === "ok")).toBe(true);
    } finally {
      await healthy.close();
    }
  });

  it("answers 503 with doctor's JSON when a check fails", async () => {
    const response = await health(sandbox);
    expect(response.status).toBe(503);
    const checks = byId((response.body as { checks: DoctorCheck[] }).checks);
    expect(checks.get("graph-directory-read-all")!.status).toBe("fail");
    expect(checks.get("identity")!.status).toBe("ok");
  });
});

describe("no Azure credential: one line, exit 2 (issue 16)", () => {
  /** The real command with DefaultAzureCredential's developer sources only (no managed-identity probe off the machine). */
  function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
    const home = mkdtempSync(join(tmpdir(), "cts-nocred-"));
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [join(ROOT, "bin/cross-tenant-scanner.js"), ...args],
        {
          cwd: home,
          env: {
            PATH: process.env.PATH ?? "",
            HOME: home,
            AZURE_TOKEN_CREDENTIALS: "dev",
            CLI_STATE_DIR: home,
          },
          timeout: 60_000,
        },
        (error, _stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stderr }),
      );
    });
  }

  it.each([["scan"], ["doctor"], ["watch", "--polls", "1"]])("%s", async (...args) => {
    const { code, stderr } = await run(args);
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toEqual([
      expect.stringMatching(
        /^error: no Azure credential found\. .*'az login'.*AZURE_CLIENT_ID.*managed identity/,
      ),
    ]);
  });

  it("--verbose adds every credential's reason", async () => {
    const { code, stderr } = await run(["scan", "--verbose"]);
    expect(code).toBe(2);
    expect(stderr.trim().split("\n").length).toBeGreaterThan(1);
    expect(stderr).toMatch(/AzureCliCredential|Azure CLI/);
  });
});
