import { z } from "zod";
import type { ScanScope } from "../azure/resource-graph";
import { errorMessage, InputError } from "../errors";
import { silentLogger, type Logger } from "../log";
import { LEASE_MS, ScanLease } from "../store/scan-lease";
import { ScanRunsStore, type PendingRun } from "../store/scan-runs";
import { describeIssues } from "../validation";
import { idKey } from "../azure/resource-id";
import { ScheduledScanOwed } from "../store/scheduled-scan-owed";
import { reportAbandoned } from "./leased-scan";
import { dryScan, runRecordedScan, type RecordedScanOptions } from "./record-scan";
import { newScanId } from "./run-scan";

/** Scans asked for through the API wait here for the queue-triggered function. */
export const SCAN_REQUESTS_QUEUE = "scan-requests";

/** How long a request waits before it looks again for a scan that holds the lease. */
const DEFER_SECONDS = 60;

const scopeSchema = z.strictObject({
  managementGroups: z.array(z.string().min(1).max(90)).max(100),
  subscriptions: z.array(z.string().min(1).max(64)).max(1000),
});

/** Scan request message v1, on the `scan-requests` queue. */
export const scanRequestSchema = z.strictObject({
  schemaVersion: z.literal(1),
  scanId: z.string().regex(/^[\w.-]{1,80}$/),
  requestedAt: z.iso.datetime(),
  scope: scopeSchema,
  dryRun: z.boolean(),
});
export type ScanRequest = z.infer<typeof scanRequestSchema>;

/** The Functions queue trigger reads message text as base64. */
export const encodeScanRequest = (request: ScanRequest) =>
  Buffer.from(JSON.stringify(request)).toString("base64");

export function parseScanRequest(message: unknown): ScanRequest {
  const parsed = scanRequestSchema.safeParse(message);
  if (!parsed.success) {
    throw new InputError(
      `The scan request message is not valid (${describeIssues(parsed.error).join("; ")}); it is left for the poison queue.`,
    );
  }
  return parsed.data;
}

/**
 * A waiting scan of `waiting` scope also answers a request for `asked`: the whole estate covers
 * everything; otherwise every management group and subscription asked for is among its own (a
 * subscription inside an asked management group is not known here, so that is not folded).
 */
export function coversScope(waiting: ScanScope, asked: ScanScope): boolean {
  const whole = (s: ScanScope) => s.managementGroups.length === 0 && s.subscriptions.length === 0;
  if (whole(waiting)) return true;
  if (whole(asked)) return false;
  const within = (mine: string[], theirs: string[]) => {
    const have = new Set(mine.map(idKey));
    return theirs.every((id) => have.has(idKey(id)));
  };
  return (
    within(waiting.managementGroups, asked.managementGroups) &&
    within(waiting.subscriptions, asked.subscriptions)
  );
}

/** Too many scans are waiting: the caller should ask again later (HTTP 429 with Retry-After). */
export class ScanQueueFullError extends Error {
  override name = "ScanQueueFullError";
  constructor(
    readonly waiting: number,
    readonly retryAfterSeconds: number,
  ) {
    super(
      `${waiting} requested scans are already waiting, the most SCAN_REQUESTS_MAX_WAITING allows; ask again later or widen a waiting scan's scope.`,
    );
  }
}

type Deps = Pick<RecordedScanOptions, "storage" | "config" | "connection" | "log">;

/**
 * Records a queued scan run and puts its request on the queue. A scan already queued or running
 * whose scope covers the one asked for (and with the same dry-run choice) is answered instead of
 * queuing another; past SCAN_REQUESTS_MAX_WAITING waiting scans, ScanQueueFullError.
 */
export async function requestScan(
  deps: Deps,
  ask: { scope: ScanScope; dryRun: boolean },
  now = new Date(),
): Promise<{ run: PendingRun; existing: boolean }> {
  const runs = new ScanRunsStore(deps.storage);
  const horizon = now.getTime() - 2 * LEASE_MS;
  const live = (await runs.recent(50)).filter(
    (r): r is PendingRun =>
      (r.status === "queued" || r.status === "running") && Date.parse(r.requestedAt) > horizon,
  );
  const pending = live.find((r) => r.dryRun === ask.dryRun && coversScope(r.scope, ask.scope));
  if (pending) return { run: pending, existing: true };
  const waiting = live.filter((r) => r.status === "queued").length;
  if (waiting >= deps.config.SCAN_REQUESTS_MAX_WAITING) throw new ScanQueueFullError(waiting, DEFER_SECONDS);

  const request: ScanRequest = {
    schemaVersion: 1,
    scanId: newScanId(now),
    requestedAt: now.toISOString(),
    scope: ask.scope,
    dryRun: ask.dryRun,
  };
  const run = {
    scanId: request.scanId,
    trigger: "http" as const,
    scope: ask.scope,
    requestedAt: request.requestedAt,
    dryRun: ask.dryRun,
  };
  // The record first: a request on the queue always has a run to report on.
  await runs.queued(run);
  await (await deps.storage.queue(SCAN_REQUESTS_QUEUE)).sendMessage(encodeScanRequest(request));
  return { run: { ...run, status: "queued" }, existing: false };
}

