import { getDomain } from "tldts";
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
  /** Never echoed in messages or logs (webhook URLs carry their own credentials). */
  secret?: boolean;
  /** Taken byte for byte: not trimmed (a key's spaces are part of the key). */
  verbatim?: boolean;
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
const optionalHttpsUrl = z
  .string()
  .refine((s) => s === "" || httpsUrl.safeParse(s).success, { message: "must be an https URL (or empty)" });
const severity = z.enum(["high", "medium", "low", "info"], { message: "must be high, medium, low or info" });
/**
 * `*.x` may only cover names under one registrable domain: `x` must not itself be a public suffix
 * (Public Suffix List, private section included), else `*.com` or `*.azurewebsites.net` would let
 * in hosts that anyone can register.
 */
const withinOneDomain = (pattern: string) =>
  !pattern.startsWith("*.") || getDomain(pattern.slice(2), { allowPrivateDomains: true }) !== null;
const hostPattern = z
  .string()
  .regex(/^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*$/i, "must be host names, each optionally starting with '*.'")
  .refine(
    withinOneDomain,
    "a '*.' pattern must stay within one registrable domain ('*.com' or '*.azurewebsites.net' would let anyone's host in)",
  );

/**
 * Microsoft's own tenants, seen on Microsoft-managed resources; a peering's remote network counts as
 * Microsoft-managed only when its subscription resolves to one of these (never by its name).
 */
export const DEFAULT_MICROSOFT_TENANT_IDS = [
  // Microsoft's corporate tenant (microsoft.onmicrosoft.com); seen as the tenant of Microsoft-managed
  // resources (FACTS.md, "Microsoft tenants seen on managed resources").
  "72f988bf-86f1-41af-91ab-2d7cd011db47",
  // Seen on Microsoft-managed resources; the Azure Governance Visualizer (AzGovViz) labels this
  // tenant Microsoft (FACTS.md, same line).
  "33e01921-4d64-4f8c-a055-5bdaffd5e33d",
  // Seen on Microsoft-managed resources; AzGovViz labels this tenant Microsoft too (FACTS.md).
  "2f4a9838-26b7-47ee-be60-ccc1fdec5953",
];

/**
 * The tenant that owns Microsoft's first-party apps: their service principals carry this
 * `appOwnerOrganizationId` (FACTS.md, "Microsoft Graph, as v1.0 really answers"). Azure docs ask
 * customers to grant some of them network roles (e.g. Azure Spring Apps on a VNet).
 */
