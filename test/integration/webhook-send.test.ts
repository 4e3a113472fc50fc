import { Agent, createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { dispatchAlert, type DispatchDeps } from "../../src/alerts/dispatch";
import { POISON_QUEUE } from "../../src/alerts/emit";
import { postJson } from "../../src/alerts/post";
import { isPrivateAddress } from "../../src/alerts/webhook-guard";
import { loadConfig } from "../../src/config";
import { InputError } from "../../src/errors";
import { loopbackTlsIdentity } from "../../src/sandbox/tls";
import { startWebhookSink, type RunningSink } from "../../src/sandbox/webhook-sink";
import { testStorage, type TestStorage } from "../helpers/azurite";
import { violationAlert } from "../helpers/alert-samples";

let state: TestStorage;
let sink: RunningSink;
let status = 202;
let logs: string[] = [];

beforeAll(async () => {
  state = await testStorage();
  sink = await startWebhookSink(() => ({ status }));
});
afterAll(async () => {
  await sink.close();
  await state.stop();
});
beforeEach(() => {
  status = 202;
  logs = [];
  sink.received.length = 0;
});

const port = () => new URL(sink.url).port;

/** The dispatcher's dependencies for one generic webhook at `url`. */
function deps(
  url: string,
  env: Record<string, string> = {},
  resolve?: DispatchDeps["resolve"],
): DispatchDeps {
  const config = loadConfig({ WEBHOOK_URL: url, ALERT_DELIVERY_ATTEMPTS: "1", ...env });
  return {
    storage: state.storage,
    config,
    log: (_level, event, fields) => logs.push(JSON.stringify({ event, ...fields })),
    agent: sink.agent,
    ...(resolve ? { resolve } : {}),
  };
}

const poisonCount = async () =>
  (await (await state.storage.queue(POISON_QUEUE)).getProperties()).approximateMessagesCount ?? 0;

describe("the SSRF guard at send time", () => {
  it("refuses a webhook whose host resolves to 127.0.0.1, though the host is allowed", async () => {
    const before = await poisonCount();
    const url = `https://localhost:${port()}/webhook`;
    const result = await dispatchAlert(violationAlert(), deps(url, { ALERT_ALLOWED_HOSTS: "localhost" }));
    expect(result.poisoned).toMatch(
      /webhook: The webhook host localhost resolves to (127\.0\.0\.1|::1), a loopback/,
    );
    expect(sink.received).toHaveLength(0);
    expect(await poisonCount()).toBe(before + 1);
    expect(logs.join("\n")).not.toContain("/webhook");
  });

  it("posts to it when the test-only ALERT_ALLOW_PRIVATE_ADDRESSES is on", async () => {
    const url = `https://localhost:${port()}/webhook`;
    const env = { ALERT_ALLOWED_HOSTS: "localhost", ALERT_ALLOW_PRIVATE_ADDRESSES: "true" };
    const result = await dispatchAlert(
      { ...violationAlert(), idempotencyKey: "allowed-private" },
      deps(url, env, async () => ["127.0.0.1"]),
    );
    expect(result.delivered).toEqual(["webhook"]);
    expect(sink.received).toHaveLength(1);
  });

  it("refuses when any address of the host is private, and IP literals alike", async () => {
    const rebinding = await dispatchAlert(
      { ...violationAlert(), idempotencyKey: "rebinding" },
      deps(`https://hooks.example.com/webhook`, { ALERT_ALLOWED_HOSTS: "hooks.example.com" }, async () => [
        "20.50.2.1",
        "10.0.0.5",
      ]),
    );
    expect(rebinding.poisoned).toMatch(/resolves to 10\.0\.0\.5/);
    const literal = await dispatchAlert(
      { ...violationAlert(), idempotencyKey: "literal" },
      deps(`https://127.0.0.1:${port()}/webhook`, { ALERT_ALLOWED_HOSTS: "127.0.0.1" }),
    );
    expect(literal.poisoned).toMatch(/resolves to 127\.0\.0\.1/);
    expect(sink.received).toHaveLength(0);
  });

  it("postJson checks on its own: a host outside ALERT_ALLOWED_HOSTS is never contacted", async () => {
    await expect(
      postJson(`${sink.url}/webhook?sig=SECRET`, "{}", {
        timeoutMs: 1000,
        agent: sink.agent,
        guard: { allowedHosts: ["hooks.example.com"], allowPrivateAddresses: true },
      }),
    ).rejects.toThrow(/^The webhook host 127\.0\.0\.1 is not in ALERT_ALLOWED_HOSTS; nothing was sent\.$/);
    expect(sink.received).toHaveLength(0);
  });

  it("knows loopback, link-local, private and unique-local addresses in IPv4, IPv6 and IPv4-mapped forms", () => {
    const blocked = [
      "127.0.0.1",
      "127.8.9.10",
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.1",
      "169.254.169.254",
      "168.63.129.16",
      "100.64.0.1",
      "0.0.0.0",
      "::1",
      "::",
      "fe80::1",
      "fd12:3456::1",
      "fc00::1",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "::ffff:10.0.0.1",
      "::ffff:169.254.169.254",
      "not an address",
    ];
    const allowed = ["20.50.2.1", "52.96.0.1", "8.8.8.8", "172.32.0.1", "2603:1030::1", "::ffff:20.50.2.1"];
    expect(blocked.filter((a) => !isPrivateAddress(a))).toEqual([]);
    expect(allowed.filter(isPrivateAddress)).toEqual([]);
  });

  it("logs the status of a refusing receiver, never its answer body", async () => {
    status = 400;
    const url = `https://localhost:${port()}/webhook`;
    const env = { ALERT_ALLOWED_HOSTS: "localhost", ALERT_ALLOW_PRIVATE_ADDRESSES: "true" };
    const result = await dispatchAlert(
      { ...violationAlert(), idempotencyKey: "refused-body" },
      deps(url, env, async () => ["127.0.0.1"]),
    );
    expect(result.poisoned).toBe("webhook: HTTP 400");
    expect(sink.received).toHaveLength(1);
    expect(logs.join("\n")).not.toContain("sink answered");
  });
});

describe("ALERT_ALLOWED_HOSTS patterns", () => {
  it("refuses wildcards wider than one registrable domain, naming the setting only", () => {
    for (const pattern of ["*.com", "*.co.uk", "*.azurewebsites.net", "*.net"]) {
      expect(() => loadConfig({ ALERT_ALLOWED_HOSTS: pattern })).toThrow(InputError);
      try {
        loadConfig({ ALERT_ALLOWED_HOSTS: `hooks.example.com,${pattern}` });
      } catch (error) {
        expect((error as InputError).problems.join("\n")).toMatch(
          /^ALERT_ALLOWED_HOSTS: a '\*\.' pattern must stay within one registrable domain/,
        );
      }
    }
    expect(
      loadConfig({ ALERT_ALLOWED_HOSTS: "*.example.com,*.webhook.office.com" }).ALERT_ALLOWED_HOSTS,
    ).toHaveLength(2);
  });
});

describe("a slow receiver", () => {
  /**
   * A receiver that answers 202 with a long body: `first` bytes at once, then a byte every
   * `everyMs`, and never the end, for as long as the client listens.
   */
  async function dribbler(first: number, everyMs: number) {
    const tls = await loopbackTlsIdentity();
    const timers = new Set<NodeJS.Timeout>();
    const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(202, { "content-length": String(10_000_000) });
        res.write("x".repeat(first));
        const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write("x")), everyMs);
        timers.add(timer);
      });
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const port = (server.address() as AddressInfo).port;
    return {
      url: `https://127.0.0.1:${port}/webhook`,
      agent: new Agent({ ca: tls.cert }),
      close: async () => {
        for (const t of timers) clearInterval(t);
        server.closeAllConnections();
        await new Promise((done) => server.close(done));
      },
    };
  }
  const guard = { allowedHosts: ["127.0.0.1"], allowPrivateAddresses: true };

  it("is cut off at the deadline for the whole exchange, not after each idle gap", async () => {
    const slow = await dribbler(1, 20);
    try {
      const started = Date.now();
      await expect(postJson(slow.url, "{}", { timeoutMs: 300, agent: slow.agent, guard })).rejects.toThrow(
        /did not answer within 300 ms/,
      );
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      await slow.close();
    }
  });

  it("reads only a few KiB of a long answer, then lets go", async () => {
    const chatty = await dribbler(64 * 1024, 1000);
    try {
      const started = Date.now();
      const result = await postJson(chatty.url, "{}", { timeoutMs: 5000, agent: chatty.agent, guard });
      expect(result.status).toBe(202);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await chatty.close();
    }
  });
});