/**
 * A timer scan that found the lease held by requested scans is owed: the requested scan holding
 * the lease runs it when it is done, and the next one to take the lease first (should it come
 * before), under the same lease, so requests can never starve the schedule. Its failure is recorded as any scan's and does not stop the request.
 */
async function runOwedScheduledScan(options: RunRequestOptions, now: () => Date, log: Logger): Promise<void> {
  const owed = new ScheduledScanOwed(options.storage);
  const since = await owed.since();
  if (!since) return;
  log("info", "scheduled-scan-owed", { since });
  try {
    await runRecordedScan({ ...options, trigger: "timer", scanId: newScanId(now()), now });
  } catch (error) {
    log("error", "scan-failed", { trigger: "timer", error: errorMessage(error) });
  }
  await owed.clear();
}

export type RequestOutcome = "finished" | "failed" | "deferred" | "done-before";

export interface RunRequestOptions extends Deps {
  /** Clock of the lease and the scan; tests move it. */
  now?: () => Date;
  atStage?: RecordedScanOptions["atStage"];
}

/**
 * Runs one queued scan under the scan lease. While another scan holds the lease (or a crashed
 * attempt of this one, until its lease runs out) the request goes back on the queue, hidden for
 * a while, and this message completes. A message of a scan already finished is a retry: done.
 */
export async function runRequestedScan(
  message: unknown,
  options: RunRequestOptions,
): Promise<RequestOutcome> {
  const request = parseScanRequest(message);
  const log = options.log ?? silentLogger;
  const now = options.now ?? (() => new Date());
  const runs = new ScanRunsStore(options.storage);
  const before = await runs.get(request.scanId);
  if (before?.status === "finished" || before?.status === "failed") return "done-before";

  const lease = await new ScanLease(options.storage, () => now().getTime()).acquire(request.scanId, "http");
  if (!lease.acquired) {
    const untilExpiry = Math.ceil((Date.parse(lease.holder.expiresAt) - now().getTime()) / 1000);
    const hidden = Math.max(1, Math.min(DEFER_SECONDS, untilExpiry));
    await (
      await options.storage.queue(SCAN_REQUESTS_QUEUE)
    ).sendMessage(encodeScanRequest(request), {
      visibilityTimeout: hidden,
    });
    log("info", "scan-deferred", {
      scanId: request.scanId,
      runningScanId: lease.holder.scanId,
      retryInSeconds: hidden,
    });
    return "deferred";
  }
  try {
    if (lease.takenOver?.scanId !== request.scanId) {
      await reportAbandoned(options.storage, lease.takenOver, now(), log);
    }
    await runOwedScheduledScan(options, now, log);
    if (!before) {
      // The queued record was lost (or the message came from elsewhere): record it now.
      await runs.queued({
        scanId: request.scanId,
        trigger: "http",
        scope: request.scope,
        requestedAt: request.requestedAt,
        dryRun: request.dryRun,
      });
    }
    await runs.update(request.scanId, request.requestedAt, {
      status: "running",
      startedAt: now().toISOString(),
    });
    const config = {
      ...options.config,
      SCAN_MANAGEMENT_GROUPS: request.scope.managementGroups,
      SCAN_SUBSCRIPTIONS: request.scope.subscriptions,
    };
    const scan = {
      ...options,
      config,
      trigger: "http" as const,
      scanId: request.scanId,
      requestedAt: request.requestedAt,
      now,
    };
    if (request.dryRun) await dryScan(scan);
    else await runRecordedScan(scan);
    return "finished";
  } catch (error) {
    log("error", "scan-failed", { scanId: request.scanId, error: errorMessage(error) });
    await runs.update(request.scanId, request.requestedAt, {
      status: "failed",
      failure: errorMessage(error),
    });
    return "failed";
  } finally {
    // A timer scan that came while this one ran is owed: it runs now, under the same lease, rather
    // than wait for another request or the next interval.
    await runOwedScheduledScan(options, now, log).catch((error: unknown) =>
      log("error", "scan-failed", { trigger: "timer", error: errorMessage(error) }),
    );
    // A lease that cannot be released (storage gone) runs out by itself; the scan's outcome stands.
    await lease
      .release()
      .catch((error: unknown) => log("warn", "lease-not-released", { error: errorMessage(error) }));
  }
}
