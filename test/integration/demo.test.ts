import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
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
    // 16 findings of the network checks, 8 settings of the service-default cross-tenant access policy.
    expect(stdout).toContain("Delta: 24 new, 0 resolved, 0 reopened, 0 changed.");
    expect(stdout).toContain("Teams received 15 card(s):");
    expect(stdout).toContain(
      "HIGH · New cross-tenant access setting — The default cross-tenant access policy (every tenant without its own settings): Inbound B2B collaboration is open to everyone",
    );
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
    // The guest's card says where the guest comes from (found by the domain of the #EXT# UPN).
    const guestCard = readdirSync(out)
      .filter((f) => f.endsWith(".json"))
      .map((f) => readFileSync(join(out, f), "utf8"))
      .find((card) => card.includes("Mallory (Tenant A)"));
    expect(guestCard).toContain('"title": "Home tenant"');
    expect(guestCard).toContain('"value": "Tenant A (31ca78c2-d833-433a-9977-88e160bd4ac0)"');
    // The write-up's peering card says who made it and who of Tenant A signs in (the estate's workspace).
    const facts = readdirSync(out)
      .filter((f) => /^teams-\d+\.json$/.test(f))
      .map((f) => JSON.parse(readFileSync(join(out, f), "utf8")) as { body: Record<string, unknown>[] })
      .map((card) =>
        Object.fromEntries(
          card.body
            .flatMap((b) => (b.facts as { title: string; value: string }[] | undefined) ?? [])
            .map((f) => [f.title, f.value]),
        ),
      );
    expect(facts.find((f) => f.Peering === "TenantB2TenantA")).toMatchObject({
      Created: "created by Mallory \\(Tenant A\\) on 2026-11-02",
      "Sign-ins": "14 sign-ins from Tenant A in 30 days",
    });
  });
});
