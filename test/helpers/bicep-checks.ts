/**
 * Checks of the Bicep templates in infra/ that need no Bicep compiler (none can be installed on our
 * machines): pure functions over the template text, so a test can also show each one failing on a
 * template broken on purpose.
 */

export interface ResourceTypeRow {
  type: string;
  apiVersion: string;
  source: string;
}

export interface BuiltinRole {
  id: string;
  name: string;
  source: string;
}

/** Template text by file name, e.g. { "app.bicep": "…" }. */
export type Templates = Record<string, string>;

const GUID_LITERAL = /'([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'/gi;

/** `resource <symbol> '<type>@<apiVersion>'` declarations (including `existing` ones). */
export function resourceDeclarations(text: string): { symbol: string; type: string; apiVersion: string }[] {
  return [...text.matchAll(/^\s*resource\s+(\w+)\s+'([^'@]+)@([^']+)'/gm)].map((m) => ({
    symbol: m[1]!,
    type: m[2]!,
    apiVersion: m[3]!,
  }));
}

export function unknownResourceTypes(templates: Templates, table: readonly ResourceTypeRow[]): string[] {
  const known = new Set(table.map((row) => `${row.type.toLowerCase()}@${row.apiVersion}`));
  return Object.entries(templates).flatMap(([file, text]) =>
    resourceDeclarations(text)
      .filter((r) => !known.has(`${r.type.toLowerCase()}@${r.apiVersion}`))
      .map(
        (r) =>
          `${file}: resource ${r.symbol} '${r.type}@${r.apiVersion}' is not in infra/resource-types.json`,
      ),
  );
}

/** Every GUID literal in the templates must be a built-in role we listed (and named). */
export function unknownRoleIds(templates: Templates, roles: readonly BuiltinRole[]): string[] {
  const known = new Set(roles.map((role) => role.id.toLowerCase()));
  return Object.entries(templates).flatMap(([file, text]) =>
    [...text.matchAll(GUID_LITERAL)]
      .map((m) => m[1]!)
      .filter((id) => !known.has(id.toLowerCase()))
      .map((id) => `${file}: '${id}' is not a built-in role in infra/builtin-roles.json`),
  );
}

/** The app settings of the Function App in app.bicep: name to the Bicep expression of its value. */
export function appSettings(appBicep: string): Map<string, string> {
  const start = appBicep.indexOf("appSettings: [");
  if (start < 0) throw new Error("app.bicep has no appSettings array");
  let depth = 0;
  let end = start;
  for (let i = appBicep.indexOf("[", start); i < appBicep.length; i++) {
    if (appBicep[i] === "[") depth++;
    else if (appBicep[i] === "]" && --depth === 0) {
      end = i;
      break;
    }
  }
  const block = appBicep
    .slice(start, end)
    .split("\n")
    .filter((line) => !line.trim().startsWith("//"))
    .join("\n");
  const settings = new Map<string, string>();
  for (const m of block.matchAll(/name:\s*'([^']+)'[\s,]*value:\s*(.*)$/gm))
    settings.set(m[1]!, m[2]!.replace(/\s*\}\s*$/, "").trim());
  return settings;
}

/** What `src/config.ts` says about one setting (its `SETTINGS` entry). */
export interface SettingInfo {
  /** The default parses: the app runs without it, and the README's configuration table documents it as optional. */
  optional: boolean;
  secret: boolean;
}

export interface SettingsInput {
  appBicep: string;
  /** Source text of src/functions/*.ts, for `%NAME%` bindings and trigger `connection`s. */
  functionSources: string[];
  settings: Record<string, SettingInfo>;
  /** Settings the host or the Azure SDKs read, not src/config.ts (name to where that is documented). */
  platformSettings: Record<string, string>;
}

/**
 * A secret setting's value: its Key Vault reference when the parameter holds a value, empty for
 * 'off', and the app's current setting (`current`, read with list()) when the parameter is empty.
 */
const KEY_VAULT_REFERENCE =
  /^(\w+) == 'off' \? '' : !empty\(\1\) \? '@Microsoft\.KeyVault\(SecretUri=\$\{[^}]+\}[^']*\)' : current\.\?(\w+) \?\? ''$/;

/** A `var` of the template, as written (one line), or undefined. */
export function variable(text: string, name: string): string | undefined {
  return new RegExp(`^var ${name} = (.+)$`, "m").exec(text)?.[1]?.trim();
}

/** An app setting's value with a variable it names replaced by that variable's definition. */
export function settingExpression(appBicep: string, name: string): string | undefined {
  const value = appSettings(appBicep).get(name);
  if (value === undefined || !/^\w+$/.test(value)) return value;
  return variable(appBicep, value) ?? value;
}

