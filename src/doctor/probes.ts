import { z } from "zod";
import { isRestError } from "@azure/core-rest-pipeline";
import { checkedAddress, WebhookRefusedError } from "../alerts/webhook-guard";
import type { AzureConnection } from "../azure/connection";
import type { AzureGet } from "../azure/http";
import {
  createResourceGraphClient,
  resourceGraphQuery,
  SUBSCRIPTION_LIMIT_HEADER,
  type ResourceGraphOptions,
  type ScanScope,
} from "../azure/resource-graph";
import { SUBSCRIPTION_COUNT_QUERY, subscriptionCountRowSchema } from "../azure/subscription-inventory";
import { USER_PROPERTIES } from "../azure/directory-objects";
import type { Config } from "../config";
import { errorMessage } from "../errors";
import { cleanText } from "../text";
import type { DoctorCheck } from "./check";

/** Where Resource Graph stops a tenant- or management-group-scoped query (guidance-for-throttled-requests.md). */
export const SUBSCRIPTION_CUT_OFF = 10_000;
/** Network Contributor: a built-in role, which lives in no subscription. */
const NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7";

/** Who the scanner is, from its ARM token: tenant (`tid`) and object id (`oid`). */
export interface Identity {
  tenantId: string;
  objectId: string | null;
}

export interface ProbeContext {
  connection: AzureConnection;
  config: Config;
  get: AzureGet;
  identity: Identity;
  scope: ScanScope;
}

const ok = (id: string, detail: string): DoctorCheck => ({ id, status: "ok", detail, fix: "" });
const warn = (id: string, detail: string, fix: string): DoctorCheck => ({ id, status: "warn", detail, fix });
const fail = (id: string, detail: string, fix: string): DoctorCheck => ({ id, status: "fail", detail, fix });

/** The claims of an access token (a JWT), unverified: enough to say who the token names. */
export async function identityOf(connection: AzureConnection): Promise<Identity> {
  const token = await connection.credential.getToken(`${connection.armEndpoint}/.default`);
  if (!token) throw new Error("The Azure credential returned no token for Azure Resource Manager.");
  const claims = z
    .looseObject({ tid: z.string(), oid: z.string().optional() })
    .parse(JSON.parse(Buffer.from(token.token.split(".")[1] ?? "", "base64url").toString("utf8")));
  return { tenantId: claims.tid.toLowerCase(), objectId: claims.oid ?? null };
}

/**
 * The command an administrator runs to give the scanner's identity a Microsoft Graph application
 * permission (an app role assignment on Graph's service principal, admin consent included).
 */
export function grantCommand(permission: string, objectId: string | null): string {
  const who = objectId ?? "<scanner-object-id>";
  return (
    `graph=$(az ad sp show --id 00000003-0000-0000-c000-000000000000 --query id -o tsv); ` +
    `role=$(az ad sp show --id 00000003-0000-0000-c000-000000000000 --query "appRoles[?value=='${permission}'].id" -o tsv); ` +
    `az rest --method POST --uri https://graph.microsoft.com/v1.0/servicePrincipals/${who}/appRoleAssignments ` +
    `--body "{\\"principalId\\": \\"${who}\\", \\"resourceId\\": \\"$graph\\", \\"appRoleId\\": \\"$role\\"}"`
  );
}

const readerFix = (context: ProbeContext) =>
  `az role assignment create --assignee ${context.identity.objectId ?? "<scanner-object-id>"} --role Reader --scope ` +
  (context.scope.managementGroups[0]
    ? `/providers/Microsoft.Management/managementGroups/${context.scope.managementGroups[0]}`
    : `/providers/Microsoft.Management/managementGroups/${context.identity.tenantId}`);

export function identityCheck(identity: Identity, connection: AzureConnection): DoctorCheck {
  return ok(
    "identity",
    `Signed in to tenant ${identity.tenantId}${identity.objectId ? ` as object ${identity.objectId}` : ""} (${connection.armEndpoint}).`,
  );
}

