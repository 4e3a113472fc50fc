import { existsSync, readFileSync } from "node:fs";
import { appSettings } from "../bicep-checks";
import { readState, writeState, type AzureState } from "./azure-state";
import {
  APP_ID,
  FUNCTION_APP_NAME,
  GRAPH_ROLES,
  GRAPH_SP_ID,
  KEY_VAULT_NAME,
  PRINCIPAL_IDS,
  commandOf,
  fail,
  option,
  record,
} from "./record";

/**
 * Stands in for the Azure CLI in the deploy-steps test: records each call, checks the arguments
 * the README's steps pass, keeps what "Azure" holds between calls and runs (azure-state.ts), and
 * prints what the real command's `--query … -o tsv` would print. It refuses what Azure refuses on
 * the paths the steps take: recovering a vault that is not soft-deleted
 * (SoftDeletedVaultDoesNotExist), creating one over a soft-deleted one, an Event Grid subscription
 * to a function not published yet, a Graph app role assigned twice. An unknown command fails, so a
 * README step this stub does not know cannot pass unnoticed.
 */
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";

const args = process.argv.slice(2);
record("az", args);
/** The command's words: what comes before its first option (`group exists`, `rest`, `deployment sub create`). */
const command = commandOf(args);
const state = readState();

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

function need(name: string): string {
  const value = option(args, name);
  if (!value) fail(`az ${command}: ${name} missing`);
  return value;
}

/** The `name=value` arguments after --parameters. */
function parameters(): Record<string, string> {
  const list = args.slice(args.indexOf("--parameters") + 1).filter((a) => /^\w+=/.test(a));
  return Object.fromEntries(list.map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]));
}

/** A deployment name keeps the location it first ran in (InvalidDeploymentLocation on a rerun elsewhere). */
function checkDeploymentName(): void {
  const location = need("--location");
  if (!need("--name").includes(location))
    fail(`az ${command}: --name must include the location (InvalidDeploymentLocation on reruns)`);
}

const appResourceId = (subscription: string, group: string) =>
  `/subscriptions/${subscription}/resourceGroups/${group}/providers/Microsoft.Web/sites/${FUNCTION_APP_NAME}`;

/**
 * infra/main.bicep as ARM would run it, for what the steps depend on. The alert settings follow
 * the rule test/unit/infra-templates.test.ts checks in app.bicep (destinationKeepProblems): a value
 * makes a Key Vault reference, 'off' empties the setting, an empty parameter keeps the current one.
 */
function deploySubscription(): void {
  checkDeploymentName();
  const subscription = needGuid("--subscription");
  needFile("--template-file");
  const p = parameters();
  if (p.authClientId !== APP_ID)
    fail(`az deployment sub create: authClientId '${p.authClientId}' is not the app registration's`);
  const prefix = (p.namePrefix ?? "ctscan").toLowerCase();
  if (!/^[a-z][a-z0-9]{2,10}$/.test(prefix))
    fail(
      `InvalidDeploymentName: namePrefix ${p.namePrefix} is invalid: use lower-case letters and digits, starting with a letter`,
    );
  const group = p.resourceGroupName ?? "rg-cross-tenant-scanner";
  if (p.recoverKeyVault === "true" && state.vault !== "soft-deleted")
    fail(
      `SoftDeletedVaultDoesNotExist: A soft deleted vault with the given name ${KEY_VAULT_NAME} does not exist.`,
    );
  if (p.recoverKeyVault !== "true" && state.vault === "soft-deleted")
    fail(
      `ConflictError: A vault with the same name already exists in deleted state. You need to either recover or purge existing key vault.`,
    );
  if (p.existingFunctionApp && p.existingFunctionApp !== state.app?.name)
    fail(`ResourceNotFound: The Resource 'Microsoft.Web/sites/${p.existingFunctionApp}' was not found.`);
  if (!state.resourceGroup) {
    // A new resource group: a new identity, so a new principal id.
    state.principalIndex = state.principalId === undefined ? 0 : (state.principalIndex ?? 0) + 1;
    state.principalId = PRINCIPAL_IDS[state.principalIndex % PRINCIPAL_IDS.length]!;
  }
  state.resourceGroup = true;
  state.vault = "active";
  const current = p.existingFunctionApp ? (state.app?.settings ?? {}) : {};
  // What infra/app.bicep (of the copy the steps run in) sets, as ARM would: a setting kept from the
  // app as it is, a fixed value, a parameter passed through, or another resource's property.
  const settings: Record<string, string> = {};
  for (const [name, expression] of appSettings(readFileSync("infra/app.bicep", "utf8"))) {
    if (expression === `current.?${name} ?? ''`) settings[name] = current[name] ?? "";
    else if (/^'[^']*'$/.test(expression)) settings[name] = expression.slice(1, -1);
    else if (/^\w+$/.test(expression) && p[expression] !== undefined) settings[name] = p[expression]!;
    else settings[name] = `<${expression}>`;
  }
  const secrets: [string, string, string][] = [
    ["teamsWebhookUrl", "TEAMS_WEBHOOK_URL", "teams-webhook-url"],
    ["webhookUrl", "WEBHOOK_URL", "webhook-url"],
    ["webhookSecret", "WEBHOOK_SECRET", "webhook-secret"],
  ];
  for (const [param, setting, secret] of secrets) {
    const value = p[param] ?? "";
    if (value === "off") settings[setting] = "";
    else if (value) {
      state.secrets[secret] = value;
      settings[setting] =
        `@Microsoft.KeyVault(SecretUri=https://${KEY_VAULT_NAME}.vault.azure.net/secrets/${secret})`;
    } else settings[setting] = current[setting] ?? "";
  }
  state.app = {
    name: FUNCTION_APP_NAME,
    id: appResourceId(subscription, group),
    settings,
    published: state.app?.published ?? false,
  };
  if (option(args, "--query") === "properties.outputs.functionAppName.value")
    process.stdout.write(`${FUNCTION_APP_NAME}\n`);
}

