import { idKey } from "../azure/resource-id";
import { createHash, randomBytes } from "node:crypto";
import type { z } from "zod";
import type { AllowlistEntry } from "../allowlist/entry";
import type { Config } from "../config";
import { errorMessage } from "../errors";
import { silentLogger, withFields, type Logger } from "../log";
import { homeTenantOf, type AzureConnection } from "../azure/connection";
import { azureGetter, type AzureGet } from "../azure/http";
import { listDescendants } from "../azure/management-groups";
import {
  createResourceGraphClient,
  resourceGraphQuery,
  type QueryAll,
  type QueryRows,
  type QueryTenant,
  type ScanScope,
} from "../azure/resource-graph";
import {
  listSubscriptions,
  SUBSCRIPTION_COUNT_QUERY,
  subscriptionCountRowSchema,
} from "../azure/subscription-inventory";
import { MemoryTenantCache, type TenantCache } from "../azure/tenant-cache";
import { TenantResolver } from "../azure/tenants";
import { graphDirectory } from "../azure/directory-objects";
import { graphPolicies } from "../azure/entra-policies";
import { workspaceQuery } from "../azure/log-analytics";
import { gatherEvidence } from "../scanners/log-analytics-evidence/evidence";
import type { Finding } from "../scanners/findings";
import type { CountName, ScanError } from "../scanners/scanner";
import { needsAction, sortFindings, type CheckRun, type ScanReport } from "../findings/report";
import { SCANNERS } from "./scanners";
import { cleanDeep } from "../text";
import { visibleSubscriptions } from "../azure/subscription-coverage";
import {
  decideCoverage,
  seenByInventory,
  type CoverageFacts,
  type SubscriptionRecord,
  type VisibleSubscription,
} from "../findings/coverage";

export interface ScanOptions {
  connection: AzureConnection;
  config: Config;
  allowlist: AllowlistEntry[];
  /** Shared across scans where the caller keeps one; a fresh in-memory cache otherwise. */
  tenantCache?: TenantCache;
  log?: Logger;
  now?: () => Date;
  scanId?: string;
  /** Waits out Resource Graph throttling; tests replace it. */
  sleep?: (ms: number) => Promise<void>;
  /** Subscriptions holding stored unresolved findings: the scan checks it can still see them. */
  storedSubscriptions?: Iterable<string>;
  /** What earlier scans knew of those subscriptions. */
  knownSubscriptions?: ReadonlyMap<string, SubscriptionRecord>;
}

/** A scan's report plus what reconciliation needs to know about where it looked. */
export interface ScanOutcome {
  report: ScanReport;
  facts: CoverageFacts;
  /** What Resource Graph showed of the checked subscriptions; null when asking failed. */
  visible: VisibleSubscription[] | null;
}

/** The first few reasons a check is degraded, in one bounded line. */
function degradedReason(reasons: string[]): string {
  const shown = reasons.slice(0, 5).join("; ");
  return reasons.length > 5 ? `${shown}; and ${reasons.length - 5} more` : shown;
}

export function newScanId(now: Date): string {
  return `${now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}-${randomBytes(3).toString("hex")}`;
}

/** A list of subscriptions as a short key: the same subscriptions in any order and case give the same key. */
function scopeKey(subscriptions: readonly string[]): string {
  const ids = [...new Set(subscriptions.map((id) => idKey(id)))].sort();
  return createHash("sha256").update(ids.join(",")).digest("base64");
}

export function scopeOf(config: Config): ScanScope {
  return { managementGroups: config.SCAN_MANAGEMENT_GROUPS, subscriptions: config.SCAN_SUBSCRIPTIONS };
}

/**
 * What Resource Graph's queries fall back to past its 10,000-subscription cut-off: the
 * subscriptions listed through ARM. ARM names each one's tenant, kept in `tenants` when given so
 * no lookup is needed for it later.
 */
export function subscriptionLister(
  connection: AzureConnection,
  options: { get?: AzureGet; tenants?: Map<string, string> } = {},
): () => Promise<string[]> {
  const get = options.get ?? azureGetter(connection);
  return async () => {
    // Streamed page by page into the ids and the subscription -> tenant map: held once each.
    const ids: string[] = [];
    await listSubscriptions(connection, get, (s) => {
      ids.push(s.subscriptionId);
      if (s.tenantId) options.tenants?.set(idKey(s.subscriptionId), idKey(s.tenantId));
    });
    return ids;
  };
}

/**
 * One scan: inventory, tenant resolution and classification by every scanner. What could not be
 * read is reported in `errors` with `complete: false`; a failure to authenticate throws.
 */
