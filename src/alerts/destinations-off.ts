import { keyVaultRefreshCall, type DestinationName, type UnresolvedSecret } from "../config";
import type { Logger } from "../log";
import type { Storage } from "../store/storage";
import { ALERTS_QUEUE, encodeQueueMessage } from "./emit";
import type { AlertMessage } from "../findings/alert-message";

const LABEL: Record<DestinationName, string> = { teams: "Teams", webhook: "the generic webhook" };

/** What to do about it: the documented refresh, not a restart (see README, "Unresolved Key Vault references"). */
const KEY_VAULT_REFRESH_HINT = `once the identity can read the secret, refresh the references: ${keyVaultRefreshCall("$APP_ID")}`;

/** One sentence per destination that is off, naming its settings (never their values). */
export function destinationsOffText(unresolved: readonly UnresolvedSecret[]): string {
  const byDestination = new Map<DestinationName, string[]>();
  for (const u of unresolved)
    byDestination.set(u.destination, [...(byDestination.get(u.destination) ?? []), u.setting]);
  return [...byDestination]
    .map(
      ([destination, settings]) =>
        `Alerts to ${LABEL[destination]} are off: the Key Vault reference of ${settings.join(" and ")} was not resolved.`,
    )
    .join(" ");
}

/**
 * The `scan-degraded` alert that tells the destinations still working that others are off. Its key
 * holds the day and the destinations, so each destination that still works receives it once a day
 * (the dispatcher delivers a key once per destination) however often the timer runs.
 */
export function destinationsOffAlert(
  unresolved: readonly UnresolvedSecret[],
  scanId: string,
  at: Date,
): AlertMessage {
  const destinations = [...new Set(unresolved.map((u) => u.destination))].sort();
  return {
    schemaVersion: 1,
    kind: "scan-degraded",
    idempotencyKey: `scan-degraded:alerts-off:${destinations.join("+")}:${at.toISOString().slice(0, 10)}`,
    scanId,
    createdAt: at.toISOString(),
    severity: "high",
    title: destinationsOffText(unresolved),
    scan: {
      complete: true,
      errors: unresolved.map((u) => ({
        source: "key-vault-reference",
        message: `${u.setting} was not resolved: alerts to ${LABEL[u.destination]} are off; ${KEY_VAULT_REFRESH_HINT}`,
      })),
    },
  };
}

/**
 * Says loudly that destinations are off: an error in the log, and the `scan-degraded` alert on the
 * queue for the destinations that still work. Nothing when every secret resolved.
 */
export async function reportDestinationsOff(
  deps: { storage: Storage; log: Logger },
  unresolved: readonly UnresolvedSecret[],
  scanId: string,
  at: Date = new Date(),
): Promise<void> {
  if (unresolved.length === 0) return;
  deps.log("error", "key-vault-reference-unresolved", {
    settings: unresolved.map((u) => u.setting),
    destinationsOff: [...new Set(unresolved.map((u) => u.destination))],
    fix: KEY_VAULT_REFRESH_HINT,
  });
  const queue = await deps.storage.queue(ALERTS_QUEUE);
  await queue.sendMessage(encodeQueueMessage(destinationsOffAlert(unresolved, scanId, at)));
}
