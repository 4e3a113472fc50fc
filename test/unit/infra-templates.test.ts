import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";
import { z } from "zod";
import { loadConfig, SETTINGS } from "../../src/config";
import {
  appSettings,
  destinationKeepProblems,
  resourceDeclarations,
  roleAssignmentNames,
  roleAssignmentsWithoutPrincipal,
  settingExpression,
  secureParams,
  settingProblems,
  unknownResourceTypes,
  unknownRoleIds,
  type BuiltinRole,
  type ResourceTypeRow,
  type SettingInfo,
  type Templates,
} from "../helpers/bicep-checks";

const ROOT = join(__dirname, "../../..");
const INFRA = join(ROOT, "infra");
const read = (path: string) => readFileSync(path, "utf8");

const templates: Templates = Object.fromEntries(
  readdirSync(INFRA)
    .filter((f) => f.endsWith(".bicep"))
    .map((f) => [f, read(join(INFRA, f))]),
);
const resourceTypes = (
  JSON.parse(read(join(INFRA, "resource-types.json"))) as { resourceTypes: ResourceTypeRow[] }
).resourceTypes;
const builtinRoles = (JSON.parse(read(join(INFRA, "builtin-roles.json"))) as { roles: BuiltinRole[] }).roles;
const functionsDir = join(ROOT, "src/functions");
const functionSources = readdirSync(functionsDir)
  .filter((f) => f.endsWith(".ts"))
  .map((f) => read(join(functionsDir, f)));

/** What src/config.ts declares, read from the code: settings added later are checked too. */
function settingsFromConfig(
  settings: Record<string, { default: string; parse: z.ZodType; secret?: boolean }>,
) {
  return Object.fromEntries(
    Object.entries(settings).map(([name, s]): [string, SettingInfo] => [
      name,
      { optional: s.parse.safeParse(s.default).success, secret: s.secret === true },
    ]),
  );
}

/** Settings app.bicep sets that src/config.ts does not declare: the host and Azure SDKs read them. */
const PLATFORM_SETTINGS: Record<string, string> = {
  // Allowlist writes need the app role of the caller App Service Authentication signed in (issue 10
  // adds this setting to src/config.ts; from then on it is checked as a config setting as well).
  ALLOWLIST_WRITE_AUTH: "src/config.ts (issue 10)",
  // https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity
  // (per service, from the account's primaryEndpoints: __accountName would mean public-cloud URIs)
  AzureWebJobsStorage__blobServiceUri: "identity-based host storage",
  AzureWebJobsStorage__queueServiceUri: "identity-based host storage",
  AzureWebJobsStorage__tableServiceUri: "identity-based host storage",
  AzureWebJobsStorage__credential: "identity-based host storage",
  AzureWebJobsStorage__clientId: "identity-based host storage (user-assigned identity)",
  // https://learn.microsoft.com/javascript/api/@azure/identity/defaultazurecredential (ManagedIdentityCredential reads AZURE_CLIENT_ID)
  AZURE_CLIENT_ID: "DefaultAzureCredential's user-assigned identity",
  // https://learn.microsoft.com/azure/azure-functions/functions-app-settings#applicationinsights_connection_string
  APPLICATIONINSIGHTS_CONNECTION_STRING: "Application Insights",
  // https://learn.microsoft.com/azure/azure-functions/functions-app-settings#applicationinsights_authentication_string
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: "Application Insights with Entra ID authentication",
};

const settingsInput = () => ({
  appBicep: templates["app.bicep"]!,
  functionSources,
  settings: settingsFromConfig(SETTINGS),
  platformSettings: PLATFORM_SETTINGS,
});