function deploymentOutput(): void {
  needGuid("--subscription");
  if (!state.app) fail(`DeploymentNotFound: Deployment '${option(args, "--name")}' could not be found.`);
  const outputs: Record<string, string> = {
    functionAppName: state.app.name,
    functionAppId: state.app.id,
    keyVaultName: KEY_VAULT_NAME,
    identityPrincipalId: state.principalId ?? "",
  };
  const name = /^properties\.outputs\.(\w+)\.value$/.exec(option(args, "--query") ?? "")?.[1] ?? "";
  if (!(name in outputs)) fail(`az deployment sub show: unknown output query '${option(args, "--query")}'`);
  process.stdout.write(`${outputs[name]}\n`);
}

function deployManagementGroup(): void {
  checkDeploymentName();
  need("--management-group-id");
  const template = needFile("--template-file");
  const p = parameters();
  if (template.endsWith("reader-assignment.bicep")) {
    if (!p.principalId || p.principalId !== state.principalId)
      fail(
        `az deployment mg create: principalId '${p.principalId}' is not the identity's (${state.principalId})`,
      );
    if (!state.readers.includes(p.principalId)) state.readers.push(p.principalId);
  } else if (template.endsWith("peering-events.bicep")) {
    if (!state.app || p.functionAppId !== state.app.id)
      fail(`az deployment mg create: functionAppId '${p.functionAppId}' is not the deployed app's`);
    // Event Grid validates an AzureFunction endpoint when the subscription is made (Azure/bicep#11656).
    if (!state.app.published)
      fail("Url validation: Destination endpoint not found. Resource details: .../functions/peeringEvents");
    if (!p.resourceGroupName) fail("az deployment mg create: resourceGroupName missing");
    for (const subscription of JSON.parse(p.subscriptionIds ?? "[]") as string[])
      state.eventSubscriptions[subscription] = `${p.functionAppId}/functions/peeringEvents`;
  } else fail(`az deployment mg create: no step deploys ${template} at a management group`);
}

function graph(): void {
  const method = need("--method");
  const uri = option(args, "--uri") ?? option(args, "--url") ?? "";
  const target =
    /^https:\/\/graph\.microsoft\.com\/v1\.0\/servicePrincipals\/([0-9a-f-]{36})\/appRoleAssignments$/.exec(
      uri,
    );
  if (!target || target[1] !== state.principalId)
    fail(`az rest: ${uri} is not the identity's appRoleAssignments (${state.principalId})`);
  if (method === "GET") {
    const role = /appRoleId=='([0-9a-f-]{36})'/.exec(option(args, "--query") ?? "")?.[1];
    if (!role) fail("az rest GET: the query names no appRoleId");
    process.stdout.write(`${(state.graphRoles[target[1]] ?? []).filter((r) => r === role).length}\n`);
    return;
  }
  if (method !== "POST") fail(`az rest: method ${method} is not a step`);
  const body = JSON.parse(need("--body")) as { principalId: string; resourceId: string; appRoleId: string };
  if (body.principalId !== state.principalId || body.resourceId !== GRAPH_SP_ID)
    fail("az rest POST: the body's principalId or resourceId is wrong");
  if (!Object.values(GRAPH_ROLES).includes(body.appRoleId))
    fail(`az rest POST: unknown app role ${body.appRoleId}`);
  // Graph answers 400 when the assignment exists already.
  const granted = (state.graphRoles[body.principalId] ??= []);
  if (granted.includes(body.appRoleId))
    fail("Bad Request: Permission being assigned already exists on the object");
  granted.push(body.appRoleId);
}

