import { z } from "zod";
import { InputError } from "./errors";
import { GUID_PATTERN } from "./validation";

/**
 * Every setting the scanner reads, in one place. The Functions host passes app settings as
 * environment variables; the CLI reads the same variables.
 */
interface Setting<T> {
  doc: string;
  default: string;
  parse: z.ZodType<T>;
}

const list = (item: z.ZodType<string, string>) =>
  z
    .string()
    .transform((s) =>
      s
        .split(",")
        .map((x) => x.trim())
        .filter((x) => x.length > 0),
    )
    .pipe(z.array(item));

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" }))
  .transform((s) => s === "true" || s === "1" || s === "yes");

const positiveNumber = (max: number) => z.coerce.number().positive().max(max);
const httpsUrl = z
  .url({ protocol: /^https$/, message: "must be an https URL" })
  .transform((s) => s.replace(/\/+$/, ""));
const guid = z.string().regex(GUID_PATTERN, "must be a GUID");

/** Microsoft's own tenants (Microsoft corporate and AME); networks there are Microsoft-operated. */
export const DEFAULT_MICROSOFT_TENANT_IDS = [
  "72f988bf-86f1-41af-91ab-2d7cd011db47",
  "33e01921-4d64-4f8c-a055-5bdaffd5e33d",
];

export const SETTINGS = {
  SCAN_MANAGEMENT_GROUPS: {
    doc: "Comma-separated management group ids to scan. Empty: every subscription the identity can read.",
    default: "",
    parse: list(z.string().regex(/^[\w.()-]{1,90}$/, "must be a management group id")),
  },
  SCAN_SUBSCRIPTIONS: {
    doc: "Comma-separated subscription ids to scan (used when SCAN_MANAGEMENT_GROUPS is empty).",
    default: "",
    parse: list(guid),
  },
  MICROSOFT_TENANT_IDS: {
    doc: "Comma-separated tenant ids whose networks count as Microsoft-managed.",
    default: DEFAULT_MICROSOFT_TENANT_IDS.join(","),
    parse: list(guid),
  },
  ALLOW_MICROSOFT_MANAGED: {
    doc: "Treat peerings to Microsoft-managed networks (Virtual WAN hubs, Microsoft tenants) as allowed.",
    default: "true",
    parse: bool,
  },
  TENANT_NAMES_FROM_GRAPH: {
    doc: "Look up remote tenant names in Microsoft Graph (needs CrossTenantInformation.ReadBasic.All; degrades to ids).",
    default: "true",
    parse: bool,
  },
  TENANT_CACHE_TTL_HOURS: {
    doc: "How long a resolved subscription-to-tenant mapping is reused before it is looked up again.",
    default: "24",
    parse: positiveNumber(24 * 365),
  },
  RESOURCE_GRAPH_PAGE_SIZE: {
    doc: "Rows per Resource Graph page (1 to 1000).",
    default: "1000",
    parse: z.coerce.number().int().min(1).max(1000),
  },
  AZURE_MAX_RETRIES: {
    doc: "Retries of a throttled (429) or failed (5xx) Azure request before the scan reports it incomplete.",
    default: "4",
    parse: z.coerce.number().int().min(0).max(10),
  },
  CLI_STATE_DIR: {
    doc: "Where the CLI keeps state in an embedded Azurite when AzureWebJobsStorage is not set.",
    default: ".cross-tenant-scanner",
    parse: z.string().min(1),
  },
  ARM_ENDPOINT: {
    doc: "Azure Resource Manager endpoint (change for sovereign clouds).",
    default: "https://management.azure.com",
    parse: httpsUrl,
  },
  GRAPH_ENDPOINT: {
    doc: "Microsoft Graph endpoint (change for sovereign clouds).",
    default: "https://graph.microsoft.com",
    parse: httpsUrl,
  },
} satisfies Record<string, Setting<unknown>>;

export type SettingName = keyof typeof SETTINGS;
export type Config = { [K in SettingName]: z.output<(typeof SETTINGS)[K]["parse"]> };

/** Reads and validates every setting; a bad value fails with the setting's name and what it must be. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(SETTINGS) as [SettingName, Setting<unknown>][]) {
    const raw = env[name]?.trim() || setting.default;
    const result = setting.parse.safeParse(raw);
    if (result.success) config[name] = result.data;
    else problems.push(`${name}=${JSON.stringify(raw)}: ${result.error.issues[0]?.message ?? "invalid"}`);
  }
  if (problems.length > 0) throw new InputError("Invalid configuration:", problems);
  return config as Config;
}
