import { createHash } from "node:crypto";
import type { AllowlistEntry } from "../allowlist/entry";
import { isExpired } from "../allowlist/match";
import { matchKeyOf } from "../allowlist/entry";
import type { Config } from "../config";
import type { Logger } from "../log";
import type { SubscriptionRecord } from "../findings/coverage";
import type { StoredFinding } from "../findings/reconcile";
import type { ScanReport } from "../findings/report";
import { AlertOutbox } from "../store/alert-outbox";
import { FindingsStore } from "../store/findings-store";
import type { Storage } from "../store/storage";
import { bySeverity, type AlertKind, type AlertMessage } from "../findings/alert-message";

export const ALERTS_QUEUE = "alerts";
export const POISON_QUEUE = "alerts-poison";
/** Digest items carried in one message; the rest are counted (a queue message holds 64 KiB). */
export const DIGEST_ITEMS = 50;

const DAY_MS = 24 * 3600_000;

/** The Functions queue trigger reads message text as base64. */
export const encodeQueueMessage = (alert: AlertMessage) =>
  Buffer.from(JSON.stringify(alert)).toString("base64");

/** Alerts about the scan itself: an incomplete scan, and allowlist entries about to expire. */
export function scanAlerts(
  report: ScanReport,
  allowlist: readonly AllowlistEntry[],
  config: Config,
): AlertMessage[] {
  const base = { schemaVersion: 1 as const, scanId: report.scanId, createdAt: report.finishedAt };
  const alerts: AlertMessage[] = [];
  if (!report.complete) {
    alerts.push({
      ...base,
      kind: "scan-incomplete",
      idempotencyKey: `scan-incomplete:${report.scanId}`,
      severity: "medium",
      title: `Scan ${report.scanId} could not read everything (${report.errors.length} error(s)); no finding was marked resolved.`,
      scan: { complete: false, errors: report.errors, stats: report.stats },
    });
  }
  const now = new Date(report.startedAt);
  const horizon = now.getTime() + config.EXCEPTION_EXPIRY_WARNING_DAYS * DAY_MS;
  for (const entry of allowlist) {
    if (!entry.expiresOn || isExpired(entry, now)) continue;
    const end = Date.parse(`${entry.expiresOn}T23:59:59.999Z`);
    if (end > horizon) continue;
    const key = matchKeyOf(entry);
    alerts.push({
      ...base,
      kind: "exception-expiring",
      // Not per scan: one warning per entry and expiry date, however often the scan runs.
      idempotencyKey: `exception-expiring:${entry.id}:${entry.expiresOn}`,
      severity: "low",
      title: `Allowlist entry '${entry.id}' (${entry.owner}) expires on ${entry.expiresOn}, in ${Math.ceil((end - now.getTime()) / DAY_MS)} day(s).`,
      entry: {
        id: entry.id,
        owner: entry.owner,
        reason: entry.reason,
        expiresOn: entry.expiresOn,
        matches: `${key}=${entry[key]}`,
        ...(entry.ticket ? { ticket: entry.ticket } : {}),
      },
    });
  }
  return alerts;
}

/**
 * One alert per subscription that went out of sight, keyed by the verification it lost so every
 * retry of the same loss is one alert, and a later loss (after it came back) is a new one.
 */
export function coverageLostAlerts(
  report: ScanReport,
  lost: readonly SubscriptionRecord[],
  unresolvedFindings: ReadonlyMap<string, number>,
): AlertMessage[] {
  return lost.map((record) => {
    const findings = unresolvedFindings.get(record.subscriptionId) ?? 0;
    const since = record.lastVerifiedAt ? ` (last verified ${record.lastVerifiedAt})` : "";
    return {
      schemaVersion: 1,
      kind: "coverage-lost",
      idempotencyKey: `coverage-lost:${record.subscriptionId}:${record.lastVerifiedScanId || "never"}`,
      scanId: report.scanId,
      createdAt: report.finishedAt,
      severity: "medium",
      title:
        `Subscription ${record.subscriptionId} is no longer visible to the scan${since}; ` +
        `its ${findings} unresolved finding(s) are kept as stale, not resolved. Check the scanner's Reader access and the management group.`,
      coverage: {
        subscriptionId: record.subscriptionId,
        lastVerified: record.lastVerifiedAt || null,
        lostSince: record.lostSince ?? report.finishedAt,
        findings,
        scope: report.coverage?.scope ?? { managementGroups: [], subscriptions: [] },
      },
    };
  });
}

