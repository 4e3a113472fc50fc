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
import { APP_ID, FUNCTION_APP_NAME, type StubCall } from "../helpers/deploy-stubs/record";

/**
 * The README's deploy steps, run in order on a fresh copy of the repository (what `git clone`
 * gives: tracked and new unignored files, no node_modules, dist or local.settings.json), with `az`
 * and `func` replaced by stubs that check their arguments, working directory and settings. The
 * build steps are real (npm ci, npm run build, npm prune --omit=dev) and run in that copy only.
 */
const ROOT = join(__dirname, "../../..");
const STUBS = join(__dirname, "../helpers/deploy-stubs");

/** The README block marked `deploy-steps`, up to and including the publish. */
function deployStepsUpToPublish(readme: string): string {
  const marker = readme.indexOf("<!-- deploy-steps");
  const open = readme.indexOf("```sh\n", marker);
  const close = readme.indexOf("\n```", open + 1);
  if (marker < 0 || open < 0 || close < 0)
    throw new Error("README.md has no ```sh block after <!-- deploy-steps");
  const lines = readme.slice(open + "```sh\n".length, close).split("\n");
  const publish = lines.findIndex((line) => line.trimStart().startsWith("func azure functionapp publish"));
  if (publish < 0) throw new Error("README.md's deploy steps do not reach `func azure functionapp publish`");
  return lines.slice(0, publish + 1).join("\n");
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
const SETTINGS_NOT_INHERITED = { FUNCTIONS_WORKER_RUNTIME: 1, AzureWebJobsStorage: 1 };

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

const summary = (calls: StubCall[]): string[] =>
  calls.map(
    (c) =>
      `${c.tool} ${c.args
        .filter((a) => !a.startsWith("-"))
        .slice(0, 3)
        .join(" ")}`,
  );

const listFiles = (dir: string, prefix = ""): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );

describe("README deploy steps on a fresh clone", () => {
  let work: string;
  let clone: string;
  let result: { code: number; stdout: string; stderr: string };
  let calls: StubCall[];
  let pkg: { runtime: string; files: string[] };
  let rerun: { code: number; stderr: string; calls: StubCall[] };

  beforeAll(async () => {
    work = realpathSync(mkdtempSync(join(tmpdir(), "cts-deploy-")));
    clone = freshCopy();
    expect(relative(ROOT, clone).startsWith("..")).toBe(true); // the prune below never touches the work tree
    const script = deployStepsUpToPublish(readFileSync(join(clone, "README.md"), "utf8"));
    const env = userEnv({
      PATH: `${stubBin(work)}:${process.env.PATH ?? ""}`,
      STUB_NODE: process.execPath,
      STUB_LOG: join(work, "calls.jsonl"),
      STUB_PACKAGE: join(work, "package.json"),
      STUB_STATE: join(work, "app-registration"),
    });
    result = await run("bash", ["-euo", "pipefail", "-c", script], clone, env);
    // Once more, the Azure part only (up to the build): the second run must reuse what the first made.
    const azurePart = script.slice(0, script.indexOf("\nnpm ci"));
    const again = await run("bash", ["-euo", "pipefail", "-c", azurePart], clone, {
      ...env,
      STUB_LOG: join(work, "again.jsonl"),
    });
    rerun = { code: again.code, stderr: again.stderr, calls: readCalls(join(work, "again.jsonl")) };
    calls = existsSync(join(work, "calls.jsonl"))
      ? readFileSync(join(work, "calls.jsonl"), "utf8")
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as StubCall)
      : [];
    pkg = existsSync(join(work, "package.json"))
      ? JSON.parse(readFileSync(join(work, "package.json"), "utf8"))
      : { runtime: "", files: [] };
  }, 10 * 60_000);

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
    rmSync(clone, { recursive: true, force: true });
  });

  it("reach `func azure functionapp publish` with the runtime known, in the repository root", () => {
    expect({ code: result.code, stderr: result.stderr.slice(-2000) }).toEqual({
      code: 0,
      stderr: expect.any(String),
    });
    expect(
      calls.map(
        (c) =>
          `${c.tool} ${c.args
            .filter((a) => !a.startsWith("-"))
            .slice(0, 3)
            .join(" ")}`,
      ),
    ).toEqual([
      "az login",
      "az ad app list",
      "az ad app create",
      "az ad app update",
      "az ad sp create",
      "az deployment mg create",
      "func azure functionapp publish",
    ]);
    const publish = calls.at(-1)!;
    expect(publish.args).toEqual(["azure", "functionapp", "publish", FUNCTION_APP_NAME, "--no-build"]);
    expect(publish.cwd).toBe(clone);
    expect(pkg.runtime).toBe("node");
    const deployment = calls.find((c) => c.args[0] === "deployment")!;
    expect(deployment.cwd).toBe(clone);
    expect(deployment.args).toContain(`authClientId=${APP_ID}`);
    // The work tree keeps its dev dependencies: nothing ran there.
    expect(existsSync(join(ROOT, "node_modules/typescript/package.json"))).toBe(true);
  });

  it("run again, reuse the app registration and redeploy under the same name", () => {
    expect({ code: rerun.code, stderr: rerun.stderr }).toEqual({ code: 0, stderr: "" });
    expect(summary(rerun.calls)).toEqual(["az login", "az ad app list", "az deployment mg create"]);
    const first = calls.find((c) => c.args[0] === "deployment")!;
    expect(rerun.calls.at(-1)!.args).toEqual(first.args);
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