/** A Resource Graph reader over the scan's scope for one probe: pages of 1000, quota waits up to 30 s. */
export function probeRunner(context: ProbeContext, options: Partial<ResourceGraphOptions> = {}) {
  return resourceGraphQuery(createResourceGraphClient(context.connection), context.scope, {
    pageSize: 1000,
    subscriptionGroupSize: context.config.SUBSCRIPTION_GROUP_SIZE,
    throttleWaitBudgetMs: 30_000,
    ...options,
  });
}

/** Resource Graph at the configured scope, and how many subscriptions it sees against the 10,000 cut-off. */
export async function resourceGraphCheck(context: ProbeContext): Promise<DoctorCheck> {
  const id = "resource-graph";
  let cutOff = false;
  let refusedAsTooMany = false;
  const runner = probeRunner(context, {
    // Asked for only past the cut-off (or a refused scope): reaching it says so, and nothing is scanned.
    listSubscriptions: async () => {
      cutOff = true;
      return [];
    },
    onScope: (event) => {
      if (!event.reason.includes(SUBSCRIPTION_LIMIT_HEADER)) refusedAsTooMany = true;
    },
  });
  const where =
    context.scope.managementGroups.length > 0
      ? `management group(s) ${context.scope.managementGroups.join(", ")}`
      : context.scope.subscriptions.length > 0
        ? `${context.scope.subscriptions.length} subscription(s) of SCAN_SUBSCRIPTIONS`
        : "the tenant";
  try {
    const counted = await runner.queryAll(
      "subscription count",
      SUBSCRIPTION_COUNT_QUERY,
      subscriptionCountRowSchema,
    );
    const count = counted.rows.reduce((n, row) => n + row.Count, 0);
    if (cutOff)
      return warn(
        id,
        `Resource Graph covers only the first ${SUBSCRIPTION_CUT_OFF.toLocaleString("en")} subscriptions of ${where}${refusedAsTooMany ? " (or refused the scope as too large)" : ""}; scans fall back to subscription groups listed through ARM, which costs more requests.`,
        "Narrow the scope with SCAN_MANAGEMENT_GROUPS, or accept the slower fallback.",
      );
    if (count === 0)
      return fail(
        id,
        `Resource Graph answered for ${where} but shows no subscription: the identity reads nothing there.`,
        readerFix(context),
      );
    return ok(
      id,
      `Resource Graph answers for ${where}: ${count} subscription(s) visible, under the ${SUBSCRIPTION_CUT_OFF.toLocaleString("en")} cut-off.`,
    );
  } catch (error) {
    const status = isRestError(error) ? error.statusCode : undefined;
    return fail(
      id,
      `Resource Graph could not be queried for ${where}${status ? ` (HTTP ${status})` : ""}: ${cleanText(errorMessage(error), 300)}`,
      status === 401 || status === 403
        ? readerFix(context)
        : "Check the scope settings and the network path to Azure Resource Manager.",
    );
  }
}

/**
 * Directory.Read.All, by calling what the principal check calls: a user read with `$select`. Also
 * says whether that read returns `userType` (the field guests are told by).
 */
export async function graphDirectoryChecks(context: ProbeContext): Promise<DoctorCheck[]> {
  const graph = context.connection.graphEndpoint;
  const url = `${graph}/v1.0/users?$top=1&$select=${USER_PROPERTIES.join(",")}`;
  const permission = "Directory.Read.All";
  let response;
  try {
    response = await context.get(url, { scope: `${graph}/.default` });
  } catch (error) {
    return [
      fail(
        "graph-directory-read-all",
        `Microsoft Graph could not be asked for users: ${cleanText(errorMessage(error), 300)}`,
        "Check the network path to Microsoft Graph (GRAPH_ENDPOINT).",
      ),
    ];
  }
  if (response.status === 401 || response.status === 403) {
    return [
      fail(
        "graph-directory-read-all",
        `Microsoft Graph answered ${response.status} to GET /v1.0/users: the identity lacks ${permission}, so guests and other tenants' principals who can peer are not checked.`,
        grantCommand(permission, context.identity.objectId),
      ),
      warn(
        "graph-user-type",
        "Not checked: users cannot be read without Directory.Read.All.",
        "Fix graph-directory-read-all first.",
      ),
    ];
  }
  if (response.status !== 200)
    return [
      fail(
        "graph-directory-read-all",
        `Microsoft Graph answered ${response.status} to GET /v1.0/users.`,
        "Try again; if it persists, check Microsoft Graph's service health.",
      ),
    ];
  const users = z
    .object({ value: z.array(z.record(z.string(), z.unknown())) })
    .safeParse(JSON.parse(response.bodyAsText ?? "{}"));
  const first = users.success ? users.data.value[0] : undefined;
  const directory = ok(
    "graph-directory-read-all",
    `Microsoft Graph answers GET /v1.0/users (${permission}).`,
  );
  if (!first)
    return [
      directory,
      warn(
        "graph-user-type",
        "The directory returned no user to look at.",
        "Nothing to do unless users exist.",
      ),
    ];
  return [
    directory,
    "userType" in first
      ? ok("graph-user-type", "User reads with $select return userType (guests can be told from members).")
      : fail(
          "graph-user-type",
          "A user read with $select=userType came back without userType: guests would be undecided (unresolved).",
          "Check that GRAPH_ENDPOINT is Microsoft Graph v1.0 and not a proxy that strips properties.",
        ),
  ];
}