export function scanFailedAlert(scanId: string, at: Date, message: string): AlertMessage {
  return {
    schemaVersion: 1,
    kind: "scan-failed",
    idempotencyKey: `scan-failed:${scanId}`,
    scanId,
    createdAt: at.toISOString(),
    severity: "high",
    title: `Scan ${scanId} failed: ${message}`,
    scan: { complete: false, errors: [{ source: "scan", message }] },
  };
}

/** One digest for a scan's many alerts, so a channel is not flooded. */
export function digestOf(scanId: string, alerts: readonly AlertMessage[]): AlertMessage {
  const sorted = [...alerts].sort(bySeverity);
  const counts: Partial<Record<AlertKind, number>> = {};
  for (const a of alerts) counts[a.kind] = (counts[a.kind] ?? 0) + 1;
  // The same set of alerts always makes the same digest key, so a re-sent digest is dropped.
  const keys = createHash("sha256")
    .update(
      alerts
        .map((a) => a.idempotencyKey)
        .sort()
        .join("\n"),
    )
    .digest("hex")
    .slice(0, 16);
  return {
    schemaVersion: 1,
    kind: "digest",
    idempotencyKey: `digest:${scanId}:${keys}`,
    scanId,
    createdAt: sorted
      .map((a) => a.createdAt)
      .sort()
      .at(-1)!,
    severity: sorted[0]!.severity,
    title: `${alerts.length} alerts from scan ${scanId}.`,
    digest: {
      total: alerts.length,
      counts,
      items: sorted.slice(0, DIGEST_ITEMS).map((a) => ({
        kind: a.kind,
        severity: a.severity,
        text: a.title,
        ...(a.finding ? { resourceId: a.finding.resourceId } : {}),
      })),
    },
  };
}

/** What goes on the queue: each scan's alerts one by one, or as one digest from `threshold` on. */
export function queueMessages(alerts: readonly AlertMessage[], threshold: number): AlertMessage[] {
  const byScan = new Map<string, AlertMessage[]>();
  for (const a of alerts) {
    const list = byScan.get(a.scanId);
    if (list) list.push(a);
    else byScan.set(a.scanId, [a]);
  }
  return [...byScan].flatMap(([scanId, list]) =>
    list.length >= threshold ? [digestOf(scanId, list)] : list,
  );
}

/**
 * Puts every pending alert on the queue, then marks it sent. A crash in between sends it again
 * next time; the dispatcher recognises the copy by its idempotency key.
 */
export async function flushAlerts(
  storage: Storage,
  config: Config,
  log: Logger,
  /** Called once the messages are on the queue and before they are marked sent (a crash seam for tests). */
  afterEnqueue?: () => void | Promise<void>,
  /**
   * The findings whose pending alerts to send, when the caller knows them (a VNet re-check: those
   * it read or wrote); by default every finding that has some, read from the table.
   */
  only?: readonly StoredFinding[],
): Promise<number> {
  const findings = new FindingsStore(storage);
  const outbox = new AlertOutbox(storage);
  const pending = only ? [...only] : await findings.withPendingAlerts();
  const scanLevel = await outbox.list();
  const alerts = [...pending.flatMap((s) => s.pendingAlerts), ...scanLevel];
  if (alerts.length === 0) return 0;
  const queue = await storage.queue(ALERTS_QUEUE);
  const messages = queueMessages(alerts, config.ALERT_DIGEST_THRESHOLD);
  for (const message of messages) await queue.sendMessage(encodeQueueMessage(message));
  await afterEnqueue?.();
  await findings.clearPendingAlerts(pending);
  await outbox.remove(scanLevel);
  log("info", "alerts-enqueued", { alerts: alerts.length, messages: messages.length });
  return messages.length;
}
