import { execFile, execFileSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { FuncIgnore } from "../helpers/funcignore";
import { roleAssignmentNames, roleAssignmentsWithoutPrincipal } from "../helpers/bicep-checks";
import {
  deleteResourceGroup,
  editState,
  readState,
  type AzureState,
} from "../helpers/deploy-stubs/azure-state";
import {
  APP_ID,
  commandOf,
  FUNCTION_APP_NAME,
  GRAPH_ROLES,
  PRINCIPAL_IDS,
  type StubCall,
} from "../helpers/deploy-stubs/record";

/**
 * The README's deploy steps, run in order on a fresh copy of the repository (what `git clone`
 * gives: tracked and new unignored files, no node_modules, dist or local.settings.json), with `az`
 * and `func` replaced by stubs that check their arguments, working directory and settings, and keep
 * what "Azure" holds between calls and runs (test/helpers/deploy-stubs/azure-state.ts). The build
 * steps are real (npm ci, npm run build, npm prune --omit=dev) and run in that copy only; they need
 * the npm registry or its cache, which is why this runs in `npm run test:deploy`, not `npm test`.
 */
const ROOT = join(__dirname, "../../..");
const STUBS = join(__dirname, "../helpers/deploy-stubs");
const EVENT_SUBSCRIPTION = "7d1e3f5a-9b2c-4d6e-8f10-2a3b4c5d6e7f";

/**
 * The README block marked `deploy-steps`, as a user runs it: the first lines' values set as the user
 * sets them, up to the last step, which only brings back the dev tools. `build: false` leaves out
 * the npm lines (a rerun publishes what the first run built).
 */
function deploySteps(readme: string, values: Record<string, string>, build = true): string {
  const marker = readme.indexOf("<!-- deploy-steps");
  const open = readme.indexOf("```sh\n", marker);
  const close = readme.indexOf("\n```", open + 1);
  if (marker < 0 || open < 0 || close < 0)
    throw new Error("README.md has no ```sh block after <!-- deploy-steps");
  const lines = readme.slice(open + "```sh\n".length, close).split("\n");
  const devTools = lines.lastIndexOf("npm ci");
  if (devTools !== lines.length - 1) throw new Error("README.md's deploy steps no longer end with `npm ci`");
  const steps = lines.slice(0, devTools).map((line) => {
    const name = /^([A-Z_]+)=/.exec(line)?.[1];
    if (name && name in values) return `${name}=${values[name]}`;
    return !build && /^npm |^\[ -f local\.settings\.json \]/.test(line) ? ":" : line;
  });
  for (const name of Object.keys(values))
    if (!steps.some((l) => l.startsWith(`${name}=`)))
      throw new Error(`README.md's first lines set no ${name}`);
  return steps.join("\n");
}

function freshCopy(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "cts-fresh-clone-")));
  const listed = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  for (const file of listed.split("\0").filter(Boolean)) {
    if (!existsSync(join(ROOT, file))) continue; // deleted in the work tree, not yet committed
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(dir, file));
  }
  return dir;
}

function stubBin(dir: string): string {
  const bin = join(dir, "bin");
  mkdirSync(bin);
  for (const tool of ["az", "func"]) {
    writeFileSync(join(bin, tool), `#!/bin/sh\nexec "$STUB_NODE" "${join(STUBS, `${tool}.js`)}" "$@"\n`);
    chmodSync(join(bin, tool), 0o755);
  }
  return bin;
}

/** The environment of a user's shell: no npm script variables, no Functions settings of ours. */
function userEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env))
    if (!/^npm_/i.test(name) && !(name in SETTINGS_NOT_INHERITED)) env[name] = value;
  return {
    ...env,
    // The same installs, from the npm cache when it has them; quiet.
    npm_config_prefer_offline: "true",
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
    npm_config_loglevel: "error",
    ...extra,
  };
}
const SETTINGS_NOT_INHERITED = {
  FUNCTIONS_WORKER_RUNTIME: 1,
  AzureWebJobsStorage: 1,
  TEAMS_WEBHOOK_URL: 1,
  WEBHOOK_URL: 1,
  WEBHOOK_SECRET: 1,
};

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(command, args, { cwd, env, timeout: 8 * 60_000, maxBuffer: 64 << 20 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

const readCalls = (log: string): StubCall[] =>
  existsSync(log)
    ? readFileSync(log, "utf8")
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as StubCall)
    : [];

/** Each call as `tool command`, the command being the words before its first option. */
const summary = (calls: StubCall[]): string[] => calls.map((c) => `${c.tool} ${commandOf(c.args)}`);

/** The `name=value` parameters of a deployment call. */
const parametersOf = (call: StubCall): Record<string, string> =>
  Object.fromEntries(
    call.args
      .slice(call.args.indexOf("--parameters") + 1)
      .filter((a) => /^\w+=/.test(a))
      .map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]),
  );