export const DEFAULT_MICROSOFT_APP_OWNER_TENANT_IDS = ["f8cdef31-a31e-4b4a-93e4-5f571e91255a"];

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
    doc: "Treat peerings to Microsoft-managed networks (remote subscription in a MICROSOFT_TENANT_IDS tenant) as allowed.",
    default: "true",
    parse: bool,
  },
  MICROSOFT_APP_OWNER_TENANT_IDS: {
    doc: "Comma-separated tenant ids whose apps (a service principal's appOwnerOrganizationId) count as Microsoft-managed: an app-owner tenant, not a subscription tenant. Default: Microsoft's first-party app tenant.",
    default: DEFAULT_MICROSOFT_APP_OWNER_TENANT_IDS.join(","),
    parse: list(guid),
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
  SUBSCRIPTION_GROUP_SIZE: {
    doc: "Subscriptions per Resource Graph request when a scope is sent as a list (SCAN_SUBSCRIPTIONS, or after the 10,000-subscription cut-off). Microsoft recommends fewer than 300; at most 1000.",
    default: "250",
    parse: z.coerce.number().int().min(1).max(1000),
  },
  MANAGEMENT_GROUP_SCOPE_LIMIT: {
    doc: "Past the 10,000-subscription cut-off, queries that read every subscription (role assignments, Lighthouse delegations) go by whole management groups holding at most this many subscriptions, one request each, where the identity can read the management group tree; the rest by subscription groups. Resource Graph covers 10,000 subscriptions under one scope. 0: by subscription groups only.",
    default: "10000",
    parse: z.coerce.number().int().min(0).max(10_000),
  },
  AZURE_MAX_RETRIES: {
    doc: "Retries of a throttled (429) or failed (5xx) Azure request before the scan reports it incomplete.",
    default: "4",
    parse: z.coerce.number().int().min(0).max(10),
  },
  RESOURCE_GRAPH_THROTTLE_WAIT_SECONDS: {
    doc: "How long, in all, one scan may wait out Resource Graph 429s that carry no Retry-After (only x-ms-user-quota-resets-after, which the SDK does not honour) before the query counts as failed.",
    default: "120",
    parse: z.coerce.number().min(0).max(3600),
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
  SCAN_SCHEDULE: {
    doc: "When the timer function scans (NCRONTAB with seconds, UTC). Default: hourly, on the hour.",
    default: "0 0 * * * *",
    parse: z
      .string()
      .regex(/^\S+( \S+){5}$/, "must be an NCRONTAB expression of six fields, e.g. '0 0 * * * *'"),
  },
  HTTP_SCAN_WAIT_SECONDS: {
    doc: "The longest POST /api/scans?wait= may wait for the queued scan's report before answering 202 with its location.",
    default: "100",
    parse: z.coerce.number().positive().max(220),
  },
  SCAN_REQUESTS_MAX_WAITING: {
    doc: "At most this many scans requested through POST /api/scans wait at once; more are answered 429 with Retry-After. A request whose scope a waiting one covers is folded into it.",
    default: "5",
    parse: z.coerce.number().int().min(1).max(50),
  },
  TEAMS_WEBHOOK_URL: {
    doc: "Teams Workflows webhook ('Post to a channel when a webhook request is received') that receives alert cards. Empty: no Teams alerts.",
    default: "",
    parse: optionalHttpsUrl,
    secret: true,
  },
  TEAMS_MIN_SEVERITY: {
    doc: "Least severe alert sent to Teams (high, medium, low, info; resolutions are info).",
    default: "info",
    parse: severity,
  },
  WEBHOOK_URL: {
    doc: "Generic webhook that receives each alert message as JSON. Empty: none.",
    default: "",
    parse: optionalHttpsUrl,
    secret: true,
  },
  WEBHOOK_SECRET: {
    doc: "Key of the HMAC-SHA256 signature sent in X-Signature-256 to WEBHOOK_URL, taken byte for byte (not trimmed). Empty: unsigned.",
    default: "",
    parse: z.string(),
    secret: true,
    verbatim: true,
  },
  WEBHOOK_MIN_SEVERITY: {
    doc: "Least severe alert sent to WEBHOOK_URL.",
    default: "info",
    parse: severity,
  },
  ALERT_ALLOWED_HOSTS: {
    doc: "Comma-separated host names webhooks may point at ('*.' matches any subdomain). Add your own webhook's host.",
    default: "*.webhook.office.com,*.logic.azure.com,*.powerplatform.com,*.powerautomate.com",
    parse: list(hostPattern),
  },
  ALERT_DIGEST_THRESHOLD: {
    doc: "A scan with this many alerts or more sends one digest instead of one alert each.",
    default: "50",
    parse: z.coerce.number().int().min(2),
  },
  EXCEPTION_EXPIRY_WARNING_DAYS: {
    doc: "Days before an allowlist entry expires that an exception-expiring alert is sent (0: never).",
    default: "14",
    parse: z.coerce.number().int().min(0).max(365),
  },
  ALERT_DELIVERY_ATTEMPTS: {
    doc: "Tries per webhook within one dispatch (429, 5xx, timeouts) before the queue retries the message.",
    default: "3",
    parse: z.coerce.number().int().min(1).max(10),
  },
  ALERT_TIMEOUT_SECONDS: {
    doc: "How long one webhook request may take.",
    default: "10",
    parse: z.coerce.number().positive().max(120),
  },
  AZURE_PORTAL_URL: {
    doc: "Azure portal address used in alert links.",
    default: "https://portal.azure.com",
    parse: httpsUrl,
  },
  PUBLIC_BASE_URL: {
    doc: "The function app's public address (https://<app>.azurewebsites.net): Teams cards then link to its HTML report, GET /api/report (the link carries no function key: the reader gives it, or App Service Authentication signs them in). Empty: no link.",
    default: "",
    parse: optionalHttpsUrl.transform((s) => s.replace(/\/+$/, "")),
  },
  ALLOWLIST_WRITE_AUTH: {
    doc: "Who may change the allowlist through the API: 'role' (a caller App Service Authentication signed in, with the app role Allowlist.Write; writes are refused while authentication is off or allows anonymous callers) or 'function-key' (the function key is enough).",
    default: "role",
    parse: z.enum(["role", "function-key"], { message: "must be role or function-key" }),
  },
  API_READ_AUTH: {
    doc: "Who may read through the API (GET on findings, scans and the allowlist, and POST /api/scans): 'role' (a caller App Service Authentication signed in, with the app role Findings.Read; refused while authentication is off or allows anonymous callers) or 'function-key' (the function key is enough). The Bicep deploys 'role'.",
    default: "function-key",
    parse: z.enum(["role", "function-key"], { message: "must be role or function-key" }),
  },
  ALERT_ALLOW_PRIVATE_ADDRESSES: {
    doc: "For tests and the local demo only: let webhooks reach loopback, link-local and private addresses. Never set it in Azure.",
    default: "false",
    parse: bool,
  },
  AZURE_REQUEST_TIMEOUT_SECONDS: {
    doc: "How long one Azure request (a Resource Graph page, a tenant lookup) may take before it counts as failed.",
    default: "60",
    parse: z.coerce.number().positive().max(600),
  },
  CHANGE_POLL_SCHEDULE: {
    doc: "When the peeringChanges timer reads Resource Graph's change feed (NCRONTAB with seconds, UTC). Default: every minute.",
    default: "0 * * * * *",
    parse: z
      .string()
      .regex(/^\S+( \S+){5}$/, "must be an NCRONTAB expression of six fields, e.g. '0 * * * * *'"),
  },
  LOG_ANALYTICS_WORKSPACE_ID: {
    doc: "Workspace (its Workspace ID, a GUID) that receives Entra ID sign-in logs and the Activity log; the scan reads who created each peering and who of each finding's tenant signs in (needs Log Analytics Reader). Empty: no such evidence.",
    default: "",
    parse: z
      .string()
      .refine((s) => s === "" || GUID_PATTERN.test(s), { message: "must be a GUID (or empty)" }),
  },
  LOG_ANALYTICS_ENDPOINT: {
    doc: "Log Analytics query endpoint (change for sovereign clouds).",
    default: "https://api.loganalytics.io",
    parse: httpsUrl,
  },
  SIGN_IN_WINDOW: {
    doc: "How far back the sign-in evidence looks (ISO 8601 duration, e.g. P30D; sign-in logs are kept as long as the workspace keeps them).",
    default: "P30D",
    parse: z.string().regex(/^P(\d+D|T\d+H)$/, "must be an ISO 8601 duration such as P30D or PT12H"),
  },
  ACTIVITY_LOG_WINDOW: {
    doc: "How far back the Activity log is read for who created a peering or private endpoint (ISO 8601 duration; the Activity log is kept 90 days).",
    default: "P90D",
    parse: z.string().regex(/^P(\d+D|T\d+H)$/, "must be an ISO 8601 duration such as P90D"),
  },
  CHANGE_POLL_OVERLAP_SECONDS: {
    doc: "How far back each change poll reads before its watermark: Resource Graph records a change within about 5 minutes, so a late record is still read.",
    default: "300",
    parse: z.coerce.number().int().min(0).max(3600),
  },
  GROUP_MEMBERS_PER_SCAN: {
    doc: "At most this many transitive members of groups holding peering roles are read per scan (Microsoft Graph); a group cut by it marks the principal check degraded, naming the group.",
    default: "5000",
    parse: z.coerce.number().int().min(1).max(1_000_000),
  },
} satisfies Record<string, Setting<unknown>>;

export type SettingName = keyof typeof SETTINGS;
export type Config = { [K in SettingName]: z.output<(typeof SETTINGS)[K]["parse"]> };

/**
 * Reads and validates every setting; a bad value fails with the setting's name and what it must be.
 * A secret whose Key Vault reference App Service did not resolve is the one exception: it turns off
 * only the alert destination it belongs to (all of that destination's settings read as empty, so
 * the webhook is never sent unsigned), and the rest of the app keeps running. `unresolvedSecrets(env)` names them, for the
 * log, the `scan-degraded` alert and doctor (src/functions/runtime.ts, src/doctor/key-vault-references.ts).
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  const off = new Set<string>(unresolvedSecrets(env).flatMap((u) => DESTINATION_SECRETS[u.destination]));
  for (const [name, setting] of Object.entries(SETTINGS) as [SettingName, Setting<unknown>][]) {
    const raw = off.has(name) ? "" : (setting.verbatim ? env[name] : env[name]?.trim()) || setting.default;
    const result = setting.parse.safeParse(raw);
    if (result.success) config[name] = result.data;
    else {
      // The name, never the value: a value in the wrong setting can be a secret (a webhook URL's sig=).
      problems.push(`${name}: ${result.error.issues[0]?.message ?? "invalid"}`);
    }
  }
  if (problems.length === 0) problems.push(...webhookHostProblems(config as Config));
  if (problems.length > 0) throw new InputError("Invalid configuration:", problems);
  return config as Config;
}

/**
 * App Service hands an app setting whose Key Vault reference it could not resolve to the app as the
 * reference text itself: "If a reference isn't resolved properly, the reference string is used
 * instead" (https://learn.microsoft.com/azure/app-service/app-service-key-vault-references).
 * Taken as a secret, that text would become e.g. the webhook signing key without anyone noticing.
 */
export function isKeyVaultReference(value: string): boolean {
  return /^\s*@Microsoft\.KeyVault\(/i.test(value);
}

/**
 * The alert destinations and their secret settings. One unresolved secret empties all of its
 * destination's: an empty URL is a destination that is off, so the webhook is never sent unsigned.
 */
export const DESTINATION_SECRETS = {
  teams: ["TEAMS_WEBHOOK_URL"],
  webhook: ["WEBHOOK_URL", "WEBHOOK_SECRET"],
} as const satisfies Record<string, readonly SettingName[]>;
export type DestinationName = keyof typeof DESTINATION_SECRETS;

export interface UnresolvedSecret {
  /** The app setting that still holds its Key Vault reference. */
  setting: SettingName;
  /** The alert destination it turns off. */
  destination: DestinationName;
}

/**
 * The call that makes App Service resolve an app's Key Vault references again, for the app of
 * resource id `appId` (README, "Unresolved Key Vault references").
 */
export const keyVaultRefreshCall = (appId: string) =>
  `az rest --method post --url "https://management.azure.com${appId}/config/configreferences/appsettings/refresh?api-version=2022-03-01"`;

/** Secret settings whose value is still an unresolved Key Vault reference (their values never leave here). */
export function unresolvedSecrets(env: Record<string, string | undefined> = process.env): UnresolvedSecret[] {
  return (Object.entries(DESTINATION_SECRETS) as [DestinationName, readonly SettingName[]][]).flatMap(
    ([destination, names]) =>
      names
        .filter((name) => isKeyVaultReference(env[name] ?? ""))
        .map((setting) => ({ setting, destination })),
  );
}

/** `*.example.com` matches any subdomain of example.com; other patterns match exactly. */
export function hostAllowed(url: string, patterns: readonly string[]): boolean {
  const host = new URL(url).hostname.toLowerCase();
  return patterns.some((pattern) => {
    const p = pattern.toLowerCase();
    return p.startsWith("*.") ? host.endsWith(p.slice(1)) && host.length > p.length - 1 : host === p;
  });
}

function webhookHostProblems(config: Config): string[] {
  return (["TEAMS_WEBHOOK_URL", "WEBHOOK_URL"] as const)
    .filter((name) => config[name] !== "" && !hostAllowed(config[name], config.ALERT_ALLOWED_HOSTS))
    .map((name) => `${name}: its host is not in ALERT_ALLOWED_HOSTS (add it there if you trust it)`);
}