/** CrossTenantInformation.ReadBasic.All, by looking up the scanner's own tenant. */
export async function crossTenantInformationCheck(context: ProbeContext): Promise<DoctorCheck> {
  const id = "graph-cross-tenant-information";
  const permission = "CrossTenantInformation.ReadBasic.All";
  if (!context.config.TENANT_NAMES_FROM_GRAPH)
    return warn(
      id,
      "TENANT_NAMES_FROM_GRAPH is off: tenant names and external users' home tenants are not looked up.",
      "Set TENANT_NAMES_FROM_GRAPH=true.",
    );
  const graph = context.connection.graphEndpoint;
  try {
    const response = await context.get(
      `${graph}/v1.0/tenantRelationships/findTenantInformationByTenantId(tenantId='${context.identity.tenantId}')`,
      { scope: `${graph}/.default` },
    );
    if (response.status === 200)
      return ok(id, `Microsoft Graph answers findTenantInformationByTenantId (${permission}).`);
    if (response.status === 401 || response.status === 403)
      return fail(
        id,
        `Microsoft Graph answered ${response.status} to findTenantInformationByTenantId: without ${permission} findings carry tenant ids only and guests' home tenants stay unknown.`,
        grantCommand(permission, context.identity.objectId),
      );
    return warn(
      id,
      `Microsoft Graph answered ${response.status} to findTenantInformationByTenantId.`,
      "Try again later.",
    );
  } catch (error) {
    return fail(
      id,
      `Microsoft Graph could not be asked: ${cleanText(errorMessage(error), 300)}`,
      "Check GRAPH_ENDPOINT.",
    );
  }
}

/** Network Contributor's definition: a built-in role, which lives in no subscription. */
export const BUILT_IN_ROLE_QUERY = `authorizationresources
| where type =~ 'microsoft.authorization/roledefinitions' and name =~ '${NETWORK_CONTRIBUTOR}'
| project id`;

/** Built-in role definitions live in no subscription: read over the tenant, as the principal check reads them. */
export async function builtInRolesCheck(context: ProbeContext): Promise<DoctorCheck> {
  const id = "built-in-role-definitions";
  const runner = probeRunner(context);
  try {
    const { rows } = await runner.queryTenant(
      "built-in role definitions",
      BUILT_IN_ROLE_QUERY,
      z.object({ id: z.string() }),
    );
    return rows.length > 0
      ? ok(id, "Built-in role definitions are visible (Network Contributor found over the tenant).")
      : fail(
          id,
          "Resource Graph returned no built-in role definition over the tenant: assignments of built-in roles would be unresolved.",
          readerFix(context),
        );
  } catch (error) {
    return fail(
      id,
      `Reading role definitions over the tenant failed: ${cleanText(errorMessage(error), 300)}`,
      readerFix(context),
    );
  }
}

/**
 * The home subscriptions without a `Microsoft.Resources.Subscriptions` Event Grid system topic, on
 * which infra/peering-events-topic.bicep puts the `peering-events` subscription (system topics
 * are resources Resource Graph lists; one per subscription, FACTS.md "Events"). Without one,
 * peerings made there are seen by the change poller within minutes, not at once.
 */