const listFiles = (dir: string, prefix = ""): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );

const SECRETS = {
  TEAMS_WEBHOOK_URL: "https://contoso.webhook.office.com/webhookb2/teams-1",
  WEBHOOK_URL: "https://hooks.contoso.example/scanner",
  WEBHOOK_SECRET: "hmac-key-1",
};
/** A setting no parameter sets, changed in the portal between runs. */
const PORTAL_SETTING = "https://ctscan-func.azurewebsites.net";
const VALUES = { EVENT_SUBSCRIPTIONS: `'["${EVENT_SUBSCRIPTION}"]'` };

interface Run {
  code: number;
  stderr: string;
  calls: StubCall[];
  state: AzureState;
}

describe("README deploy steps on a fresh clone", () => {
  let work: string;
  let clone: string;
  let pkg: { runtime: string; files: string[] };
  let env: NodeJS.ProcessEnv;
  const runs: Record<string, Run> = {};
  let runCount = 0;

  /** Runs the README's steps once more in the clone, against the same "Azure". */
  async function deploy(secrets: Record<string, string>, build: boolean): Promise<Run> {
    const log = join(work, `calls-${++runCount}.jsonl`);
    const script = deploySteps(readFileSync(join(clone, "README.md"), "utf8"), VALUES, build);
    const result = await run("bash", ["-euo", "pipefail", "-c", script], clone, {
      ...env,
      ...secrets,
      STUB_LOG: log,
    });
    return {
      code: result.code,
      stderr: result.stderr.slice(-2000),
      calls: readCalls(log),
      state: readState(join(work, "azure.json")),
    };
  }

  beforeAll(async () => {
    work = realpathSync(mkdtempSync(join(tmpdir(), "cts-deploy-")));
    clone = freshCopy();
    expect(relative(ROOT, clone).startsWith("..")).toBe(true); // the prune below never touches the work tree
    env = userEnv({
      PATH: `${stubBin(work)}:${process.env.PATH ?? ""}`,
      STUB_NODE: process.execPath,
      STUB_PACKAGE: join(work, "package.json"),
      STUB_STATE: join(work, "azure.json"),
    });
    runs.first = await deploy(SECRETS, true);
    pkg = existsSync(join(work, "package.json"))
      ? JSON.parse(readFileSync(join(work, "package.json"), "utf8"))
      : { runtime: "", files: [] };
    // The same steps again, as they are: the recover flag is part of the command, worked out anew.
    // In between, the registration loses Findings.Read (as one made before the role existed) and
    // someone sets the report's address in the portal.
    editState(join(work, "azure.json"), (state) => {
      state.appRegistration!.roles = ["Allowlist.Write"];
      state.app!.settings.PUBLIC_BASE_URL = PORTAL_SETTING;
    });
    runs.again = await deploy(SECRETS, false);
    // The resource group is deleted (the vault stays soft-deleted), then the steps run twice more.
    deleteResourceGroup(join(work, "azure.json"));
    runs.recovered = await deploy(SECRETS, false);
    runs.afterRecovery = await deploy(SECRETS, false);
    // A rerun without the generic webhook's URL and secret: the webhook stays as it was.
    runs.withoutWebhook = await deploy({ TEAMS_WEBHOOK_URL: SECRETS.TEAMS_WEBHOOK_URL }, false);
  }, 10 * 60_000);

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
    rmSync(clone, { recursive: true, force: true });
  });

  it("follow the README through the publish and then the Event Grid step, in the repository root", () => {
    const { code, stderr, calls, state } = runs.first!;
    expect({ code, stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const graphGrant = ["az ad sp show", "az rest", "az rest"];
    expect(summary(calls)).toEqual([
      "az login",
      "az ad app list",
      "az ad app create",
      "az ad app update",
      "az ad sp create",
      "az ad app update",
      "az ad sp update",
      "az group exists",
      "az keyvault list-deleted",
      "az deployment sub create",
      "az deployment sub show",
      "az deployment sub show",
      "az deployment mg create",
      "az ad sp show",
      ...graphGrant,
      ...graphGrant,
      ...graphGrant,
      `func azure functionapp publish ${FUNCTION_APP_NAME}`,
      "az deployment mg create",
    ]);
    const publish = calls.find((c) => c.tool === "func")!;
    expect(publish.args).toEqual(["azure", "functionapp", "publish", FUNCTION_APP_NAME, "--no-build"]);
    expect(publish.cwd).toBe(clone);
    expect(pkg.runtime).toBe("node");
    const deployment = calls.find((c) => commandOf(c.args) === "deployment sub create")!;
    expect(deployment.cwd).toBe(clone);
    expect(parametersOf(deployment)).toMatchObject({
      authClientId: APP_ID,
      scanManagementGroups: "contoso-platform",
      recoverKeyVault: "false",
      existingFunctionApp: "",
    });
    // The Event Grid step comes after the publish, for the app just deployed.
    const events = calls.at(-1)!;
    expect(events.args).toContain("infra/peering-events.bicep");
    expect(parametersOf(events)).toMatchObject({
      functionAppId: state.app!.id,
      subscriptionIds: `["${EVENT_SUBSCRIPTION}"]`,
    });
    expect(state.eventSubscriptions).toEqual({
      [EVENT_SUBSCRIPTION]: `${state.app!.id}/functions/peeringEvents`,
    });
    // Reader on the management group, and the three Graph permissions, for the app's identity.
    expect(state.readers).toEqual([PRINCIPAL_IDS[0]]);
    expect(Object.keys(state.graphRoles)).toEqual([PRINCIPAL_IDS[0]]);
    expect(state.graphRoles[PRINCIPAL_IDS[0]!]!.sort()).toEqual(Object.values(GRAPH_ROLES).sort());
    expect(state.appRegistration).toEqual({
      appId: APP_ID,
      appRoleAssignmentRequired: true,
      roles: ["Allowlist.Write", "Findings.Read"],
    });
    // Every secret is a Key Vault reference in the app settings, its value in the vault.
    expect(state.app!.settings).toMatchObject({
      TEAMS_WEBHOOK_URL: expect.stringMatching(/^@Microsoft\.KeyVault\(SecretUri=.*teams-webhook-url\)$/),
      WEBHOOK_URL: expect.stringMatching(/^@Microsoft\.KeyVault\(SecretUri=.*\/webhook-url\)$/),
      WEBHOOK_SECRET: expect.stringMatching(/^@Microsoft\.KeyVault\(SecretUri=.*webhook-secret\)$/),
    });
    expect(state.secrets).toEqual({
      "teams-webhook-url": SECRETS.TEAMS_WEBHOOK_URL,
      "webhook-url": SECRETS.WEBHOOK_URL,
      "webhook-secret": SECRETS.WEBHOOK_SECRET,
    });
    // The work tree keeps its dev dependencies: nothing ran there.
    expect(existsSync(join(ROOT, "node_modules/typescript/package.json"))).toBe(true);
  });

  it("name every role assignment after its principal, and assign Reader to the identity's", () => {
    const templates = Object.fromEntries(
      readdirSync(join(clone, "infra"))
        .filter((f) => f.endsWith(".bicep"))
        .map((f) => [f, readFileSync(join(clone, "infra", f), "utf8")]),
    );
    expect(roleAssignmentNames(templates).length).toBe(5);
    expect(roleAssignmentsWithoutPrincipal(templates)).toEqual([]);
    const reader = runs.first!.calls.find((c) => c.args.includes("infra/reader-assignment.bicep"))!;
    expect(parametersOf(reader)).toEqual({ principalId: PRINCIPAL_IDS[0] });
  });

  it("run again, reuse the app registration and redeploy under the same name, with the recover flag left in", () => {
    const { code, stderr, calls, state } = runs.again!;
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(summary(calls).slice(0, 10)).toEqual([
      "az login",
      "az ad app list",
      "az ad app update",
      "az ad sp update",
      "az group exists",
      "az functionapp list",
      "az keyvault list-deleted",
      "az deployment sub create",
      "az deployment sub show",
      "az deployment sub show",
    ]);
    // Granted once: the rerun only looks.
    expect(summary(calls).filter((c) => c === "az rest")).toHaveLength(3);
    const first = runs.first!.calls.find((c) => commandOf(c.args) === "deployment sub create")!;
    const again = calls.find((c) => commandOf(c.args) === "deployment sub create")!;
    expect(again.args.slice(0, again.args.indexOf("--parameters"))).toEqual(
      first.args.slice(0, first.args.indexOf("--parameters")),
    );
    expect(parametersOf(again)).toEqual({
      ...parametersOf(first),
      existingFunctionApp: FUNCTION_APP_NAME,
      recoverKeyVault: "false",
    });
    // The registration has its roles again; what was set in the portal is still set.
    expect(state.appRegistration!.roles).toEqual(["Allowlist.Write", "Findings.Read"]);
    expect(state.app!.settings).toEqual({
      ...runs.first!.state.app!.settings,
      PUBLIC_BASE_URL: PORTAL_SETTING,
    });
  });

  it("after the resource group was deleted, recover the vault, then run a second time with the flag still in the command", () => {
    const recovered = runs.recovered!;
    expect({ code: recovered.code, stderr: recovered.stderr }).toEqual({ code: 0, stderr: "" });
    const create = (r: Run) =>
      parametersOf(r.calls.find((c) => commandOf(c.args) === "deployment sub create")!);
    expect(create(recovered)).toMatchObject({ recoverKeyVault: "true", existingFunctionApp: "" });
    expect(recovered.state.vault).toBe("active");
    // A new identity: its own Reader assignment and Graph permissions, named after its principal.
    expect(recovered.state.readers).toEqual([PRINCIPAL_IDS[0], PRINCIPAL_IDS[1]]);
    expect(recovered.state.graphRoles[PRINCIPAL_IDS[1]!]!.sort()).toEqual(Object.values(GRAPH_ROLES).sort());
    // The Event Grid step again: the subscriptions deliver to the new app.
    expect(recovered.state.eventSubscriptions).toEqual({
      [EVENT_SUBSCRIPTION]: `${recovered.state.app!.id}/functions/peeringEvents`,
    });
    const afterRecovery = runs.afterRecovery!;
    expect({ code: afterRecovery.code, stderr: afterRecovery.stderr }).toEqual({ code: 0, stderr: "" });
    expect(create(afterRecovery)).toMatchObject({
      recoverKeyVault: "false",
      existingFunctionApp: FUNCTION_APP_NAME,
    });
    expect(afterRecovery.state.app!.settings).toEqual(runs.first!.state.app!.settings);
  });

  it("rerun with the webhook's parameters left out: nothing lost", () => {
    const { code, stderr, calls, state } = runs.withoutWebhook!;
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const create = calls.find((c) => commandOf(c.args) === "deployment sub create")!;
    expect(parametersOf(create)).toMatchObject({ webhookUrl: "", webhookSecret: "" });
    const before = runs.afterRecovery!.state;
    expect(state.app!.settings).toEqual(before.app!.settings);
    expect(state.app!.settings.WEBHOOK_URL).toMatch(/^@Microsoft\.KeyVault\(/);
    expect(state.secrets).toEqual(before.secrets);
  });

  it("package what runs: host.json, package.json, dist/src/**/*.js and production dependencies only", () => {
    const files = new Set(pkg.files);
    expect(files.has("host.json")).toBe(true);
    expect(files.has("package.json")).toBe(true);
    const built = listFiles(join(clone, "dist/src"), "dist/src/").filter((f) => f.endsWith(".js"));
    expect(built.length).toBeGreaterThan(20);
    expect(built.filter((f) => !files.has(f))).toEqual([]);
    expect(pkg.files.filter((f) => /\.(ts|map)$/.test(f))).toEqual([]);
    expect(pkg.files.filter((f) => /^(test|src|scripts|infra|dist\/test|dist\/scripts)\//.test(f))).toEqual(
      [],
    );
    expect(pkg.files.filter((f) => /(^|\/)local\.settings.*\.json$/.test(f))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    for (const dependency of Object.keys(manifest.dependencies))
      expect(files.has(`node_modules/${dependency}/package.json`)).toBe(true);
    const devOnly = Object.keys(manifest.devDependencies).filter((d) => !(d in manifest.dependencies));
    expect(devOnly.filter((d) => pkg.files.some((f) => f.startsWith(`node_modules/${d}/`)))).toEqual([]);
  });
});

describe("the az stub refuses what Azure refuses", () => {
  const az = async (state: Partial<AzureState>, args: string[]) => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), "cts-az-")));
    try {
      writeFileSync(join(dir, "azure.json"), JSON.stringify(state));
      writeFileSync(join(dir, "main.bicep"), "");
      writeFileSync(join(dir, "peering-events.bicep"), "");
      mkdirSync(join(dir, "infra"));
      copyFileSync(join(ROOT, "infra/app.bicep"), join(dir, "infra/app.bicep"));
      const result = await run(process.execPath, [join(STUBS, "az.js"), ...args], dir, {
        ...userEnv({}),
        STUB_LOG: join(dir, "calls.jsonl"),
        STUB_STATE: join(dir, "azure.json"),
      });
      return { code: result.code, stderr: result.stderr.trim(), state: readState(join(dir, "azure.json")) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const SUB = "00000000-0000-0000-0000-000000000000";
  const create = (parameters: string[]) => [
    "deployment",
    "sub",
    "create",
    "--name",
    "cts-westeurope",
    "--subscription",
    SUB,
    "--location",
    "westeurope",
    "--template-file",
    "main.bicep",
    "--parameters",
    `authClientId=${APP_ID}`,
    ...parameters,
  ];
  const app = (settings: Record<string, string>) => ({
    name: FUNCTION_APP_NAME,
    id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/${FUNCTION_APP_NAME}`,
    settings,
    published: false,
  });

  it("recovering a vault that is there, and creating one over a soft-deleted one", async () => {
    const live = await az({ resourceGroup: true, vault: "active" }, create(["recoverKeyVault=true"]));
    expect(live).toMatchObject({ code: 1, stderr: expect.stringMatching(/^SoftDeletedVaultDoesNotExist/) });
    const deleted = await az({ vault: "soft-deleted" }, create(["recoverKeyVault=false"]));
    expect(deleted).toMatchObject({ code: 1, stderr: expect.stringMatching(/^ConflictError/) });
  });

  it("an Event Grid subscription to a function not published yet", async () => {
    const unpublished = app({});
    const result = await az({ resourceGroup: true, vault: "active", app: unpublished }, [
      "deployment",
      "mg",
      "create",
      "--name",
      "cts-events-westeurope",
      "--management-group-id",
      "mg",
      "--location",
      "westeurope",
      "--template-file",
      "peering-events.bicep",
      "--parameters",
      `functionAppId=${unpublished.id}`,
      `subscriptionIds=["${EVENT_SUBSCRIPTION}"]`,
      "resourceGroupName=rg",
    ]);
    expect(result).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/Destination endpoint not found/),
    });
  });

  it("and loses a destination when the existing app is not named", async () => {
    const webhook = "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/webhook-url)";
    const result = await az(
      { resourceGroup: true, vault: "active", app: app({ WEBHOOK_URL: webhook }) },
      create(["recoverKeyVault=false", "webhookUrl=", "existingFunctionApp="]),
    );
    expect(result.code).toBe(0);
    expect(result.state.app!.settings.WEBHOOK_URL).toBe("");
  });
});

describe("the func stub", () => {
  it("fails as Core Tools does when the worker runtime is unknown (no local.settings.json)", async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), "cts-func-")));
    try {
      writeFileSync(join(dir, "host.json"), "{}");
      writeFileSync(join(dir, "package.json"), "{}");
      const env = userEnv({ STUB_LOG: join(dir, "calls.jsonl") });
      const args = [join(STUBS, "func.js"), "azure", "functionapp", "publish", "app", "--no-build"];
      const result = await run(process.execPath, args, dir, env);
      expect({ code: result.code, stderr: result.stderr.trim() }).toEqual({
        code: 1,
        stderr: "Worker runtime cannot be 'None'. Please set a valid runtime.",
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe(".funcignore as Core Tools reads it", () => {
  it("matches from the start of the path: `*.map` only at the top, `**/*.map` below it", () => {
    const topOnly = new FuncIgnore("*.ts\n*.map\n");
    expect(topOnly.denies("a.js.map")).toBe(true);
    expect(topOnly.denies("dist/src/a.js.map")).toBe(false);
    expect(topOnly.denies("dist/src/a.d.ts")).toBe(false);
    const anyDepth = new FuncIgnore(readFileSync(join(ROOT, ".funcignore"), "utf8"));
    for (const path of [
      "a.ts",
      "dist/src/a.js.map",
      "dist/src/a.d.ts",
      "node_modules/x/y.d.ts",
      "test/unit/a.test.ts",
      "dist/test/a.js",
    ])
      expect([path, anyDepth.denies(path)]).toEqual([path, true]);
    for (const path of [
      "host.json",
      "package.json",
      "dist/src/functions/http-api.js",
      "node_modules/zod/index.js",
      "dist/src/tsx.js",
    ])
      expect([path, anyDepth.denies(path)]).toEqual([path, false]);
    expect(new FuncIgnore("dist/\n!dist/src/\n").denies("dist/src/a.js")).toBe(false);
  });
});