export async function runScan(options: ScanOptions): Promise<ScanReport> {
  return (await scanWithCoverage(options)).report;
}

/** `runScan`, also returning the coverage facts that decide what may be resolved. */
export async function scanWithCoverage(options: ScanOptions): Promise<ScanOutcome> {
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const scanId = options.scanId ?? newScanId(startedAt);
  const log = withFields(options.log ?? silentLogger, { scanId });
  const { connection, config } = options;

  const homeTenantId = await homeTenantOf(connection);
  log("info", "scan-started", { homeTenantId, scope: scopeOf(config) });

  const get = azureGetter(connection);
  const known = new Map<string, string>();
  const runner = resourceGraphQuery(createResourceGraphClient(connection), scopeOf(config), {
    pageSize: config.RESOURCE_GRAPH_PAGE_SIZE,
    subscriptionGroupSize: config.SUBSCRIPTION_GROUP_SIZE,
    listSubscriptions: subscriptionLister(connection, { get, tenants: known }),
    listManagementGroups: (group) => listDescendants(connection, get, group),
    // The tenant root group is named after the tenant.
    tenantRootGroup: homeTenantId,
    managementGroupScopeLimit: config.MANAGEMENT_GROUP_SCOPE_LIMIT,
    onPage: (page) => log("info", "resource-graph-page", { ...page }),
    onScope: (event) => log("info", "resource-graph-scope", { ...event }),
    ...(options.sleep ? { sleep: options.sleep } : {}),
    throttleWaitBudgetMs: config.RESOURCE_GRAPH_THROTTLE_WAIT_SECONDS * 1000,
  });
  const { queryAll: readAll, queryTenant: readTenant, stats: resourceGraph } = runner;
  // Partners name their resources: every row's text is cleaned here, once, before a scanner reads it.
  // A query two checks share (the array summary, over the scope or one subscription group) is read
  // once per scan.
  const asked = new Map<string, { schema: unknown; result: Promise<QueryRows<unknown>> }>();
  const queryAll: QueryAll = <T>(
    name: string,
    query: string,
    rowSchema: z.ZodType<T>,
    about?: readonly string[],
  ) => {
    const key = about ? `${query}\n${scopeKey(about)}` : query;
    const hit = asked.get(key);
    if (hit && hit.schema === rowSchema) return hit.result as Promise<QueryRows<T>>;
    const result = readAll(name, query, rowSchema, about).then((r) => ({
      rows: cleanDeep(r.rows),
      unreadable: cleanDeep(r.unreadable),
    }));
    asked.set(key, { schema: rowSchema, result });
    return result;
  };

  // Tenant-wide reads (role definitions) are asked once per scan too.
  const askedTenant = new Map<string, Promise<QueryRows<unknown>>>();
  const queryTenant: QueryTenant = <T>(name: string, query: string, rowSchema: z.ZodType<T>) => {
    let result = askedTenant.get(query) as Promise<QueryRows<T>> | undefined;
    if (!result) {
      result = readTenant(name, query, rowSchema).then((r) => ({
        rows: cleanDeep(r.rows),
        unreadable: cleanDeep(r.unreadable),
      }));
      askedTenant.set(query, result);
    }
    return result;
  };

  const errors: ScanError[] = [];
  let subscriptions = 0;
  try {
    // Where the scan decides to go by subscription groups: the first query over the whole scope
    // meets Resource Graph's 10,000-subscription cut-off, and ARM's subscription list (streamed into
    // `known`, subscription -> tenant) makes the groups. Past it, the groups are the count, and each
    // check runs its census of remote subscriptions per group (scanners/census.ts).
    const counted = await runner.wholeOrGroups(
      "subscription count",
      SUBSCRIPTION_COUNT_QUERY,
      subscriptionCountRowSchema,
    );
    if ("groups" in counted) {
      subscriptions = counted.groups.reduce((n, group) => n + group.length, 0);
    } else {
      const rows = cleanDeep(counted.rows);
      subscriptions = rows.rows.reduce((n, row) => n + row.Count, 0);
      for (const bad of rows.unreadable) errors.push({ source: "subscriptions", message: bad.message });
    }
  } catch (error) {
    errors.push({
      source: "subscriptions",
      message: `Counting subscriptions failed: ${errorMessage(error)}`,
    });
  }

  const tenants = new TenantResolver({
    connection,
    get,
    cache: options.tenantCache ?? new MemoryTenantCache(config.TENANT_CACHE_TTL_HOURS * 3600_000),
    known,
    namesFromGraph: config.TENANT_NAMES_FROM_GRAPH,
    log,
  });

  const context = {
    queryAll,
    queryTenant,
    subscriptionGroups: runner.subscriptionGroups,
    tenants,
    directory: graphDirectory(connection, get),
    allowlist: options.allowlist,
    config,
    now: startedAt,
    log,
    homeTenantId,
    policies: graphPolicies(connection, get),
  };
  const findings: Finding[] = [];
  const counts: Record<CountName, number> = {
    virtualNetworks: 0,
    peerings: 0,
    privateEndpoints: 0,
    privateEndpointConnections: 0,
    roleAssignments: 0,
    crossTenantAccessPartners: 0,
  };
  const checks: CheckRun[] = [];
  for (const scanner of SCANNERS) {
    const checkStarted = Date.now();
    const result = await scanner.scan(context);
    log("info", "check-finished", {
      check: scanner.check.id,
      ms: Date.now() - checkStarted,
      findings: result.findings.length,
      errors: result.errors.length,
    });
    findings.push(...result.findings);
    errors.push(...result.errors);
    for (const [name, count] of Object.entries(result.counts)) counts[name as CountName] += count;
    const { id, title } = scanner.check;
    const failed = result.errors.filter((e) => e.source === id);
    checks.push(
      result.skipped
        ? { id, title, status: "skipped", reason: result.skipped }
        : failed.length > 0
          ? { id, title, status: "failed", reason: failed[0]!.message }
          : result.degraded?.length
            ? { id, title, status: "degraded", reason: degradedReason(result.degraded) }
            : { id, title, status: "ran" },
    );
    if (result.degraded?.length)
      log("warn", "check-degraded", { check: id, reasons: result.degraded.length });
    if (result.skipped) log("warn", "check-skipped", { check: id, reason: result.skipped });
  }

  // Evidence adds to what the checks found (who created it, who signs in); it never decides a finding.
  const evidence = await gatherEvidence(findings, {
    query: config.LOG_ANALYTICS_WORKSPACE_ID
      ? workspaceQuery(connection, config.LOG_ANALYTICS_WORKSPACE_ID)
      : null,
    homeTenantId,
    signInWindow: config.SIGN_IN_WINDOW,
    activityWindow: config.ACTIVITY_LOG_WINDOW,
    log,
  });
  findings.splice(0, findings.length, ...evidence.findings);
  checks.push(evidence.check);
  if (evidence.check.status !== "ran")
    log("warn", "check-skipped", { check: evidence.check.id, reason: evidence.check.reason });

  // Coverage is asked after the inventory, so a subscription seen by both is seen by this scan.
  // Subscriptions the inventory returned findings from are seen already; only the others are asked.
  const storedSubscriptions = [...(options.storedSubscriptions ?? [])];
  const found = findings.map((f) => f.localSubscriptionId).filter((id) => id !== "");
  const records = options.knownSubscriptions ?? new Map<string, SubscriptionRecord>();
  const seen = seenByInventory(found, scopeOf(config), records);
  const seenIds = new Set(seen.map((s) => s.subscriptionId));
  let visible: VisibleSubscription[] | null = null;
  try {
    const asked = storedSubscriptions.filter((id) => !seenIds.has(idKey(id)));
    visible = [...seen, ...(await visibleSubscriptions(queryAll, asked, config.SCAN_MANAGEMENT_GROUPS))];
  } catch (error) {
    errors.push({
      source: "coverage",
      message: `Checking which subscriptions are visible failed: ${errorMessage(error)}`,
    });
  }
  const { facts, coverage } = decideCoverage({
    scope: scopeOf(config),
    stored: storedSubscriptions,
    found,
    visible,
    known: records,
  });

  const violations = findings.filter(needsAction).length;
  const report: ScanReport = {
    schemaVersion: 1,
    scanId,
    startedAt: startedAt.toISOString(),
    finishedAt: now().toISOString(),
    homeTenantId,
    complete: errors.length === 0,
    // Messages of Azure's errors can quote outside text back.
    errors: cleanDeep(errors),
    stats: {
      subscriptions,
      ...counts,
      findings: findings.length,
      violations,
      allowed: findings.length - violations,
      resourceGraphRequests: resourceGraph.requests,
      resourceGraphRows: resourceGraph.rows,
    },
    checks: cleanDeep(checks),
    findings: sortFindings(findings),
    coverage,
  };
  log(report.complete ? "info" : "warn", "scan-finished", {
    complete: report.complete,
    ...report.stats,
    lostSubscriptions: coverage.lostSubscriptions.length,
  });
  return { report, facts, visible };
}
