import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import Ajv2020 from "ajv/dist/2020";
import type { CliIo } from "../../src/cli/io";
import { main } from "../../src/cli/main";
import type { ScanReport } from "../../src/findings/report";
import type { RunningAzurite } from "../../src/store/azurite";
import { storageFromConnectionString } from "../../src/store/storage";
import { testStorage } from "../helpers/azurite";

const ROOT = resolve(__dirname, "../../..");
const ESTATE = join(ROOT, "examples/estates/two-tenants.json");
const ALLOWLIST = join(ROOT, "examples/allowlist.yaml");

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = (await testStorage()).azurite;
});
afterAll(() => azurite.stop());

async function cli(argv: string[], sandbox?: CliIo["sandbox"], env: Record<string, string> = {}) {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    color: false,
    env: { AZURE_MAX_RETRIES: "1", AzureWebJobsStorage: azurite.connectionString, ...env },
    ...(sandbox ? { sandbox } : {}),
  });
  return { code, stdout, stderr };
}

function tempFile(name: string, content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "cts-")), name);
  writeFileSync(path, content);
  return path;
}

describe("npx cross-tenant-scanner scan --estate", () => {
  it("prints a schema-valid JSON report of the sample estate and exits 1 for its violations", async () => {
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((done) => {
      const child = execFile(
        "npx",
        ["cross-tenant-scanner", "scan", "--estate", ESTATE, "--allowlist", ALLOWLIST, "--format", "json"],
        { cwd: ROOT, env: { ...process.env, CLI_STATE_DIR: mkdtempSync(join(tmpdir(), "cts-state-")) } },
        (_error, out) => done({ code: child.exitCode, stdout: out }),
      );
    });
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as ScanReport;
    // date-time is checked by the schema's own pattern; ajv's format plugin is not needed.
    const validate = new Ajv2020({ allErrors: true, strict: false, validateFormats: false }).compile(
      JSON.parse(readFileSync(join(ROOT, "schemas/report.schema.json"), "utf8")),
    );
    const valid = validate(report);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);

    const blog = report.findings.find((f) => f.resourceId.endsWith("/TenantB2TenantA"));
    expect(blog).toMatchObject({
      relation: "cross-tenant",
      remoteTenantId: "31ca78c2-d833-433a-9977-88e160bd4ac0",
      remoteTenantName: "Tenant A",
      remoteSubscriptionId: "8655f4d3-0bb1-4be0-b73c-6a8f3b304cf6",
      remoteAddressPrefixes: ["10.0.0.0/16"],
      peeringState: "Connected",
      status: "violation",
      severity: "high",
    });
    expect(new Set(report.findings.map((f) => f.status))).toEqual(
      new Set(["violation", "allowed", "expired-exception"]),
    );
    expect(new Set(report.findings.map((f) => f.relation))).toEqual(
      new Set(["cross-tenant", "unresolved", "microsoft-managed"]),
    );
  });

  it("prints an aligned table for people, with the summary", async () => {
    const { code, stdout, stderr } = await cli(["scan", "--estate", ESTATE, "--allowlist", ALLOWLIST]);
    expect(code).toBe(1);
    const lines = stdout.split("\n");
    expect(lines[0]).toMatch(/^SEVERITY\s+STATUS\s+RELATION/);
    const column = lines[0]!.indexOf("LOCAL");
    expect(lines.find((l) => l.includes("vnet-demo-test"))!.indexOf("vnet-demo-test")).toBe(column);
    // 16 of the network checks, 8 of the service-default cross-tenant access settings (3 to act on).
    expect(stdout).toMatch(/24 finding\(s\): 15 need action, 9 allowed/);
    expect(stderr).toMatch(/resource-graph-page/);
  });

  it("writes CSV and Markdown", async () => {
    const csv = await cli(["scan", "--estate", ESTATE, "--format", "csv"]);
    const rows = csv.stdout.trimEnd().split("\r\n");
    expect(rows[0]).toMatch(/^id,status,severity,relation/);
    expect(rows).toHaveLength(1 + 24);
    expect(csv.stdout).toMatch(
      /"Peering 'TenantB2TenantA' \(Connected\) connects VNet 'vnet-demo-test' to 'demo-vnet' in another tenant, Tenant A/,
    );

    const md = await cli(["scan", "--estate", ESTATE, "--allowlist", ALLOWLIST, "--format", "markdown"]);
    expect(md.stdout).toMatch(/^# Cross-tenant scan /);
    expect(md.stdout).toMatch(
      /az network vnet peering delete --subscription 31bdf544-8e8e-4f5b-bb31-3316a05e5581 --resource-group demo-test-rg --vnet-name vnet-demo-test --name TenantB2TenantA/,
    );
  });

  it("exits 0 when every cross-tenant finding is allowed", async () => {
    const estate = JSON.parse(readFileSync(ESTATE, "utf8"));
    const kinds =
      "    kinds: [vnet-peering, private-endpoint-outbound, private-endpoint-inbound, foreign-principal-network-access, cross-tenant-access-policy, service-endpoint-inbound, private-link-service-exposure]\n";
    // The tenant's own policies have no other tenant: each is accepted by its Graph path.
    const policies = ["/policies/crossTenantAccessPolicy/default", "/policies/authorizationPolicy"]
      .map((path) => `  - remoteResourceId: "${path}"\n${kinds}    owner: a@b.c\n    reason: test\n`)
      .join("");
    // The guest's home tenant is not known: only its principal id can allow it.
    const guest = `  - principalId: "6a1f2e3d-4c5b-4a69-8877-1a2b3c4d5e6f"\n${kinds}    owner: a@b.c\n    reason: test\n`;
    // A private link service open to `*` names no tenant: only the service's own id allows it.
    const everyone = `  - remoteResourceId: "/subscriptions/b2c4d6e8-1a3b-4c5d-8e9f-0a1b2c3d4e5f/resourceGroups/hub-rg/providers/Microsoft.Network/privateLinkServices/pls-contoso-public"\n${kinds}    owner: a@b.c\n    reason: test\n`;
    const allowAll = `schemaVersion: 1\nentries:\n${estate.tenants
      .map(
        (t: { tenantId: string }) =>
          `  - tenantId: "${t.tenantId}"\n${kinds}    owner: a@b.c\n    reason: test\n`,
      )
      .join(
        "",
      )}  - subscriptionId: "99999999-8888-4777-a666-555555555555"\n    owner: a@b.c\n    reason: test\n${guest}${everyone}${policies}`;
    const { code, stdout } = await cli([
      "scan",
      "--estate",
      ESTATE,
      "--allowlist",
      tempFile("all.yaml", allowAll),
    ]);
    expect(stdout).toMatch(/0 need action/);
    expect(code).toBe(0);
  });

  it("exits 3 when Resource Graph keeps failing", async () => {
    const { code, stdout } = await cli(["scan", "--estate", ESTATE], {
      resourceGraphFault: (n) => (n >= 2 ? { status: 503, retryAfterSeconds: 0 } : undefined),
    });
    expect(code).toBe(3);
    expect(stdout).toMatch(/INCOMPLETE/);
  });
});

