import type { QueueClient } from "@azure/storage-queue";

/** How long a received message stays hidden while its handler runs. */
const RECEIVE_LEASE_SECONDS = 60;

export interface DrainOptions {
  /** As host.json's extensions.queues.maxDequeueCount: after this many failed tries, to poison. */
  maxDequeueCount: number;
  /**
   * How long a failed message stays invisible before it is tried again (host.json's
   * `extensions.queues.visibilityTimeout`; 0, the host's default, offers it again at once).
   */
  visibilityTimeoutSeconds: number;
  /** Stops waiting for retried messages after this long. */
  timeoutMs: number;
}

export interface DrainResult {
  handled: number;
  failures: number;
  poisoned: number;
}

/**
 * Runs a queue-triggered handler the way the Functions host does, for the demo and tests:
 * decodes each message's base64 text (and JSON), calls the handler, deletes the message when the
 * handler returns, leaves it for a retry when it throws, and moves it to the poison queue once
 * it has been tried `maxDequeueCount` times. Returns when the queue is empty.
 */
export async function drainQueue(
  queue: QueueClient,
  poison: QueueClient,
  handler: (message: unknown) => Promise<unknown>,
  options: DrainOptions,
): Promise<DrainResult> {
  const result: DrainResult = { handled: 0, failures: 0, poisoned: 0 };
  const deadline = Date.now() + options.timeoutMs;
  await poison.createIfNotExists();
  while (Date.now() < deadline) {
    // Taken for longer than a handler runs; a failure sets the retry delay itself, as the host
    // does (it updates the message's visibility to visibilityTimeout when a function fails).
    const { receivedMessageItems: messages } = await queue.receiveMessages({
      numberOfMessages: 32,
      visibilityTimeout: RECEIVE_LEASE_SECONDS,
    });
    if (messages.length === 0) {
      const { approximateMessagesCount } = await queue.getProperties();
      if (!approximateMessagesCount) return result;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(200, 50 + options.visibilityTimeoutSeconds * 1000)),
      );
      continue;
    }
    for (const message of messages) {
      const text = Buffer.from(message.messageText, "base64").toString("utf8");
      let payload: unknown = text;
      try {
        payload = JSON.parse(text);
      } catch {
        // The host passes text that is not JSON as a string.
      }
      try {
        await handler(payload);
        result.handled += 1;
        await queue.deleteMessage(message.messageId, message.popReceipt);
      } catch {
        result.failures += 1;
        if (message.dequeueCount >= options.maxDequeueCount) {
          await poison.sendMessage(message.messageText);
          await queue.deleteMessage(message.messageId, message.popReceipt);
          result.poisoned += 1;
        } else {
          await queue.updateMessage(
            message.messageId,
            message.popReceipt,
            undefined,
            options.visibilityTimeoutSeconds,
          );
        }
      }
    }
  }
  throw new Error(`The queue ${queue.name} was not empty after ${options.timeoutMs} ms.`);
}
