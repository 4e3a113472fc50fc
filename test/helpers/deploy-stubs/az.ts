import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { APP_ID, FUNCTION_APP_NAME, fail, option, record } from "./record";

/**
 * Stands in for the Azure CLI in the deploy-steps test: records each call, checks the arguments
 * the README's steps pass, and prints what the real command's `--query … -o tsv` would print.
 * An unknown command fails, so a README step this stub does not know cannot pass unnoticed.
 */
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const args = process.argv.slice(2);
record("az", args);
const command = args
  .filter((a) => !a.startsWith("-"))
  .slice(0, 3)
  .join(" ");

function needGuid(name: string): string {
  const value = option(args, name) ?? "";
  if (!GUID.test(value)) fail(`az ${command}: ${name} must be a GUID, got '${value}'`);
  return value;
}

function needFile(name: string): string {
  const value = option(args, name) ?? "";
  const path = value.replace(/^@/, "");
  if (!path || !existsSync(path)) fail(`az ${command}: ${name} '${value}' is not a file in ${process.cwd()}`);
  return path;
}

if (command === "login") {
  // Interactive sign-in: nothing to check.
} else if (command === "ad app list") {
  // The app registration exists once `ad app create` made it (STUB_STATE remembers that).
  const created = process.env.STUB_STATE !== undefined && existsSync(process.env.STUB_STATE);
  process.stdout.write(created ? `${APP_ID}\n` : "\n");
} else if (command === "ad app create") {
  const roles = JSON.parse(readFileSync(needFile("--app-roles"), "utf8")) as { value: string }[];
  if (!roles.some((r) => r.value === "Allowlist.Write"))
    fail("az ad app create: no app role Allowlist.Write");
  if (process.env.STUB_STATE) writeFileSync(process.env.STUB_STATE, APP_ID);
  process.stdout.write(`${APP_ID}\n`);
} else if (command === "ad app update") {
  const id = needGuid("--id");
  if (option(args, "--identifier-uris") !== `api://${id}`)
    fail("az ad app update: identifier URI is not api://<id>");
} else if (command === "ad sp create") {
  needGuid("--id");
} else if (command === "deployment mg create") {
  needFile("--template-file");
  const location = option(args, "--location") ?? "";
  if (!location) fail("az deployment mg create: --location missing");
  if (!(option(args, "--name") ?? "").includes(location))
    fail("az deployment mg create: --name must include the location (InvalidDeploymentLocation on reruns)");
  if (!option(args, "--management-group-id")) fail("az deployment mg create: --management-group-id missing");
  const parameters = args.slice(args.indexOf("--parameters") + 1).filter((a) => /^\w+=/.test(a));
  const given = Object.fromEntries(
    parameters.map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]),
  );
  if (given.authClientId !== APP_ID)
    fail(`az deployment mg create: authClientId '${given.authClientId}' is not the app registration's`);
  if (!GUID.test(given.subscriptionId ?? "")) fail("az deployment mg create: subscriptionId must be a GUID");
  if (option(args, "--query") === "properties.outputs.functionAppName.value")
    process.stdout.write(`${FUNCTION_APP_NAME}\n`);
} else {
  fail(
    `az stub: '${args.join(" ")}' is not a step the deploy test knows; teach test/helpers/deploy-stubs/az.ts`,
  );
}
