import type { Storage } from "../store/storage";
import { ALERTS_QUEUE, POISON_QUEUE } from "./emit";

/**
 * Moves every message from alerts-poison back to alerts, once the cause is fixed. Destinations
 * that already received an alert skip it, so a replay posts only what is missing.
 */
export async function replayPoison(storage: Storage): Promise<number> {
  const poison = await storage.queue(POISON_QUEUE);
  const alerts = await storage.queue(ALERTS_QUEUE);
  let moved = 0;
  for (;;) {
    const { receivedMessageItems: messages } = await poison.receiveMessages({
      numberOfMessages: 32,
      visibilityTimeout: 60,
    });
    if (messages.length === 0) return moved;
    for (const message of messages) {
      await alerts.sendMessage(message.messageText);
      await poison.deleteMessage(message.messageId, message.popReceipt);
      moved += 1;
    }
  }
}