describe("infra/*.bicep resource types and API versions", () => {
  it("deploys only the types and API versions listed, with sources, in infra/resource-types.json", () => {
    expect(Object.keys(templates).sort()).toEqual([
      "app.bicep",
      "identity-roles.bicep",
      "key-vault.bicep",
      "log-analytics-reader.bicep",
      "main.bicep",
      "peering-events-topic.bicep",
      "peering-events.bicep",
      "reader-assignment.bicep",
    ]);
    for (const row of resourceTypes) expect(row.source).toMatch(/^https:\/\//);
    expect(Object.values(templates).flatMap(resourceDeclarations).length).toBeGreaterThan(10);
    expect(unknownResourceTypes(templates, resourceTypes)).toEqual([]);
  });

  it("refuses a type or API version that is not listed", () => {
    const broken = {
      ...templates,
      "key-vault.bicep": templates["key-vault.bicep"]!.replace("vaults@2023-07-01'", "vaults@2099-01-01'"),
      "app.bicep": templates["app.bicep"]!.replace("Microsoft.Web/serverfarms@", "Microsoft.Web/serverFarm@"),
    };
    expect(unknownResourceTypes(broken, resourceTypes)).toEqual([
      "app.bicep: resource plan 'Microsoft.Web/serverFarm@2024-04-01' is not in infra/resource-types.json",
      "key-vault.bicep: resource vault 'Microsoft.KeyVault/vaults@2099-01-01' is not in infra/resource-types.json",
    ]);
  });
});

describe("role definition ids", () => {
  it("every GUID in the templates is a named built-in role in infra/builtin-roles.json", () => {
    for (const role of builtinRoles) expect(role.name.length).toBeGreaterThan(0);
    expect(unknownRoleIds(templates, builtinRoles)).toEqual([]);
    // The roles the scanner needs are all there: storage, monitoring, Key Vault, Reader.
    const used = new Set(
      Object.values(templates).flatMap((t) => [...t.matchAll(/'([0-9a-f-]{36})'/g)].map((m) => m[1])),
    );
    expect(
      builtinRoles
        .filter((r) => used.has(r.id))
        .map((r) => r.name)
        .sort(),
    ).toEqual([
      "Key Vault Secrets User",
      "Log Analytics Reader",
      "Monitoring Metrics Publisher",
      "Reader",
      "Storage Blob Data Owner",
      "Storage Queue Data Contributor",
      "Storage Table Data Contributor",
    ]);
  });

  it("fails when a role GUID is broken on purpose", () => {
    // One character off: Azure would answer RoleDefinitionDoesNotExist, at deployment time.
    const broken = templates["key-vault.bicep"]!.replace(
      "4633458b-17de-408a-b874-0445c86b69e6",
      "4633458b-17de-408a-b874-0445c86b69e7",
    );
    expect(unknownRoleIds({ "key-vault.bicep": broken }, builtinRoles)).toEqual([
      "key-vault.bicep: '4633458b-17de-408a-b874-0445c86b69e7' is not a built-in role in infra/builtin-roles.json",
    ]);
  });
});

describe("app settings", () => {
  it("sets every %NAME% binding, trigger connection and required setting of src/config.ts, and nothing unknown", () => {
    expect(functionSources.join("\n")).toContain("%SCAN_SCHEDULE%");
    expect(settingProblems(settingsInput())).toEqual([]);
  });

  it("fails when a required setting is broken on purpose", () => {
    const input = settingsInput();
    // A %NAME% binding the template no longer sets: the host would not start the timer.
    const withoutSchedule = input.appBicep.replace("{ name: 'SCAN_SCHEDULE', value: scanSchedule }", "");
    expect(settingProblems({ ...input, appBicep: withoutSchedule })).toEqual([
      "SCAN_SCHEDULE is bound as %SCAN_SCHEDULE% by a function (the host reads it from app settings, no default) but infra/app.bicep does not set it",
    ]);
    // A setting src/config.ts requires (no usable default) that the template does not set.
    const required = {
      ...SETTINGS,
      NEW_REQUIRED_SETTING: { doc: "", default: "", parse: z.string().min(1) },
    };
    expect(settingProblems({ ...input, settings: settingsFromConfig(required) })).toEqual([
      "NEW_REQUIRED_SETTING is required by src/config.ts (its default does not pass) but infra/app.bicep does not set it",
    ]);
    // A misspelt name.
    const typo = input.appBicep.replace("'ALERT_ALLOWED_HOSTS'", "'ALERT_ALLOWED_HOST'");
    expect(settingProblems({ ...input, appBicep: typo })).toEqual([
      "infra/app.bicep sets ALERT_ALLOWED_HOST, which neither src/config.ts nor the platform settings list knows (a typo?)",
    ]);
  });

  it("sets ALLOWLIST_WRITE_AUTH=role and API_READ_AUTH=role: writes and reads need an app role, not just a function key", () => {
    expect(appSettings(templates["app.bicep"]!).get("ALLOWLIST_WRITE_AUTH")).toBe("'role'");
    expect(appSettings(templates["app.bicep"]!).get("API_READ_AUTH")).toBe("'role'");
  });

  it("takes the scan settings as parameters of main.bicep, passed through to the app settings", () => {
    const main = templates["main.bicep"]!;
    const settings = appSettings(templates["app.bicep"]!);
    const byParam: Record<string, string> = {
      scanManagementGroups: "SCAN_MANAGEMENT_GROUPS",
      scanSubscriptions: "SCAN_SUBSCRIPTIONS",
      microsoftTenantIds: "MICROSOFT_TENANT_IDS",
      scanSchedule: "SCAN_SCHEDULE",
      changePollSchedule: "CHANGE_POLL_SCHEDULE",
      alertDigestThreshold: "ALERT_DIGEST_THRESHOLD",
      teamsMinSeverity: "TEAMS_MIN_SEVERITY",
      webhookMinSeverity: "WEBHOOK_MIN_SEVERITY",
      exceptionExpiryWarningDays: "EXCEPTION_EXPIRY_WARNING_DAYS",
    };
    for (const [param, setting] of Object.entries(byParam)) {
      expect([param, main]).toEqual([
        param,
        expect.stringMatching(new RegExp(`^param ${param} string = '[^']*'$`, "m")),
      ]);
      expect([param, main]).toEqual([
        param,
        expect.stringMatching(new RegExp(`^    ${param}: ${param}$`, "m")),
      ]);
      expect([setting, settings.get(setting)]).toEqual([setting, param]);
    }
    // An empty parameter means the app's own default, which must parse (src/config.ts).
    for (const setting of Object.values(byParam)) {
      const { default: fallback, parse } = SETTINGS[setting as keyof typeof SETTINGS] as {
        default: string;
        parse: z.ZodType;
      };
      expect([setting, parse.safeParse(fallback).success]).toEqual([setting, true]);
    }
  });

  it("writes back every setting no parameter sets, so a rerun never wipes one set in the portal", () => {
    const settings = appSettings(templates["app.bicep"]!);
    // The CLI's own folder and a switch for tests and the local demo have no place in the app.
    const notForTheApp = new Set(["CLI_STATE_DIR", "ALERT_ALLOW_PRIVATE_ADDRESSES"]);
    const missing = Object.keys(SETTINGS).filter((name) => !notForTheApp.has(name) && !settings.has(name));
    expect(missing).toEqual([]);
    for (const name of notForTheApp) expect([name, settings.has(name)]).toEqual([name, false]);
    // Each setting is either the template's (a parameter, a resource's property, a fixed value) or
    // kept as the app has it: the sign-in evidence workspace, the sovereign-cloud endpoints.
    for (const name of ["LOG_ANALYTICS_WORKSPACE_ID", "ARM_ENDPOINT", "GRAPH_ENDPOINT", "PUBLIC_BASE_URL"])
      expect([name, settings.get(name)]).toEqual([name, `current.?${name} ?? ''`]);
    // Without the app (a first deployment) they are empty, which the app reads as each default.
    const defaults = loadConfig({});
    for (const [name, value] of settings)
      if (value === `current.?${name} ?? ''`) {
        const key = name as keyof typeof defaults;
        expect([name, loadConfig({ [name]: "" })[key]]).toEqual([name, defaults[key]]);
      }
  });

  it("reaches host storage by the account's service endpoints, in any cloud", () => {
    const settings = appSettings(templates["app.bicep"]!);
    for (const service of ["blob", "queue", "table"])
      expect(settings.get(`AzureWebJobsStorage__${service}ServiceUri`)).toBe(
        `storage.properties.primaryEndpoints.${service}`,
      );
    expect(settings.has("AzureWebJobsStorage__accountName")).toBe(false);
    for (const [file, text] of Object.entries(templates))
      expect([file, text]).not.toContain("core.windows.net");
    expect(read(join(ROOT, "src/store/storage.ts"))).not.toContain("core.windows.net");
  });
});

describe("secrets in Key Vault", () => {
  const app = templates["app.bicep"]!;
  const vault = templates["key-vault.bicep"]!;
  const main = templates["main.bicep"]!;

  it("no secret is a plain app setting: the three are Key Vault references", () => {
    const secrets = Object.entries(SETTINGS)
      .filter(([, s]) => "secret" in s && s.secret)
      .map(([name]) => name);
    expect(secrets.sort()).toEqual(["TEAMS_WEBHOOK_URL", "WEBHOOK_SECRET", "WEBHOOK_URL"]);
    for (const name of secrets)
      expect(settingExpression(app, name)).toMatch(
        /^(\w+) == 'off' \? '' : !empty\(\1\) \? '@Microsoft\.KeyVault\(SecretUri=\$\{vault\.outputs\.secretsUri\}\$\{secretNames\.\w+\}\)' : current\.\?\w+ \?\? ''$/,
      );
    // A secure parameter appears in no app setting except to test it for 'off' or empty.
    const values = secrets
      .map((name) => settingExpression(app, name)!)
      .join("\n")
      .replace(/!?empty\(\w+\)|\w+ == 'off'/g, "");
    for (const param of secureParams(app)) expect(values).not.toMatch(new RegExp(`\\b${param}\\b`));
    expect(secureParams(main).sort()).toEqual(["teamsWebhookUrl", "webhookSecret", "webhookUrl"]);
    expect(secureParams(app).sort()).toEqual(["teamsWebhookUrl", "webhookSecret", "webhookUrl"]);
    expect(secureParams(vault)).toEqual(["secrets"]);
  });

  it("notices a secret put back into a plain app setting", () => {
    const input = {
      ...settingsInput(),
      appBicep: app.replace(
        /name: 'WEBHOOK_SECRET', value: [^\n]+/,
        "name: 'WEBHOOK_SECRET', value: webhookSecret }",
      ),
    };
    expect(settingProblems(input)).toEqual([
      "WEBHOOK_SECRET is a secret but infra/app.bicep sets it to webhookSecret, not a Key Vault reference (or the app's current WEBHOOK_SECRET)",
    ]);
  });

  it("the vault is in RBAC mode with purge protection, and the app's identity reads secrets with it", () => {
    expect(vault).toMatch(/enableRbacAuthorization: true/);
    expect(vault).toMatch(/enablePurgeProtection: true/);
    expect(vault).toMatch(/secretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'/);
    expect(builtinRoles.find((r) => r.id === "4633458b-17de-408a-b874-0445c86b69e6")?.name).toBe(
      "Key Vault Secrets User",
    );
    expect(vault).toMatch(
      /roleDefinitionId: subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', secretsUserRoleId\)\s*principalId: principalId/,
    );
    // The principal is the app's own identity, and the references resolve with that identity.
    expect(app).toMatch(
      /module vault 'key-vault\.bicep'[\s\S]*?principalId: identity\.properties\.principalId/,
    );
    expect(app).toMatch(/keyVaultReferenceIdentity: identity\.id/);
    expect(app).toMatch(/type: 'UserAssigned'\s*userAssignedIdentities: \{ '\$\{identity\.id\}': \{\} \}/);
  });
});

describe("redeploys", () => {
  const main = templates["main.bicep"]!;
  const reader = templates["reader-assignment.bicep"]!;
  const app = templates["app.bicep"]!;

  it("deploys the app at the hosting subscription and Reader at the management group, apart", () => {
    // A management-group deployment reaches only subscriptions under that group; a subscription
    // deployment has no such limit, and the Reader assignment is a deployment of its own.
    expect(main).toMatch(/^targetScope = 'subscription'$/m);
    expect(main).toMatch(
      /^resource group 'Microsoft\.Resources\/resourceGroups@[^']+' = \{\s*name: resourceGroupName/m,
    );
    expect(main).toMatch(/^module app 'app\.bicep' = \{[\s\S]*?scope: group/m);
    expect(main).not.toMatch(/^module \w+ 'reader-assignment\.bicep'|managementGroup\(/m);
    expect(main).toMatch(/^output identityPrincipalId string = app\.outputs\.principalId$/m);
    expect(reader).toMatch(/^targetScope = 'managementGroup'$/m);
    expect(reader).toMatch(/^param principalId string$/m);
  });

  it("names every role assignment after the principal it is for", () => {
    const names = roleAssignmentNames(templates);
    expect(names.map((n) => `${n.file}: ${n.symbol}`).sort()).toEqual([
      "identity-roles.bicep: insightsRole",
      "identity-roles.bicep: storageRoles",
      "key-vault.bicep: secretsUser",
      "log-analytics-reader.bicep: logReader",
      "reader-assignment.bicep: reader",
    ]);
    expect(roleAssignmentsWithoutPrincipal(templates)).toEqual([]);
    // Each template that assigns roles gets the principal id as a parameter, from the identity.
    expect(app).toMatch(
      /module identityRoles 'identity-roles\.bicep' = \{[\s\S]*?principalId: identity\.properties\.principalId/,
    );
    expect(app).toMatch(
      /module vault 'key-vault\.bicep' = \{[\s\S]*?principalId: identity\.properties\.principalId/,
    );
  });

  it("notices a role assignment named without its principal", () => {
    const broken = templates["identity-roles.bicep"]!.replace(
      "guid(insights.id, roles.monitoringMetricsPublisher, principalId)",
      "guid(insights.id, roles.monitoringMetricsPublisher)",
    );
    expect(roleAssignmentsWithoutPrincipal({ "identity-roles.bicep": broken })).toEqual([
      "identity-roles.bicep: role assignment insightsRole is named guid(insights.id, roles.monitoringMetricsPublisher), without its principal id",
    ]);
  });

  it("keeps an alert destination whose parameter a rerun leaves out", () => {
    expect(destinationKeepProblems(app, ["TEAMS_WEBHOOK_URL", "WEBHOOK_URL", "WEBHOOK_SECRET"])).toEqual([]);
    expect(main).toMatch(/^param existingFunctionApp string = ''$/m);
    expect(main).toMatch(/^ {4}existingFunctionApp: existingFunctionApp$/m);
    // The vault writes a secret only when its value is given: an empty parameter leaves it as it is.
    expect(templates["key-vault.bicep"]).toMatch(
      /for secret in items\(secrets\): if \(!empty\(secret\.value\)\)/,
    );
    const dropped = app.replace(" : current.?WEBHOOK_URL ?? ''", " : ''");
    expect(destinationKeepProblems(dropped, ["WEBHOOK_URL"])).toEqual([
      expect.stringMatching(
        /^WEBHOOK_URL does not keep the app's current setting when its parameter is empty/,
      ),
    ]);
    const unguarded = app.replace("empty(existingFunctionApp) ? {} : list(", "list(");
    expect(destinationKeepProblems(unguarded, [])).toEqual([
      expect.stringMatching(
        /^var current must read the existing app's settings only when existingFunctionApp is set/,
      ),
    ]);
  });

  it("recovers the Key Vault only when asked, and says the steps work that out each run", () => {
    expect(templates["key-vault.bicep"]).toMatch(/createMode: recover \? 'recover' : 'default'/);
    expect(main).toMatch(
      /@description\([^\n]*az keyvault list-deleted[^\n]*\)\nparam recoverKeyVault bool = false/,
    );
  });

  it("gives every module deployment a name unique per location", () => {
    const names = Object.values(templates).flatMap((t) =>
      [...t.matchAll(/^module \w+ '[^']+' = \{\s*name: ([^\n]+)/gm)].map((m) => m[1]!),
    );
    expect(names.length).toBe(3);
    for (const name of names) expect(name).toMatch(/'cts-[\w-]+-\$\{location\}'/);
  });

  it("validates namePrefix: lower-case letters and digits, starting with a letter", () => {
    expect(main).toMatch(/@minLength\(3\)\s*@maxLength\(11\)\s*param namePrefix string/);
    expect(main).toMatch(/var prefix = toLower\(namePrefix\)/);
    expect(main).toMatch(
      /var prefixIsValid = contains\(letters, first\(prefix\)\) && empty\(filter\(range\(0, length\(prefix\)\), i => !contains\('\$\{letters\}0123456789', substring\(prefix, i, 1\)\)\)\)/,
    );
    // An invalid prefix makes the app module's deployment name invalid (spaces): the deployment
    // stops before it starts, with the reason in the error.
    expect(main).toMatch(
      /name: prefixIsValid \? 'cts-app-\$\{location\}' : 'namePrefix \$\{namePrefix\} is invalid: [^']+'/,
    );
    expect(main).toMatch(/namePrefix: prefix/);
  });
});

describe("App Service Authentication", () => {
  const app = templates["app.bicep"]!;
  const main = templates["main.bicep"]!;

  it("requires an Entra ID sign-in for every request, for the app registration passed in", () => {
    expect(app).toMatch(
      /resource auth 'Microsoft\.Web\/sites\/config@[^']+' = \{\s*parent: app\s*name: 'authsettingsV2'/,
    );
    expect(app).toMatch(/platform: \{ enabled: true \}/);
    expect(app).toMatch(/requireAuthentication: true\s*unauthenticatedClientAction: 'Return401'/);
  });

  it("lets Event Grid deliveries, which carry only the system key, reach the Event Grid extension", () => {
    // Without this every delivery to peeringEvents gets 401 and change-driven detection is dead.
    const globalValidation = /globalValidation: \{([^}]*)\}/.exec(app)?.[1] ?? "";
    // Microsoft's docs spell it both ways; both are listed.
    expect(globalValidation).toMatch(
      /excludedPaths: \['\/runtime\/webhooks\/eventgrid', '\/runtime\/webhooks\/EventGrid'\]/,
    );
    // Only that path: everything else still needs a sign-in.
    expect(globalValidation.match(/'\/[^']*'/g)).toEqual([
      "'/runtime/webhooks/eventgrid'",
      "'/runtime/webhooks/EventGrid'",
    ]);
  });

  it("names the app registration that signs callers in", () => {
    expect(app).toMatch(
      /azureActiveDirectory: \{\s*enabled: true\s*registration: \{\s*clientId: authClientId/,
    );
    expect(main).toMatch(/@minLength\(36\)\s*@maxLength\(36\)\s*param authClientId string\n/);
    expect(main).toMatch(/authClientId: authClientId/);
    const roles = JSON.parse(read(join(INFRA, "app-roles.json"))) as {
      value: string;
      allowedMemberTypes: string[];
    }[];
    expect(roles.map((r) => r.value)).toEqual(["Allowlist.Write", "Findings.Read"]);
  });
});

describe("Event Grid system topic per subscription", () => {
  const topic = templates["peering-events-topic.bicep"]!;
  const events = templates["peering-events.bicep"]!;
  const eventSubscription = /resource peeringEvents '[^']+' = \{\s*parent: (\w+)/.exec(topic);

  it("creates the subscription's system topic when none is named", () => {
    expect(topic).toMatch(/param existingTopicName string = ''\n/);
    expect(topic).toMatch(/var createTopic = empty\(existingTopicName\)/);
    expect(topic).toMatch(
      /resource newTopic 'Microsoft\.EventGrid\/systemTopics@[^']+' = if \(createTopic\) \{\s*name: topicName\s*location: 'global'\s*properties: \{\s*source: subscription\(\)\.id\s*topicType: 'Microsoft\.Resources\.Subscriptions'/,
    );
    expect(topic).toMatch(/var topicName = createTopic \? 'cross-tenant-scanner-[^']+' : existingTopicName/);
    // The event subscription waits for a topic it created.
    expect(topic).toMatch(/name: 'peering-events'\s*dependsOn: \[newTopic\]/);
  });

  it("adds only the event subscription to a topic that already exists (one system topic per source)", () => {
    // Every system topic the module declares outside the conditional one is a reference, not a creation.
    const topics = [
      ...topic.matchAll(
        /^resource (\w+) 'Microsoft\.EventGrid\/systemTopics@[^']+'( existing)? = (if \(\w+\) )?\{/gm,
      ),
    ];
    expect(topics.map((m) => [m[1], m[2] ?? "", m[3] ?? ""])).toEqual([
      ["newTopic", "", "if (createTopic) "],
      ["topic", " existing", ""],
    ]);
    expect(topic).toMatch(/resource topic '[^']+' existing = \{\s*name: topicName\s*\}/);
    expect(eventSubscription?.[1]).toBe("topic");
    // The management-group template passes the named topic, and deploys into that topic's group.
    expect(events).toMatch(/param existingTopics object = \{\}/);
    expect(events).toMatch(
      /existingTopicName: contains\(existingTopics, subscriptionId\) \? existingTopics\[subscriptionId\]\.name : ''/,
    );
    expect(events).toMatch(
      /scope: resourceGroup\(subscriptionId, contains\(existingTopics, subscriptionId\) \? existingTopics\[subscriptionId\]\.resourceGroup : resourceGroupName\)/,
    );
  });
});

describe("hardening", () => {
  const app = templates["app.bicep"]!;
  const vault = templates["key-vault.bicep"]!;

  it("sends the Key Vault's AuditEvent, every storage service's logs and the function app's logs to the workspace", () => {
    expect(vault).toMatch(
      /resource audit 'Microsoft\.Insights\/diagnosticSettings@[^']+' = \{\s*name: '[^']+'\s*scope: vault\s*properties: \{\s*workspaceId: workspaceId\s*logs: \[\{ category: 'AuditEvent', enabled: true \}\]/,
    );
    expect(app).toMatch(/module vault 'key-vault\.bicep' = \{[\s\S]*?workspaceId: logs\.id/);
    const diagnostics = [
      ...app.matchAll(
        /resource \w+ 'Microsoft\.Insights\/diagnosticSettings@[^']+' = \{\s*name: '[^']+'\s*scope: (\w+)\s*properties: \{\s*workspaceId: logs\.id\s*logs: \[\{ (\w+): '(\w+)', enabled: true \}\]/g,
      ),
    ].map((m) => `${m[1]} ${m[2]}=${m[3]}`);
    expect(diagnostics.sort()).toEqual([
      "app category=FunctionAppLogs",
      "blobService categoryGroup=allLogs",
      "queueService categoryGroup=allLogs",
      "tableService categoryGroup=allLogs",
    ]);
  });

  it("turns off local authentication: workspace keys, storage keys, publishing credentials", () => {
    expect(app).toMatch(/features: \{ disableLocalAuth: true \}/);
    expect(app).toMatch(/allowSharedKeyAccess: false/);
    expect(app).toMatch(/defaultToOAuthAuthentication: true/);
    expect(app).toMatch(/DisableLocalAuth: true/);
    const policies = [
      ...app.matchAll(
        /resource \w+ 'Microsoft\.Web\/sites\/basicPublishingCredentialsPolicies@[^']+' = \{\s*parent: app\s*name: '(\w+)'\s*properties: \{ allow: false \}/g,
      ),
    ].map((m) => m[1]);
    expect(policies.sort()).toEqual(["ftp", "scm"]);
  });
});
