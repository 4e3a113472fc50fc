import { flushAlerts } from "../alerts/emit";
import { listVnetPeerings } from "../azure/arm-network";
import type { AzureConnection } from "../azure/connection";
import { idKey, parseResourceId } from "../azure/resource-id";
import type { Config } from "../config";
import { errorMessage } from "../errors";
import { silentLogger, type Logger } from "../log";
import { mapLimit } from "../map-limit";
import type { PeeringFinding } from "../scanners/peering/finding";
import type { PeeringRow } from "../scanners/peering/query";
import { AllowlistStore } from "../store/allowlist-store";
import { FindingsStore } from "../store/findings-store";
import type { Storage } from "../store/storage";
import { TableTenantCache } from "../store/tenant-cache-table";
import type { Delta } from "../findings/reconcile";
import {
  classifyArmRows,
  remoteSubscriptionOf,
  rowOfArmPeering,
  tenantResolverFor,
} from "../scanners/peering/arm";

/** VNets read from ARM at once (each is one list call, or a few pages). */
const ARM_CONCURRENCY = 4;

/** Who created a peering, as a subscription event tells it. */
export interface Creator {
  principalId: string;
  at: string;
}

export interface VnetCheckOptions {
  connection: AzureConnection;
  config: Config;
  storage: Storage;
  /** Keys this check's alerts: `changes-…` for a poll, `event-…` for an event, never a full scan's id. */
  scanId: string;
  log?: Logger;
  now?: () => Date;
  /** Lower-case peering id -> its creator, from Event Grid; kept on the finding and shown on the card. */
  creators?: ReadonlyMap<string, Creator>;
  /**
   * Send only the pending alerts of the findings this check read or wrote, without reading the
   * table for every pending one: an event, of which a burst brings many at once. The change
   * poller (once a minute) also sends what an earlier run left pending anywhere.
   */
  ownAlertsOnly?: boolean;
  /**
   * Subscription id (lower-case) -> tenant id, from ARM's subscription list when the caller read it
   * (a poll past Resource Graph's cut-off): remotes it lists are classified from it, as the full
   * scan does, and only the others (foreign or unknown) are looked up. Read, not copied.
   */
  knownTenants?: Map<string, string>;
}

export interface VnetCheckResult {
  /** VNets re-read from ARM (gone ones included: their peerings are gone too). */
  checked: string[];
  /** VNets that could not be read, or whose remote tenants could not be looked up: none of their findings was touched. */
  failed: { vnetId: string; message: string }[];
  findings: PeeringFinding[];
  delta: Delta;
}

/**
 * Re-checks some VNets against ARM and reconciles only their findings: a peering gone from a
 * re-checked VNet is resolved, nothing else is touched. Alerts go through the findings' outbox
 * and onto the queue, as a full scan's do.
 */
export async function checkVnets(
  vnetIds: readonly string[],
  options: VnetCheckOptions,
): Promise<VnetCheckResult> {
  const { connection, config, storage } = options;
  const log = options.log ?? silentLogger;
  const now = (options.now ?? (() => new Date()))();
  const unique = [...new Map(vnetIds.map((id) => [idKey(id), id] as const)).values()];
  const tenants = tenantResolverFor(
    connection,
    config,
    log,
    new TableTenantCache(storage, config.TENANT_CACHE_TTL_HOURS * 3600_000),
    options.knownTenants,
  );
  const failed: VnetCheckResult["failed"] = [];
  let rows: PeeringRow[] = [];
  let checked: string[] = [];
  await mapLimit(unique, ARM_CONCURRENCY, async (vnetId) => {
    try {
      const read = await listVnetPeerings(connection, vnetId);
      if (read.exists && read.peerings.length > 0) {
        const subscriptionId = parseResourceId(vnetId)?.subscriptionId ?? "";
        const localTenant = await tenants.tenantOfSubscription(subscriptionId);
        if (!localTenant)
          throw new Error(`the tenant of subscription ${subscriptionId} could not be determined`);
        for (const p of read.peerings)
          rows.push(rowOfArmPeering(vnetId, localTenant, p, read.peerings.length));
      }
      checked.push(vnetId);
    } catch (error) {
      failed.push({ vnetId, message: errorMessage(error) });
    }
  });
  // A remote tenant that could not be looked up is not knowledge: storing its peering as
  // "unresolved" would turn a same-tenant peering into a violation. Its VNet is left untouched.
  const lookupFailed = new Map<string, string>();
  await mapLimit([...new Set(rows.map(remoteSubscriptionOf))], ARM_CONCURRENCY, async (subscriptionId) => {
    try {
      await tenants.tenantOfSubscription(subscriptionId);
    } catch (error) {
      lookupFailed.set(subscriptionId, errorMessage(error));
    }
  });
  const unjudged = new Set<string>();
  for (const row of rows) {
    const message = lookupFailed.get(remoteSubscriptionOf(row));
    if (message === undefined || unjudged.has(row.vnetId)) continue;
    unjudged.add(row.vnetId);
    failed.push({
      vnetId: row.vnetId,
      message: `the tenant of a remote network could not be looked up: ${message}`,
    });
  }
  checked = checked.filter((id) => !unjudged.has(id));
  rows = rows.filter((row) => !unjudged.has(row.vnetId));
  for (const f of failed)
    log("warn", "vnet-check-failed", { ...f, next: "the next poll or scan reads it again" });

  const allowlist = await new AllowlistStore(storage).list();
  const classified = await classifyArmRows(rows, tenants, allowlist, config, now, log);
  const findings = classified.map((f) => {
    const creator = options.creators?.get(idKey(f.resourceId));
    return creator ? { ...f, createdBy: creator } : f;
  });
  const { delta, pending } = await new FindingsStore(storage).save(
    findings,
    {
      scanId: options.scanId,
      at: now.toISOString(),
      complete: true,
      vnets: new Set(checked.map((id) => idKey(id))),
    },
    { pending: options.ownAlertsOnly },
  );
  await flushAlerts(storage, config, log, undefined, options.ownAlertsOnly ? pending : undefined);
  log("info", "vnets-checked", {
    scanId: options.scanId,
    vnets: checked.length,
    failed: failed.length,
    findings: findings.length,
    ...Object.fromEntries(Object.entries(delta).map(([k, v]) => [k, v.length])),
  });
  return { checked, failed, findings, delta };
}