describe("state between CLI runs", () => {
  it("keeps state in an embedded Azurite when no storage is configured, so a second scan shows the delta", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "cts-state-"));
    const env = { AzureWebJobsStorage: "", CLI_STATE_DIR: stateDir };
    const first = await cli(
      ["scan", "--estate", ESTATE, "--allowlist", ALLOWLIST, "--format", "json"],
      undefined,
      env,
    );
    expect(first.stderr).toContain(`State: embedded Azurite in ${join(stateDir, "azurite")}`);
    expect((JSON.parse(first.stdout) as ScanReport).delta!.new).toHaveLength(24);
    const second = await cli(
      ["scan", "--estate", ESTATE, "--allowlist", ALLOWLIST, "--format", "json"],
      undefined,
      env,
    );
    expect((JSON.parse(second.stdout) as ScanReport).delta).toEqual({
      new: [],
      resolved: [],
      reopened: [],
      changed: [],
    });
    const findings = await cli(["findings", "--status", "open"], undefined, env);
    expect(findings.stdout).toMatch(/14 finding\(s\)/);

    // The scanner loses Reader on the home subscriptions: their findings stay, marked stale.
    const estate = JSON.parse(readFileSync(ESTATE, "utf8")) as {
      homeTenantId: string;
      subscriptions: { tenantId: string; visibleToScanner?: boolean }[];
    };
    for (const s of estate.subscriptions) if (s.tenantId === estate.homeTenantId) s.visibleToScanner = false;
    const blind = await cli(
      ["scan", "--estate", tempFile("blind.json", JSON.stringify(estate)), "--allowlist", ALLOWLIST],
      undefined,
      env,
    );
    expect(blind.stderr).toMatch(/Out of sight: "[0-9a-f-]{36}"/);
    expect(blind.stderr).toMatch(/kept as they were \(stale\), not resolved/);
    const stale = await cli(["findings", "--status", "open"], undefined, env);
    expect(stale.stdout).toMatch(/open \(stale\)/);
    // The tenant's policy settings lie in no subscription: they stay open, never stale.
    expect(stale.stdout).toMatch(/14 finding\(s\)/);
  });
});

