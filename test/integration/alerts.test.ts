import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { InvocationContext } from "@azure/functions";
import { signature, SIGNATURE_HEADER, SIGNATURE_TIMESTAMP_HEADER } from "../../src/alerts/dispatch";
import { ALERTS_QUEUE, POISON_QUEUE } from "../../src/alerts/emit";
import { alertMessageSchema, type AlertMessage } from "../../src/findings/alert-message";
import { replayPoison } from "../../src/alerts/replay";
import { loadConfig, type Config } from "../../src/config";
import { alertDispatcher } from "../../src/functions/alert-dispatcher";
import { useRuntime } from "../../src/functions/runtime";
import { sandboxConnection } from "../../src/sandbox/connection";
import type { Estate } from "../../src/sandbox/estate";
import { startSandbox } from "../../src/sandbox/server";
import {
  startWebhookSink,
  type RunningSink,
  type SinkAnswer,
  type ReceivedPost,
} from "../../src/sandbox/webhook-sink";
import { runRecordedScan } from "../../src/scan/record-scan";
import type { ScanReport } from "../../src/findings/report";
import type { RunningAzurite } from "../../src/store/azurite";
import { FindingsStore } from "../../src/store/findings-store";
import type { Storage } from "../../src/store/storage";
import { crossTenantEstate } from "../helpers/estate-builder";
import { testStorage } from "../helpers/azurite";
import { deliverQueuedAlerts } from "../helpers/sandbox";

const estate = crossTenantEstate;
const SECRET = "webhook-secret";

