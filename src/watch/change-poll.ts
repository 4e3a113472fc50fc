import { idKey } from "../azure/resource-id";
import { z } from "zod";
import { vnetIdOf } from "../azure/arm-network";
import type { AzureConnection } from "../azure/connection";
import { createResourceGraphClient, resourceGraphQuery } from "../azure/resource-graph";
import type { Config } from "../config";
import { errorMessage } from "../errors";
import { silentLogger, withFields, type Logger } from "../log";
import { ChangeWatermarkStore } from "../store/change-watermark";
import { ScanLease, type LeaseKind } from "../store/scan-lease";
import type { Storage } from "../store/storage";
import { cleanDeep } from "../text";
import { newScanId, scopeOf, subscriptionLister } from "../scan/run-scan";
import { checkVnets, type VnetCheckResult } from "./vnet-check";

/** A poll runs for seconds; a lease that outlives a crashed poll by minutes would stall the next ones. */
export const CHANGE_POLL_LEASE: LeaseKind = { rowKey: "peering-changes", durationMs: 5 * 60_000 };

/**
 * How long a poll trusts an earlier poll's finding that the scope is past Resource Graph's
 * 10,000-subscription cut-off, and goes to subscription groups without meeting it again. After
 * it, one poll asks over the whole scope again, so an estate that shrank under the cut-off goes
 * back to one request.
 */
export const CUT_OFF_RECHECK_MS = 24 * 3600_000;

/**
 * Changes to VNets (a peering lives inside its VNet, so its write is an Update of the VNet) and to
 * peerings themselves, since `since`. The documented resourcechanges shape: properties.changeType,
 * targetResourceId, targetResourceType, changeAttributes.timestamp (resource-graph/how-to/get-resource-changes.md).
 * The type filter runs inside Resource Graph, so the cost follows the changes, not the estate.
 */
export function peeringChangesQuery(since: string): string {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(since))
    throw new Error(`'${since}' is not an ISO 8601 UTC time: the change query takes only that.`);
  return `resourcechanges
| extend targetResourceType = tostring(properties.targetResourceType)
| where targetResourceType in~ ('microsoft.network/virtualnetworks', 'microsoft.network/virtualnetworks/virtualnetworkpeerings')
| extend changeTime = todatetime(tostring(properties.changeAttributes.timestamp))
| where changeTime > todatetime('${since}')
| project id, targetResourceId = tostring(properties.targetResourceId),
    changeType = tostring(properties.changeType),
    timestamp = tostring(properties.changeAttributes.timestamp)
| order by id asc`;
}

export const changeRowSchema = z.object({
  id: z.string(),
  targetResourceId: z.string(),
  changeType: z.string(),
  timestamp: z.string(),
});

export interface ChangePollOptions {
  connection: AzureConnection;
  config: Config;
  storage: Storage;
  log?: Logger;
  now?: () => Date;
}

export type ChangePollResult =
  | { ran: false; reason: string }
  | {
      ran: true;
      pollId: string;
      /** The window read: changes after `from`, up to `to` (the new watermark when handled). */
      from: string;
      to: string;
      changes: number;
      check: VnetCheckResult | null;
      /** Whether the watermark moved on to `to`. */
      advanced: boolean;
    };

/**
 * One poll of Resource Graph's change feed: the VNets changed since the watermark (less a small
 * overlap, for records that arrive late) are re-read from ARM and only their findings reconciled.
 * The watermark moves on only once every changed VNet was read; a feed that cannot be read is
 * logged once, and the scheduled full scan still covers everything.
 */
