import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { packageFiles } from "../funcignore";
import { readState, writeState } from "./azure-state";
import { fail, record } from "./record";

/**
 * Stands in for Azure Functions Core Tools in the deploy-steps test. For
 * `func azure functionapp publish <app> --no-build` it checks what the real one needs before it
 * uploads: a host.json in the working directory, a known worker runtime (from local.settings.json,
 * which git does not keep, or FUNCTIONS_WORKER_RUNTIME), and a package that can run: the files it
 * would zip (honouring .funcignore as Core Tools does) hold package.json#main and every production
 * dependency. The file list goes to STUB_PACKAGE for the test to inspect.
 */
const RUNTIMES = ["dotnet", "dotnet-isolated", "node", "java", "powershell", "python", "custom"];

const args = process.argv.slice(2);
record("func", args);
if (args.slice(0, 3).join(" ") !== "azure functionapp publish")
  fail(`func stub: '${args.join(" ")}' is not a publish`);
const app = args[3] ?? "";
if (!app || app.startsWith("-")) fail("func azure functionapp publish: the function app name is missing");

// Core Tools' own words for these two, so the test failures read like a user's.
if (!existsSync("host.json"))
  fail(
    "Unable to find project root. Expecting to find one of host.json, local.settings.json in project root.",
  );
const local = existsSync("local.settings.json")
  ? (JSON.parse(readFileSync("local.settings.json", "utf8")) as { Values?: Record<string, string> })
  : {};
const runtime = local.Values?.FUNCTIONS_WORKER_RUNTIME ?? process.env.FUNCTIONS_WORKER_RUNTIME ?? "None";
if (!RUNTIMES.includes(runtime)) fail(`Worker runtime cannot be '${runtime}'. Please set a valid runtime.`);

const files = packageFiles(process.cwd());
const pkg = JSON.parse(readFileSync("package.json", "utf8")) as {
  main?: string;
  dependencies?: Record<string, string>;
};
const main = new RegExp(
  `^${(pkg.main ?? "").replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", "[^/]+")}$`,
);
if (!files.some((f) => main.test(f)))
  fail(`func stub: no packaged file matches package.json#main '${pkg.main}'`);
for (const dependency of Object.keys(pkg.dependencies ?? {}))
  if (!files.includes(`node_modules/${dependency}/package.json`))
    fail(`func stub: dependency ${dependency} is not in the package (run npm ci before publishing)`);

if (process.env.STUB_PACKAGE) writeFileSync(process.env.STUB_PACKAGE, JSON.stringify({ runtime, files }));

// The app must exist (the deployment made it); its functions, peeringEvents among them, exist from now.
const state = readState();
if (process.env.STUB_STATE) {
  if (state.app?.name !== app) fail(`Can't find app with name "${app}"`);
  state.app.published = true;
  writeState(state);
}