function graphServicePrincipal(): void {
  if (option(args, "--id") !== GRAPH_APP_ID)
    fail("az ad sp show: only Microsoft Graph's service principal is looked up");
  const query = option(args, "--query") ?? "";
  if (query === "id") return void process.stdout.write(`${GRAPH_SP_ID}\n`);
  const permission = /^appRoles\[\?value=='([\w.]+)'\]\.id$/.exec(query)?.[1];
  if (!permission || !GRAPH_ROLES[permission]) fail(`az ad sp show: unknown query ${query}`);
  process.stdout.write(`${GRAPH_ROLES[permission]}\n`);
}

/** The app roles of `--app-roles @file`, each the API needs with a fixed id. */
function appRoles(verb: string): string[] {
  const roles = JSON.parse(readFileSync(needFile("--app-roles"), "utf8")) as { value: string; id?: string }[];
  for (const role of ["Allowlist.Write", "Findings.Read"])
    if (!roles.some((r) => r.value === role && GUID.test(r.id ?? "")))
      fail(`az ad app ${verb}: no app role ${role} with a fixed id`);
  return roles.map((r) => r.value).sort();
}

function run(s: AzureState): void {
  if (command === "login") {
    // Interactive sign-in: nothing to check.
  } else if (command === "ad app list") {
    process.stdout.write(`${s.appRegistration?.appId ?? ""}\n`);
  } else if (command === "ad app create") {
    s.appRegistration = { appId: APP_ID, appRoleAssignmentRequired: false, roles: appRoles("create") };
    process.stdout.write(`${APP_ID}\n`);
  } else if (command === "ad app update") {
    const id = needGuid("--id");
    if (id !== s.appRegistration?.appId) fail("az ad app update: not the app registration's");
    if (option(args, "--app-roles") !== undefined) s.appRegistration.roles = appRoles("update");
    else if (option(args, "--identifier-uris") !== `api://${id}`)
      fail("az ad app update: identifier URI is not api://<id>");
  } else if (command === "ad sp create") {
    needGuid("--id");
  } else if (command === "ad sp update") {
    if (needGuid("--id") !== s.appRegistration?.appId) fail("az ad sp update: not the app registration's");
    if (option(args, "--set") !== "appRoleAssignmentRequired=true")
      fail("az ad sp update: expected --set appRoleAssignmentRequired=true");
    s.appRegistration.appRoleAssignmentRequired = true;
  } else if (command === "ad sp show") {
    graphServicePrincipal();
  } else if (command === "group exists") {
    needGuid("--subscription");
    need("--name");
    process.stdout.write(`${s.resourceGroup}\n`);
  } else if (command === "functionapp list") {
    needGuid("--subscription");
    need("--resource-group");
    if (!s.resourceGroup) fail("ResourceGroupNotFound: Resource group could not be found.");
    process.stdout.write(`${s.app?.name ?? ""}\n`);
  } else if (command === "keyvault list-deleted") {
    needGuid("--subscription");
    if (!(option(args, "--query") ?? "").includes("/resourceGroups/"))
      fail("az keyvault list-deleted: the query must pick the vault of the app's resource group");
    process.stdout.write(`${s.vault === "soft-deleted"}\n`);
  } else if (command === "deployment sub create") {
    deploySubscription();
  } else if (command === "deployment sub show") {
    deploymentOutput();
  } else if (command === "deployment mg create") {
    deployManagementGroup();
  } else if (command === "rest") {
    graph();
  } else {
    fail(
      `az stub: '${args.join(" ")}' is not a step the deploy test knows; teach test/helpers/deploy-stubs/az.ts`,
    );
  }
}

run(state);
writeState(state);
