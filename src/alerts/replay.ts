import type { Storage } from "../store/storage";
import { cleanText } from "../text";
import { ALERTS_QUEUE, POISON_QUEUE } from "./emit";
import { alertMessageSchema } from "../findings/alert-message";

export interface ReplayOptions {
  /** Move at most this many messages. */
  max?: number;
  /**
   * How long a message looked at but left in alerts-poison stays invisible: long enough that this
   * run does not meet it again.
   */
  hideSeconds?: number;
}

export interface ReplayResult {
  /** Messages in alerts-poison when the run started (the queue's approximate count). */
  found: number;
  moved: number;
  /** Not alert messages v1: left in alerts-poison, with why, so someone can look. */
  invalid: { messageId: string; reason: string }[];
  /** Alerts this run had already moved that failed again meanwhile: left in alerts-poison. */
  failedAgain: number;
  /** Not looked at: over `max`, or beyond what was there at the start. */
  notLookedAt: number;
}

/** What the Functions host and the dispatcher put on alerts-poison: base64 of the JSON text. */
function alertKeyOf(messageText: string): { key: string } | { reason: string } {
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(messageText, "base64").toString("utf8"));
  } catch {
    return { reason: "not base64 JSON" };
  }
  const parsed = alertMessageSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      reason: cleanText(`not an alert message v1 (${issue?.path.join(".") || "$"}: ${issue?.message})`, 200),
    };
  }
  return { key: parsed.data.idempotencyKey };
}

/**
 * Moves the messages that were in alerts-poison when it started back to alerts, once the cause
 * is fixed, each at most once: a running dispatcher may poison a replayed alert again, and that
 * copy is left where it is (the run stops after as many messages as it found, and recognises the
 * copy by its idempotency key). Messages that are not alert messages are reported, never
 * replayed. Destinations that already received an alert skip it, so a replay posts only what is
 * missing.
 */
export async function replayPoison(storage: Storage, options: ReplayOptions = {}): Promise<ReplayResult> {
  const poison = await storage.queue(POISON_QUEUE);
  const alerts = await storage.queue(ALERTS_QUEUE);
  const found = (await poison.getProperties()).approximateMessagesCount ?? 0;
  const budget = Math.min(found, options.max ?? Number.POSITIVE_INFINITY);
  const result: ReplayResult = { found, moved: 0, invalid: [], failedAgain: 0, notLookedAt: 0 };
  const moved = new Set<string>();
  let handled = 0;
  // Every message received is either handled (counts against the budget) or a copy of one moved
  // in this run; copies are bounded by what was moved, so the loop ends whatever a dispatcher does.
  while (handled < budget) {
    const { receivedMessageItems: messages } = await poison.receiveMessages({
      numberOfMessages: Math.min(32, budget - handled),
      visibilityTimeout: options.hideSeconds ?? 300,
    });
    if (messages.length === 0) break;
    for (const message of messages) {
      const alert = alertKeyOf(message.messageText);
      if ("key" in alert && moved.has(alert.key)) {
        result.failedAgain += 1;
        continue;
      }
      if (handled >= budget) continue; // stays hidden until the next run
      handled += 1;
      if ("reason" in alert) {
        result.invalid.push({ messageId: message.messageId, reason: alert.reason });
        continue;
      }
      moved.add(alert.key);
      await alerts.sendMessage(message.messageText);
      await poison.deleteMessage(message.messageId, message.popReceipt);
      result.moved += 1;
    }
  }
  result.notLookedAt = Math.max(0, found - handled);
  return result;
}
