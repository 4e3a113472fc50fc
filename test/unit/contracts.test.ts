import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";
import { contractSchemas } from "../../src/contract-schemas";
import { destinationsOf } from "../../src/alerts/dispatch";
import { SETTINGS, loadConfig, unresolvedSecrets } from "../../src/config";
import { InputError } from "../../src/errors";
import { parseEstate } from "../../src/sandbox/estate";

const ROOT = join(__dirname, "../../..");

describe("published schemas and docs", () => {
  it.each(Object.entries(contractSchemas()))(
    "schemas/%s matches the code (run `npm run schemas` after a change)",
    (file, schema) => {
      expect(JSON.parse(readFileSync(join(ROOT, "schemas", file), "utf8"))).toEqual(schema);
    },
  );

  it("the README's configuration table lists every setting", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    for (const name of Object.keys(SETTINGS)) expect(readme).toContain(`| \`${name}\``);
  });

  it("local.settings.sample.json lists every setting with its default", () => {
    const sample = JSON.parse(readFileSync(join(ROOT, "local.settings.sample.json"), "utf8")) as {
      Values: Record<string, string>;
    };
    for (const [name, setting] of Object.entries(SETTINGS)) expect(sample.Values[name]).toBe(setting.default);
    expect(sample.Values.FUNCTIONS_WORKER_RUNTIME).toBe("node");
  });
});

describe("configuration", () => {
  it("has working defaults", () => {
    expect(loadConfig({})).toMatchObject({
      RESOURCE_GRAPH_PAGE_SIZE: 1000,
      ALLOW_MICROSOFT_MANAGED: true,
      SCAN_SUBSCRIPTIONS: [],
    });
  });

  it("names every bad setting and what it must be", () => {
    expect(() =>
      loadConfig({ RESOURCE_GRAPH_PAGE_SIZE: "5000", SCAN_SUBSCRIPTIONS: "abc", ARM_ENDPOINT: "http://x" }),
    ).toThrow(InputError);
    try {
      loadConfig({
        RESOURCE_GRAPH_PAGE_SIZE: "5000",
        SCAN_SUBSCRIPTIONS: "abc",
        ALLOW_MICROSOFT_MANAGED: "maybe",
        ARM_ENDPOINT: "http://x",
      });
    } catch (error) {
      const problems = (error as InputError).problems.join("\n");
      expect(problems).toMatch(/RESOURCE_GRAPH_PAGE_SIZE: /);
      expect(problems).toMatch(/SCAN_SUBSCRIPTIONS: must be a GUID/);
      expect(problems).toMatch(/ALLOW_MICROSOFT_MANAGED: must be true or false/);
      expect(problems).toMatch(/ARM_ENDPOINT: must be an https URL/);
      // Never the value: it may be a secret pasted into the wrong setting.
      expect(problems).not.toMatch(/5000|abc|maybe|http:\/\/x/);
    }
  });

  it("turns off only the destination of a secret whose Key Vault reference App Service could not resolve", () => {
    // App Service passes the reference text itself; WEBHOOK_SECRET would sign with it unnoticed.
    const reference = "@Microsoft.KeyVault(SecretUri=https://kv-x.vault.azure.net/secrets/webhook-secret/)";
    const all = {
      TEAMS_WEBHOOK_URL: "https://contoso.webhook.office.com/a",
      WEBHOOK_URL: "https://hooks.example.com/b",
      WEBHOOK_SECRET: "s3cret",
      ALERT_ALLOWED_HOSTS: "*.webhook.office.com,hooks.example.com",
    };
    const cases: [string, string, string[]][] = [
      ["TEAMS_WEBHOOK_URL", "teams", ["webhook"]],
      ["WEBHOOK_URL", "webhook", ["teams"]],
      // The URL resolved but its signing key did not: the webhook is off, never sent unsigned.
      ["WEBHOOK_SECRET", "webhook", ["teams"]],
    ];
    for (const [name, destination, left] of cases) {
      const env = { ...all, [name]: reference };
      expect(unresolvedSecrets(env)).toEqual([{ setting: name, destination }]);
      const config = loadConfig(env);
      expect(destinationsOf(config).map((d) => d.name)).toEqual(left);
      // The reference text is never a value of the config, so never a URL or a signing key.
      expect(JSON.stringify(config)).not.toMatch(/vault\.azure\.net|webhook-secret|KeyVault/);
    }
    // Every secret setting is one of a destination's: a new one cannot be left out of the rule.
    expect(cases.map(([name]) => name).sort()).toEqual(
      Object.entries(SETTINGS)
        .filter(([, setting]) => (setting as { secret?: boolean }).secret)
        .map(([name]) => name)
        .sort(),
    );
    // A resolved secret that merely mentions the syntax later on is a secret like any other.
    expect(loadConfig({ WEBHOOK_SECRET: "key with @Microsoft.KeyVault( inside" }).WEBHOOK_SECRET).toBe(
      "key with @Microsoft.KeyVault( inside",
    );
    expect(unresolvedSecrets({ WEBHOOK_SECRET: "key with @Microsoft.KeyVault( inside" })).toEqual([]);
    // A reference in a setting that is not a secret is still refused, naming the setting only.
    expect(() => loadConfig({ ALERT_ALLOWED_HOSTS: reference })).toThrow(/ALERT_ALLOWED_HOSTS/);
  });
});

describe("estate file", () => {
  const sample = () => JSON.parse(readFileSync(join(ROOT, "examples/estates/two-tenants.json"), "utf8"));

  it("accepts the bundled sample", () => {
    expect(parseEstate(sample(), "sample").resources.length).toBeGreaterThan(0);
  });

  it("refuses an inconsistent estate with the JSON path of the first error", () => {
    const estate = sample();
    estate.resources[1].subscriptionId = "99999999-0000-4000-8000-000000000000";
    expect(() => parseEstate(estate, "e.json")).toThrow(
      /\$\.resources\[1\]\.subscriptionId: subscription 99999999-0000-4000-8000-000000000000 is not listed/,
    );
    const noVersion = sample();
    delete noVersion.schemaVersion;
    expect(() => parseEstate(noVersion, "e.json")).toThrow(/\$\.schemaVersion: must be 1/);
  });
});