describe("alerts from scan to webhook (Azurite queues, local webhook sink)", () => {
  let azurite: RunningAzurite;
  let storage: Storage;
  let sink: RunningSink;
  let answers: Record<string, (post: ReceivedPost, index: number) => SinkAnswer>;
  let config: Config;

  beforeEach(async () => {
    ({ azurite, storage } = await testStorage());
    answers = {};
    sink = await startWebhookSink((post, index) => answers[post.path]?.(post, index) ?? { status: 202 });
    config = loadConfig({
      AzureWebJobsStorage: azurite.connectionString,
      TEAMS_WEBHOOK_URL: `${sink.url}/teams`,
      WEBHOOK_URL: `${sink.url}/webhook`,
      WEBHOOK_SECRET: SECRET,
      ALERT_ALLOWED_HOSTS: "127.0.0.1",
      // The local sink listens on 127.0.0.1, which the send-time guard refuses otherwise.
      ALERT_ALLOW_PRIVATE_ADDRESSES: "true",
      AZURE_MAX_RETRIES: "1",
    });
  });
  afterEach(async () => {
    await sink.close();
    await azurite.stop();
  });

  async function scan(e: Estate, on: Storage = storage): Promise<ScanReport> {
    const sandbox = await startSandbox({ estate: e });
    try {
      return await runRecordedScan({
        connection: sandboxConnection(sandbox, e, config),
        config,
        storage: on,
        trigger: "timer",
        allowlist: [],
      });
    } finally {
      await sandbox.close();
    }
  }

  const drain = () => deliverQueuedAlerts(storage, config, sink.agent);

  const poisonCount = async () =>
    (await (await storage.queue(POISON_QUEUE)).getProperties()).approximateMessagesCount ?? 0;
  const alertOf = (post: ReceivedPost): AlertMessage => alertMessageSchema.parse(JSON.parse(post.body));

  it("posts a new violation exactly once to each destination, signed for the generic webhook", async () => {
    await scan(estate(1));
    await drain();
    expect(sink.delivered("/teams")).toHaveLength(1);
    const [webhook] = sink.delivered("/webhook");
    expect(alertOf(webhook!)).toMatchObject({
      kind: "violation-new",
      severity: "high",
      finding: { remoteTenantName: "Foreign Org" },
    });
    const timestamp = String(webhook!.headers[SIGNATURE_TIMESTAMP_HEADER]);
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(60);
    expect(webhook!.headers[SIGNATURE_HEADER]).toBe(signature(SECRET, timestamp, webhook!.body));
    const card = JSON.parse(sink.delivered("/teams")[0]!.body);
    expect(card).toMatchObject({
      type: "message",
      attachments: [{ contentType: "application/vnd.microsoft.card.adaptive" }],
    });

    await scan(estate(1));
    await drain();
    expect(sink.received).toHaveLength(2);
  });

  it("retries a 429 after its Retry-After and posts once", async () => {
    answers["/teams"] = (_post, index) =>
      index === 0 ? { status: 429, headers: { "retry-after": "0" } } : { status: 202 };
    await scan(estate(1));
    const result = await drain();
    expect(result.failures).toBe(0);
    expect(sink.received.filter((p) => p.path === "/teams")).toHaveLength(2);
    expect(sink.delivered("/teams")).toHaveLength(1);
  });

  it("moves an alert to alerts-poison when the webhook stays down, and a replay delivers it once", async () => {
    let down = true;
    answers["/teams"] = () => (down ? { status: 503 } : { status: 202 });
    await scan(estate(1));
    const result = await drain();
    expect(result.poisoned).toBe(1);
    expect(await poisonCount()).toBe(1);
    expect(sink.received.filter((p) => p.path === "/teams")).toHaveLength(5 * config.ALERT_DELIVERY_ATTEMPTS);
    expect(sink.delivered("/webhook")).toHaveLength(1);

    down = false;
    expect(await replayPoison(storage)).toMatchObject({ found: 1, moved: 1, failedAgain: 0, invalid: [] });
    await drain();
    expect(sink.delivered("/teams")).toHaveLength(1);
    expect(sink.delivered("/webhook")).toHaveLength(1);
    expect(await poisonCount()).toBe(0);
  });

  it("sends a refused alert (4xx) to alerts-poison at once", async () => {
    answers["/webhook"] = () => ({ status: 400 });
    await scan(estate(1));
    const result = await drain();
    expect(result).toMatchObject({ failures: 0, poisoned: 0 });
    expect(await poisonCount()).toBe(1);
    expect(sink.received.filter((p) => p.path === "/webhook")).toHaveLength(1);
    expect(sink.delivered("/teams")).toHaveLength(1);
  });

  it("does not post a redelivered message a second time", async () => {
    await scan(estate(1));
    const queue = await storage.queue(ALERTS_QUEUE);
    const { peekedMessageItems } = await queue.peekMessages({ numberOfMessages: 1 });
    await queue.sendMessage(peekedMessageItems[0]!.messageText);
    const result = await drain();
    expect(result.handled).toBe(2);
    expect(sink.delivered("/teams")).toHaveLength(1);
    expect(sink.delivered("/webhook")).toHaveLength(1);
  });

  it("delivers alerts exactly once after a crash between writing findings and enqueueing", async () => {
    const broken: Storage = { ...storage, queue: () => Promise.reject(new Error("crash before enqueue")) };
    const first = await scan(estate(1), broken);
    expect(first.delta!.new).toHaveLength(1);
    expect((await new FindingsStore(storage).withPendingAlerts()).map((s) => s.pendingAlerts.length)).toEqual(
      [1],
    );

    await scan(estate(1));
    await drain();
    expect(sink.delivered("/teams")).toHaveLength(1);
    expect(alertOf(sink.delivered("/webhook")[0]!).kind).toBe("violation-new");
    expect(await new FindingsStore(storage).withPendingAlerts()).toEqual([]);
  });

  it("sends one digest for a scan with 200 new findings", async () => {
    await scan(estate(200));
    await drain();
    expect(sink.delivered("/teams")).toHaveLength(1);
    expect(sink.delivered("/teams")[0]!.body).toContain("200 alerts");
    const digest = alertOf(sink.delivered("/webhook")[0]!);
    expect(digest).toMatchObject({
      kind: "digest",
      digest: { total: 200, counts: { "violation-new": 200 } },
    });
  });

  it("sends a resolution when a violation goes away", async () => {
    await scan(estate(2));
    await drain();
    await scan(estate(1));
    await drain();
    const kinds = sink.delivered("/webhook").map((p) => alertOf(p).kind);
    expect(kinds).toEqual(["violation-new", "violation-new", "finding-resolved"]);
  });

  it("runs as the registered queue-triggered function", async () => {
    const sandbox = await startSandbox({ estate: estate(1) });
    useRuntime({
      config,
      storage,
      connection: sandboxConnection(sandbox, estate(1), config),
      agent: sink.agent,
    });
    try {
      await scan(estate(1));
      const queue = await storage.queue(ALERTS_QUEUE);
      const { receivedMessageItems } = await queue.receiveMessages();
      const message = JSON.parse(
        Buffer.from(receivedMessageItems[0]!.messageText, "base64").toString("utf8"),
      );
      await alertDispatcher(
        message,
        new InvocationContext({ functionName: "alertDispatcher", logHandler: () => {} }),
      );
      expect(sink.delivered("/teams")).toHaveLength(1);
      expect(sink.delivered("/webhook")).toHaveLength(1);
    } finally {
      useRuntime(undefined);
      await sandbox.close();
    }
  });
});