export function settingProblems(input: SettingsInput): string[] {
  const set = appSettings(input.appBicep);
  const problems: string[] = [];
  const bindings = input.functionSources.flatMap((src) => [...src.matchAll(/%(\w+)%/g)].map((m) => m[1]!));
  for (const name of new Set(bindings))
    if (!set.has(name))
      problems.push(
        `${name} is bound as %${name}% by a function (the host reads it from app settings, no default) but infra/app.bicep does not set it`,
      );
  const connections = input.functionSources.flatMap((src) =>
    [...src.matchAll(/connection:\s*"(\w+)"/g)].map((m) => m[1]!),
  );
  for (const name of new Set(connections))
    if (!set.has(name) && ![...set.keys()].some((s) => s.startsWith(`${name}__`)))
      problems.push(
        `connection ${name} of a trigger is neither set in infra/app.bicep nor as identity-based ${name}__* settings`,
      );
  for (const [name, info] of Object.entries(input.settings)) {
    if (!info.optional && !set.has(name))
      problems.push(
        `${name} is required by src/config.ts (its default does not pass) but infra/app.bicep does not set it`,
      );
    const value = settingExpression(input.appBicep, name);
    const reference = value === undefined ? null : KEY_VAULT_REFERENCE.exec(value);
    if (info.secret && value !== undefined && (!reference || reference[2] !== name))
      problems.push(
        `${name} is a secret but infra/app.bicep sets it to ${value}, not a Key Vault reference (or the app's current ${name})`,
      );
  }
  for (const name of set.keys())
    if (!(name in input.settings) && !(name in input.platformSettings))
      problems.push(
        `infra/app.bicep sets ${name}, which neither src/config.ts nor the platform settings list knows (a typo?)`,
      );
  return problems;
}

/** The names of `@secure()` parameters of a template. */
export function secureParams(text: string): string[] {
  return [...text.matchAll(/@secure\(\)\s*\n\s*param\s+(\w+)/g)].map((m) => m[1]!);
}

/**
 * Role assignments whose name does not include the principal they are for. Azure refuses to point
 * an existing assignment at another principal (RoleAssignmentUpdateNotPermitted), so a name without
 * the principal breaks the redeploy after the identity was recreated under the same name.
 */
export function roleAssignmentsWithoutPrincipal(templates: Templates): string[] {
  return Object.entries(templates).flatMap(([file, text]) =>
    [
      ...text.matchAll(
        /^resource (\w+) 'Microsoft\.Authorization\/roleAssignments@[^']+' = [^\n]*\n([\s\S]*?)^[}\]]/gm,
      ),
    ]
      .map((m) => ({ symbol: m[1]!, name: /name: (.+)/.exec(m[2]!)?.[1]?.trim() ?? "", body: m[2]! }))
      .filter(
        (r) =>
          !/principalId/.test(r.name) ||
          !/principalId: principalId$/m.test(r.body) ||
          !/^guid\(.*\bprincipalId\)$/.test(r.name),
      )
      .map((r) => `${file}: role assignment ${r.symbol} is named ${r.name}, without its principal id`),
  );
}

/** Role assignments of all templates: file, symbol and name expression. */
export function roleAssignmentNames(templates: Templates): { file: string; symbol: string; name: string }[] {
  return Object.entries(templates).flatMap(([file, text]) =>
    [
      ...text.matchAll(
        /^resource (\w+) 'Microsoft\.Authorization\/roleAssignments@[^']+' = [^\n]*\n([\s\S]*?)^[}\]]/gm,
      ),
    ].map((m) => ({ file, symbol: m[1]!, name: /name: (.+)/.exec(m[2]!)?.[1]?.trim() ?? "" })),
  );
}

/**
 * How a rerun treats an alert destination whose parameter is left out: kept, when the app's current
 * settings are read with list() of the existing app's config/appsettings (guarded, so the first
 * deployment, with no app yet, does not call it), and each secret setting falls back to them.
 */
export function destinationKeepProblems(appBicep: string, secretSettings: readonly string[]): string[] {
  const problems: string[] = [];
  const current = variable(appBicep, "current") ?? "";
  if (
    !/^empty\(existingFunctionApp\) \? \{\} : list\(resourceId\('Microsoft\.Web\/sites\/config', existingFunctionApp, 'appsettings'\), '[\d-]+'\)\.properties$/.test(
      current,
    )
  )
    problems.push(
      `var current must read the existing app's settings only when existingFunctionApp is set, not: ${current || "(missing)"}`,
    );
  if (
    !/^param existingFunctionApp string = ''$/m.test(appBicep) &&
    !/^param existingFunctionApp string$/m.test(appBicep)
  )
    problems.push("app.bicep has no parameter existingFunctionApp");
  for (const name of secretSettings) {
    const value = settingExpression(appBicep, name) ?? "";
    if (!value.endsWith(`: current.?${name} ?? ''`))
      problems.push(`${name} does not keep the app's current setting when its parameter is empty: ${value}`);
  }
  return problems;
}
