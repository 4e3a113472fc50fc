import { execFile } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";

const ROOT = join(__dirname, "../../..");

describe("npm run demo", () => {
  it("runs the whole loop twice, shows the alerts Teams received and the delta, and exits 0", async () => {
    const out = mkdtempSync(join(tmpdir(), "cts-demo-"));
    const started = Date.now();
    const { code, stdout, stderr } = await new Promise<{
      code: number | null;
      stdout: string;
      stderr: string;
    }>((done) => {
      const child = execFile(
        process.execPath,
        ["dist/scripts/demo.js", "--out", out],
        { cwd: ROOT },
        (_error, stdout, stderr) => done({ code: child.exitCode, stdout, stderr }),
      );
    });
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(stdout).toContain("Delta: 16 new, 0 resolved, 0 reopened, 0 changed.");
    expect(stdout).toContain("Teams received 12 card(s):");
    expect(stdout).toContain("HIGH · New cross-tenant peering — Peering 'TenantB2TenantA'");
    // One case of each check beyond peerings.
    expect(stdout).toContain(
      "HIGH · New cross-tenant private endpoint — Private endpoint 'pe-tenanta-storage'",
    );
    expect(stdout).toContain("MEDIUM · New inbound cross-tenant private endpoint — 'kv-contoso-secrets'");
    expect(stdout).toContain("HIGH · New foreign principal who can peer — Guest user 'Mallory (Tenant A)'");
    expect(stdout).toContain(
      "HIGH · New cross-tenant service endpoint rule — 'stcontososhared' admits subnet 'workers'",
    );
    expect(stdout).toContain("PUT /api/allowlist/woodgrove-to-contoso-hub -> 201");
    expect(stdout).toContain("Delta: 0 new, 1 resolved, 0 reopened, 1 changed.");
    expect(stdout).toContain("INFO · Cross-tenant peering resolved — Peering 'hub-to-unknown'");
    // Act 3: a peering PUT through the sandbox's ARM is alerted by the change poller within seconds.
    expect(stdout).toContain("PUT isolated-to-woodgrove -> Succeeded (peeringState Initiated)");
    expect(stdout).toContain("MEDIUM · New cross-tenant peering — Peering 'isolated-to-woodgrove'");
    const detected = stdout.match(/Detected in (\d+\.\d) s/);
    expect(detected).not.toBeNull();
    expect(Number(detected![1])).toBeLessThan(10);
    for (const file of ["teams-01.json", "teams-01.html", "teams-05.html"])
      expect(existsSync(join(out, file))).toBe(true);
  });
});
