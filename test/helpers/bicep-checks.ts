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

const KEY_VAULT_REFERENCE = /^(empty\(\w+\) \? '' : )?'@Microsoft\.KeyVault\(SecretUri=\$\{[^}]+\}[^']*\)'$/;

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
    const value = set.get(name);
    if (info.secret && value !== undefined && !KEY_VAULT_REFERENCE.test(value))
      problems.push(`${name} is a secret but infra/app.bicep sets it to ${value}, not a Key Vault reference`);
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