export async function pollPeeringChanges(options: ChangePollOptions): Promise<ChangePollResult> {
  const { connection, config, storage } = options;
  const now = options.now ?? (() => new Date());
  const pollId = `changes-${newScanId(now())}`;
  const log = withFields(options.log ?? silentLogger, { scanId: pollId });
  const lease = await new ScanLease(storage, () => now().getTime(), "locks", CHANGE_POLL_LEASE).acquire(
    pollId,
    "change-poll",
  );
  if (!lease.acquired) {
    log("info", "change-poll-skipped", { reason: "another poll is running", running: lease.holder.scanId });
    return { ran: false, reason: `poll ${lease.holder.scanId} is running` };
  }
  try {
    const watermarks = new ChangeWatermarkStore(storage);
    const mark = await watermarks.get();
    const to = now();
    const overlapMs = config.CHANGE_POLL_OVERLAP_SECONDS * 1000;
    const start = mark.watermark ? Date.parse(mark.watermark) : to.getTime();
    const from = new Date(start - overlapMs).toISOString();

    // Past Resource Graph's cut-off the poll lists subscriptions through ARM, as the scan does, and
    // keeps their tenants (streamed into this one map, subscription -> tenant): a changed hub's
    // spokes in other groups are then classified without a lookup each. Under it, nothing is listed.
    // A cut-off an earlier poll met lately is not met again: the poll goes to the groups at once.
    const known = new Map<string, string>();
    const listAll = subscriptionLister(connection, { tenants: known });
    let listed = false;
    // A time ahead of the clock (skew) is no hint: it would hold until long after a day.
    const seenAgo = to.getTime() - Date.parse(mark.cutOffSeenAt);
    const pastCutOff = mark.cutOffSeenAt !== "" && seenAgo >= 0 && seenAgo < CUT_OFF_RECHECK_MS;
    const { queryAll } = resourceGraphQuery(createResourceGraphClient(connection), scopeOf(config), {
      pageSize: config.RESOURCE_GRAPH_PAGE_SIZE,
      subscriptionGroupSize: config.SUBSCRIPTION_GROUP_SIZE,
      listSubscriptions: () => {
        listed = true;
        return listAll();
      },
      pastCutOff,
    });
    let rows: z.infer<typeof changeRowSchema>[];
    try {
      const read = await queryAll("peering changes", peeringChangesQuery(from), changeRowSchema);
      rows = cleanDeep(read.rows);
      for (const bad of read.unreadable) log("warn", "change-row-unreadable", { ...bad });
    } catch (error) {
      if (!mark.unavailableSince) {
        log("warn", "change-feed-unavailable", {
          reason: errorMessage(error),
          next: "the scheduled scan still covers everything; give the identity Reader on the scope to read resourcechanges",
        });
        await watermarks.set({ ...mark, unavailableSince: to.toISOString() });
      }
      return { ran: true, pollId, from, to: to.toISOString(), changes: 0, check: null, advanced: false };
    }
    if (mark.unavailableSince) log("info", "change-feed-available", { since: mark.unavailableSince });

    const vnets = [
      ...new Map(
        rows
          .map((r) => vnetIdOf(r.targetResourceId))
          .filter((id): id is string => id !== null)
          .map((id) => [idKey(id), id] as const),
      ).values(),
    ];
    const check =
      vnets.length > 0
        ? await checkVnets(vnets, {
            connection,
            config,
            storage,
            scanId: pollId,
            log,
            now,
            knownTenants: known,
          })
        : null;
    const advanced = !check || check.failed.length === 0;
    await watermarks.set({
      watermark: advanced ? to.toISOString() : mark.watermark,
      unavailableSince: "",
      cutOffSeenAt: pastCutOff ? mark.cutOffSeenAt : listed ? to.toISOString() : "",
    });
    log("info", "change-poll-finished", {
      from,
      to: to.toISOString(),
      changes: rows.length,
      vnets: vnets.length,
      advanced,
      listedThroughArm: listed,
    });
    return { ran: true, pollId, from, to: to.toISOString(), changes: rows.length, check, advanced };
  } finally {
    await lease
      .release()
      .catch((error: unknown) => log("warn", "lease-not-released", { error: errorMessage(error) }));
  }
}