export async function eventGridCheck(context: ProbeContext): Promise<DoctorCheck> {
  const id = "peering-event-grid";
  const runner = probeRunner(context);
  try {
    const subscriptions = await runner.queryAll(
      "subscriptions",
      SUBSCRIPTIONS_QUERY,
      z.object({ subscriptionId: z.string(), tenantId: z.string() }),
    );
    const topics = await runner.queryAll(
      "subscription events topics",
      SUBSCRIPTION_EVENTS_TOPICS_QUERY,
      z.object({ subscriptionId: z.string() }),
    );
    const covered = new Set(topics.rows.map((t) => t.subscriptionId.toLowerCase()));
    const lacking = subscriptions.rows
      .filter((r) => r.tenantId.toLowerCase() === context.identity.tenantId)
      .map((r) => r.subscriptionId.toLowerCase())
      .filter((sub) => !covered.has(sub));
    if (lacking.length === 0)
      return ok(
        id,
        "Every home subscription in scope has a Microsoft.Resources.Subscriptions Event Grid system topic.",
      );
    return warn(
      id,
      `${lacking.length} subscription(s) have no subscription events topic, so peerings there are seen by the change poller, not at once: ${lacking.slice(0, 5).join(", ")}${lacking.length > 5 ? ", …" : ""}`,
      "Deploy infra/peering-events-topic.bicep to each (az deployment sub create --template-file infra/peering-events-topic.bicep --location <region> --subscription <id> ...).",
    );
  } catch (error) {
    return warn(
      id,
      `Could not list Event Grid system topics: ${cleanText(errorMessage(error), 300)}`,
      readerFix(context),
    );
  }
}

/** The subscriptions of the scope, with their tenant. */
export const SUBSCRIPTIONS_QUERY = `resourcecontainers
| where type =~ 'microsoft.resources/subscriptions'
| project id, subscriptionId = tolower(subscriptionId), tenantId = tolower(tenantId)`;

/** Event Grid system topics of subscription events (one per subscription). */
export const SUBSCRIPTION_EVENTS_TOPICS_QUERY = `resources
| where type =~ 'microsoft.eventgrid/systemtopics' and tostring(properties.topicType) =~ 'Microsoft.Resources.Subscriptions'
| project id, subscriptionId = tolower(subscriptionId)`;

/** Webhook destinations: set, and passing the SSRF guard (allowed host, public address), without sending. */
export async function webhookChecks(
  config: Config,
  resolve?: (host: string) => Promise<string[]>,
): Promise<DoctorCheck[]> {
  const destinations = (["TEAMS_WEBHOOK_URL", "WEBHOOK_URL"] as const).filter((name) => config[name] !== "");
  if (destinations.length === 0)
    return [
      warn(
        "webhooks",
        "No alert destination is set: findings are stored and reported, but nobody is told.",
        "Set TEAMS_WEBHOOK_URL (a Teams Workflows webhook) or WEBHOOK_URL, and add its host to ALERT_ALLOWED_HOSTS.",
      ),
    ];
  const checks: DoctorCheck[] = [];
  for (const name of destinations) {
    const id = `webhook-${name === "TEAMS_WEBHOOK_URL" ? "teams" : "generic"}`;
    const url = new URL(config[name]);
    try {
      const { address } = await checkedAddress(url, {
        allowedHosts: config.ALERT_ALLOWED_HOSTS,
        allowPrivateAddresses: config.ALERT_ALLOW_PRIVATE_ADDRESSES,
        ...(resolve ? { resolve } : {}),
      });
      // The host only: the URL's path and query hold the webhook's key.
      checks.push(
        ok(
          id,
          `${name} (host ${url.hostname}) passes the webhook guard (address ${address}); nothing was sent.`,
        ),
      );
    } catch (error) {
      checks.push(
        fail(
          id,
          `${name}: ${cleanText(errorMessage(error), 300)}`,
          error instanceof WebhookRefusedError
            ? "Point it at an allowed public host, or add its host to ALERT_ALLOWED_HOSTS if you trust it."
            : "Check the host name resolves from the app.",
        ),
      );
    }
  }
  return checks;
}
