import { z } from "zod";
import type { ScanScope } from "../azure/resource-graph";
import { errorMessage, InputError } from "../errors";
import { silentLogger } from "../log";
import { LEASE_MS, ScanLease } from "../store/scan-lease";
import { ScanRunsStore, type PendingRun } from "../store/scan-runs";
import { describeIssues } from "../validation";
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

const sameScope = (a: ScanScope, b: ScanScope) => {
  const key = (s: ScanScope) =>
    JSON.stringify([
      s.managementGroups.map((g) => g.toLowerCase()).sort(),
      s.subscriptions.map((x) => x.toLowerCase()).sort(),
    ]);
  return key(a) === key(b);
};

type Deps = Pick<RecordedScanOptions, "storage" | "config" | "connection" | "log">;

/**
 * Records a queued scan run and puts its request on the queue. A scan already queued or running
 * for the same scope (and dry-run choice) is answered instead of queuing another.
 */
export async function requestScan(
  deps: Deps,
  ask: { scope: ScanScope; dryRun: boolean },
  now = new Date(),
): Promise<{ run: PendingRun; existing: boolean }> {
  const runs = new ScanRunsStore(deps.storage);
  const horizon = now.getTime() - 2 * LEASE_MS;
  const pending = (await runs.recent(50)).find(
    (r): r is PendingRun =>
      (r.status === "queued" || r.status === "running") &&
      Date.parse(r.requestedAt) > horizon &&
      r.dryRun === ask.dryRun &&
      sameScope(r.scope, ask.scope),
  );
  if (pending) return { run: pending, existing: true };

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
    // A lease that cannot be released (storage gone) runs out by itself; the scan's outcome stands.
    await lease
      .release()
      .catch((error: unknown) => log("warn", "lease-not-released", { error: errorMessage(error) }));
  }
}
