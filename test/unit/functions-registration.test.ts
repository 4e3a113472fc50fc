import { describe, expect, it, jest } from "@jest/globals";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { allowlistWritesWarning } from "../../src/api/principal";
import { runtime, useRuntime } from "../../src/functions/runtime";

const ROOT = join(__dirname, "../../..");

interface Registered {
  name: string;
  bindings: Record<string, Record<string, unknown>>;
}

/**
 * Loads package.json#main as the Functions host does, with a stand-in for the host's
 * `@azure/functions-core` so the library registers for real, and lists what the host would see.
 */
function loadAsHost(): { functions: Registered[]; hooks: string[] } {
  const functions: Registered[] = [];
  const hooks: string[] = [];
  const disposable = { dispose: () => {} };
  jest.doMock(
    "@azure/functions-core",
    () => ({
      setProgrammingModel: () => {},
      getProgrammingModel: () => undefined,
      registerFunction: (metadata: Registered) => {
        functions.push(metadata);
        return disposable;
      },
      registerHook: (name: string) => {
        hooks.push(name);
        return disposable;
      },
      log: () => {},
    }),
    { virtual: true },
  );
  const main = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { main: string }).main;
  expect(main).toBe("dist/src/functions/*.js");
  const folder = join(ROOT, dirname(main));
  jest.isolateModules(() => {
    // Loaded as the host loads them: by path, in order, for their registrations.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    for (const file of readdirSync(folder).filter((f) => f.endsWith(".js"))) require(join(folder, file));
  });
  return { functions, hooks };
}

const trigger = (f: Registered | undefined) =>
  Object.values(f?.bindings ?? {}).find((b) => b.direction === "in");

describe("what `func start` loads", () => {
  const { functions, hooks } = loadAsHost();
  const byName = (name: string) => functions.find((f) => f.name === name);

  it("registers every function with its trigger binding", () => {
    expect(functions.map((f) => f.name).sort()).toEqual([
      "alertDispatcher",
      "allowlist",
      "findings",
      "health",
      "peeringChanges",
      "peeringEvents",
      "report",
      "scanRequests",
      "scans",
      "scheduledScan",
    ]);
    expect(trigger(byName("peeringChanges"))).toMatchObject({
      type: "timerTrigger",
      schedule: "%CHANGE_POLL_SCHEDULE%",
    });
    expect(trigger(byName("peeringEvents"))).toMatchObject({ type: "eventGridTrigger" });
    expect(trigger(byName("scheduledScan"))).toMatchObject({
      type: "timerTrigger",
      schedule: "%SCAN_SCHEDULE%",
    });
    expect(trigger(byName("alertDispatcher"))).toMatchObject({
      type: "queueTrigger",
      queueName: "alerts",
      connection: "AzureWebJobsStorage",
    });
    expect(trigger(byName("scanRequests"))).toMatchObject({
      type: "queueTrigger",
      queueName: "scan-requests",
      connection: "AzureWebJobsStorage",
    });
    expect(trigger(byName("scans"))).toMatchObject({
      type: "httpTrigger",
      route: "scans/{id?}",
      authLevel: "function",
      methods: ["GET", "POST"],
    });
    expect(trigger(byName("findings"))).toMatchObject({
      type: "httpTrigger",
      route: "findings",
      authLevel: "function",
    });
    expect(trigger(byName("allowlist"))).toMatchObject({
      type: "httpTrigger",
      route: "allowlist/{id?}",
      authLevel: "function",
      methods: ["GET", "PUT", "DELETE"],
    });
    // The HTML report: a read route behind the function key like findings.
    expect(trigger(byName("report"))).toMatchObject({
      type: "httpTrigger",
      route: "report",
      authLevel: "function",
      methods: ["GET"],
    });
    // doctor's checks, live: behind the function key like every other route.
    expect(trigger(byName("health"))).toMatchObject({
      type: "httpTrigger",
      route: "health",
      authLevel: "function",
      methods: ["GET"],
    });
  });

  it("checks the settings when the app starts", () => {
    expect(hooks).toContain("appStart");
  });

  it("ships host.json and local.settings.sample.json as the host expects them", () => {
    const host = JSON.parse(readFileSync(join(ROOT, "host.json"), "utf8"));
    expect(host).toMatchObject({
      version: "2.0",
      extensionBundle: { id: "Microsoft.Azure.Functions.ExtensionBundle" },
    });
    expect(host.extensions.queues.maxDequeueCount).toBe(5);
    const local = JSON.parse(readFileSync(join(ROOT, "local.settings.sample.json"), "utf8"));
    expect(local).toMatchObject({
      IsEncrypted: false,
      Values: { FUNCTIONS_WORKER_RUNTIME: "node", SCAN_SCHEDULE: "0 0 * * * *" },
    });
  });
});

describe("a misconfigured app", () => {
  it("fails at start with the name of the bad setting, and says when allowlist writes are off", () => {
    const saved = { ...process.env };
    useRuntime(undefined);
    try {
      Object.assign(process.env, {
        AzureWebJobsStorage: "UseDevelopmentStorage=true",
        TEAMS_MIN_SEVERITY: "urgent",
      });
      expect(() => runtime()).toThrow(/TEAMS_MIN_SEVERITY: must be high, medium, low or info/);
      delete process.env.TEAMS_MIN_SEVERITY;
      delete process.env.AzureWebJobsStorage;
      expect(() => runtime()).toThrow(/AzureWebJobsStorage is not set/);
      process.env.AzureWebJobsStorage = "UseDevelopmentStorage=true";
      useRuntime(undefined);
      // Locally there is no App Service Authentication: under the default role, writes are refused.
      expect(allowlistWritesWarning(runtime().config.ALLOWLIST_WRITE_AUTH, runtime().appServiceAuth)).toMatch(
        /^ALLOWLIST_WRITE_AUTH is role, but WEBSITE_AUTH_ENABLED is not True: App Service Authentication is off: PUT and DELETE/,
      );
      Object.assign(process.env, {
        WEBSITE_AUTH_ENABLED: "True",
        WEBSITE_AUTH_V2_CONFIG_JSON:
          '{"globalValidation":{"requireAuthentication":true,"unauthenticatedClientAction":"Return401"}}',
      });
      useRuntime(undefined);
      expect(runtime().appServiceAuth).toMatchObject({ state: "required" });
      expect(
        allowlistWritesWarning(runtime().config.ALLOWLIST_WRITE_AUTH, runtime().appServiceAuth),
      ).toBeUndefined();
    } finally {
      process.env = saved;
      useRuntime(undefined);
    }
  });
});