describe("alerts replay-poison", () => {
  it("moves poisoned alerts back to the alerts queue", async () => {
    const storage = storageFromConnectionString(azurite.connectionString, "test");
    const queued = async () =>
      (await (await storage.queue("alerts")).getProperties()).approximateMessagesCount ?? 0;
    const before = await queued();
    const poison = await storage.queue("alerts-poison");
    const alert = {
      schemaVersion: 1,
      kind: "scan-failed",
      idempotencyKey: "scan-failed:x",
      scanId: "x",
      createdAt: "2026-11-29T10:00:00.000Z",
      severity: "high",
      title: "Scan x failed: test",
    };
    await poison.sendMessage(Buffer.from(JSON.stringify(alert)).toString("base64"));
    await poison.sendMessage(Buffer.from("{}").toString("base64"));
    const { code, stderr } = await cli(["alerts", "replay-poison"]);
    expect(code).toBe(0);
    expect(stderr).toMatch(/Moved 1 message\(s\) from alerts-poison back to the alerts queue/);
    expect(stderr).toMatch(/skipped 1: 1 not alert messages/);
    expect(stderr).toMatch(/not replayed: message [\w-]+: not an alert message v1/);
    expect(await queued()).toBe(before + 1);
    expect((await cli(["alerts", "replay-poison", "--max", "0x10"])).code).toBe(2);
  });
});

describe("bad input", () => {
  it("refuses an invalid estate with the path of the offending field and exit 2", async () => {
    const estate = JSON.parse(readFileSync(ESTATE, "utf8"));
    estate.resources[0].properties.virtualNetworkPeerings[0].properties.remoteVirtualNetwork = null;
    const { code, stderr } = await cli(["scan", "--estate", tempFile("bad.json", JSON.stringify(estate))]);
    expect(code).toBe(2);
    expect(stderr).toContain(
      "$.resources[0].properties.virtualNetworkPeerings[0].properties.remoteVirtualNetwork",
    );
  });

  it("refuses an invalid allowlist, naming each entry and field, and exit 2", async () => {
    const text = readFileSync(ALLOWLIST, "utf8")
      .replace("    owner: migration-team@contoso.com\n", "")
      .replace('expiresOn: "2027-06-30"', 'expiresOn: "2027-02-30"');
    const { code, stderr } = await cli([
      "scan",
      "--estate",
      ESTATE,
      "--allowlist",
      tempFile("bad.yaml", text),
    ]);
    expect(code).toBe(2);
    expect(stderr).toContain("$.entries[1].owner");
    expect(stderr).toContain("$.entries[0].expiresOn");
  });

  it("exits 2 on a malformed AzureWebJobsStorage, naming the setting and not its value", async () => {
    const value = "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=U0VDUkVUS0VZ;TableEndpoint=::bad";
    const { code, stderr } = await cli(["allowlist", "list"], undefined, { AzureWebJobsStorage: value });
    expect(code).toBe(2);
    expect(stderr).toMatch(/AzureWebJobsStorage is not a usable storage connection string/);
    expect(stderr).not.toContain("U0VDUkVUS0VZ");
  });

  it("exits 2 on a missing file, an unknown option or an unknown format", async () => {
    expect((await cli(["scan", "--estate", "/nonexistent/estate.json"])).code).toBe(2);
    expect((await cli(["scan", "--estate", ESTATE, "--colour"])).code).toBe(2);
    const format = await cli(["scan", "--estate", ESTATE, "--format", "xml"]);
    expect(format.code).toBe(2);
    expect(format.stderr).toMatch(/--format must be one of table, json, csv, markdown/);
    expect((await cli(["frobnicate"])).code).toBe(2);
  });
});

describe("npx cross-tenant-scanner watch", () => {
  it("runs the change poller in a loop against --estate and says what each poll saw", async () => {
    const { code, stdout, stderr } = await cli([
      "watch",
      "--estate",
      ESTATE,
      "--polls",
      "2",
      "--interval",
      "0",
    ]);
    expect(code).toBe(0);
    expect(stderr).toContain("Sandbox serving");
    const polls = stdout.trimEnd().split("\n");
    expect(polls).toHaveLength(2);
    for (const line of polls)
      expect(line).toMatch(/0 change\(s\), 0 VNet\(s\) re-checked: 0 new, 0 reopened, 0 resolved$/);
  });

  it("refuses a bad --interval with the usage", async () => {
    const { code, stderr } = await cli(["watch", "--interval", "soon"]);
    expect(code).toBe(2);
    expect(stderr).toContain("--interval must be a number of seconds");
  });
});
