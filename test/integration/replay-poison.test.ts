import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { dispatchAlert } from "../../src/alerts/dispatch";
import { ALERTS_QUEUE, encodeQueueMessage, POISON_QUEUE } from "../../src/alerts/emit";
import type { AlertMessage } from "../../src/findings/alert-message";
import { replayPoison } from "../../src/alerts/replay";
import { loadConfig } from "../../src/config";
import { drainQueue } from "../../src/sandbox/queue-host";
import { startWebhookSink, type RunningSink } from "../../src/sandbox/webhook-sink";
import { testStorage, type TestStorage } from "../helpers/azurite";

const MESSAGES = 1000;

const alert = (n: number): AlertMessage => ({
  schemaVersion: 1,
  kind: "scan-failed",
  idempotencyKey: `scan-failed:never-${n}`,
  scanId: `never-${n}`,
  createdAt: "2026-11-29T10:00:00.000Z",
  severity: "high",
  title: `Scan never-${n} failed: test`,
});

let state: TestStorage;
let sink: RunningSink;

beforeAll(async () => {
  state = await testStorage();
  // A receiver that refuses every alert for good (400): each one goes straight back to alerts-poison.
  sink = await startWebhookSink(() => ({ status: 400 }));
});
afterAll(async () => {
  await sink.close();
  await state.stop();
});

describe("alerts replay-poison with a dispatcher running", () => {
  it("moves no more than --max and says how many it left", async () => {
    const poison = await state.storage.queue(POISON_QUEUE);
    const alerts = await state.storage.queue(ALERTS_QUEUE);
    for (let n = 0; n < 20; n++) await poison.sendMessage(encodeQueueMessage(alert(n)));
    const result = await replayPoison(state.storage, { max: 10 });
    expect(result).toMatchObject({ found: 20, moved: 10, failedAgain: 0, notLookedAt: 10, invalid: [] });
    expect((await alerts.getProperties()).approximateMessagesCount).toBe(10);
    await poison.clearMessages();
    await alerts.clearMessages();
  });

  it("ends with 1,000 never-deliverable messages, having moved each at most once", async () => {
    const poison = await state.storage.queue(POISON_QUEUE);
    const alerts = await state.storage.queue(ALERTS_QUEUE);
    for (let start = 0; start < MESSAGES; start += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => poison.sendMessage(encodeQueueMessage(alert(start + i)))),
      );
    }
    await poison.sendMessage(Buffer.from("not an alert").toString("base64"));

    const config = loadConfig({
      WEBHOOK_URL: `${sink.url}/webhook`,
      ALERT_ALLOWED_HOSTS: "127.0.0.1",
      ALERT_ALLOW_PRIVATE_ADDRESSES: "true",
      ALERT_DELIVERY_ATTEMPTS: "1",
    });
    const deps = { storage: state.storage, config, log: () => {}, agent: sink.agent };
    let running = true;
    const dispatcher = (async () => {
      while (running) {
        await drainQueue(alerts, poison, (message) => dispatchAlert(message, deps), {
          maxDequeueCount: 5,
          visibilityTimeoutSeconds: 0,
          timeoutMs: 60_000,
        });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    const result = await replayPoison(state.storage);
    // Let the dispatcher post what was moved last, then stop it.
    while ((await alerts.getProperties()).approximateMessagesCount)
      await new Promise((r) => setTimeout(r, 100));
    running = false;
    await dispatcher;

    expect(result.found).toBe(MESSAGES + 1);
    expect(result.moved).toBe(MESSAGES);
    expect(result.invalid).toEqual([{ messageId: expect.any(String), reason: "not base64 JSON" }]);
    expect(result.moved + result.invalid.length + result.notLookedAt).toBe(result.found);
    // What the receiver saw: each alert once, however many times the dispatcher poisoned it again.
    const keys = sink.received.map((post) => String(post.headers["x-idempotency-key"]));
    expect(keys).toHaveLength(MESSAGES);
    expect(new Set(keys).size).toBe(MESSAGES);
    // Everything is back in alerts-poison for the next run, nothing lost.
    expect((await poison.getProperties()).approximateMessagesCount).toBe(MESSAGES + 1);
  }, 120_000);
});
