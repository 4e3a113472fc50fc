import "./quiet-test-mode";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  HttpRequest,
  HttpResponse,
  InvocationContext,
  type HttpResponseInit,
  type Timer,
} from "@azure/functions";
import { ALERTS_QUEUE, POISON_QUEUE } from "../src/alerts/emit";
import { alertMessageSchema } from "../src/findings/alert-message";
import { loadConfig, type Config } from "../src/config";
import { alertDispatcher } from "../src/functions/alert-dispatcher";
import { findingsHttp, scansHttp } from "../src/functions/http-api";
import { peeringEvents } from "../src/functions/peering-events";
import { useRuntime } from "../src/functions/runtime";
import { scanRequests } from "../src/functions/scan-requests";
import { scheduledScan } from "../src/functions/scheduled-scan";
import { sandboxConnection } from "../src/sandbox/connection";
import type { Estate } from "../src/sandbox/estate";
import { drainQueue } from "../src/sandbox/queue-host";
import { startSandbox } from "../src/sandbox/server";
import { startWebhookSink } from "../src/sandbox/webhook-sink";
import { SCAN_REQUESTS_QUEUE } from "../src/scan/queued-scan";
import { findingId } from "../src/scanners/finding";
import { startAzurite } from "../src/store/azurite";
import { ScanRunsStore } from "../src/store/scan-runs";
import { storageFromConnectionString, type Storage } from "../src/store/storage";
import { EstateBuilder, guid, vnetId } from "../test/helpers/estate-builder";

/**
 * `npm run benchmark:load`: the load the Functions app must hold, through its own handlers (as the
 * host calls them, with @azure/functions' InvocationContext and HttpRequest), with in-memory
 * Azurite as the storage account, the sandbox as Azure and a local webhook receiver:
 *
 * - 20,000 stored findings (a first scan of an estate of 20,000 cross-tenant peerings);
 * - a burst of 1,000 Event Grid events within a minute, 30% of them exact duplicates, in random
 *   order, about 150 real changes (100 peerings created, 50 deleted) and VNet writes that change
 *   nothing, while the alert dispatcher drains the alert queue to the receiver;
 * - during the burst, 200 concurrent `GET /api/findings`, 50 `POST /api/scans` (25 scopes, each
 *   asked twice) with the scan-requests queue function running, and the scheduled scan's timer.
 *
 * Checks: exactly one alert per real change (0 lost, 0 duplicate, none for what did not change),
 * no 5xx (a 429 with Retry-After past the scan-request bound is expected), p99 of
 * `GET /api/findings` at most 1 s, and a timer scan ran. Writes bench/load.json; exits non-zero
 * when a check fails.
 */

const HOME = guid(1, "1a");
const FOREIGN = guid(2, "1a");
const GUEST = guid(9, "1a");
const SUBSCRIPTION = (i: number) => guid(100 + i, "1b");
const FOREIGN_SUBSCRIPTION = guid(1, "1c");
const VNETS_PER_SUBSCRIPTION = 200;

const out = (text = "") => process.stdout.write(`${text}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fixed-seed shuffle: the same order on every run. */
function shuffle<T>(items: T[], seed: number): T[] {
  let s = seed;
  const random = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);
}

const latency = (values: number[]) => ({
  count: values.length,
  p50Ms: percentile(values, 50),
  p99Ms: percentile(values, 99),
});

/** Home subscriptions of 200 VNets, each peered to its own VNet in the foreign tenant, and empty VNets to peer later. */
function loadEstate(findings: number, creates: number): Estate {
  const builder = new EstateBuilder(HOME).tenant(FOREIGN, "Foreign Org");
  builder.subscription(FOREIGN_SUBSCRIPTION, FOREIGN);
  const subscriptions = Math.ceil(findings / VNETS_PER_SUBSCRIPTION);
  for (let s = 0; s < subscriptions; s++) builder.subscription(SUBSCRIPTION(s), HOME);
  for (let i = 0; i < findings; i++) {
    const sub = SUBSCRIPTION(Math.floor(i / VNETS_PER_SUBSCRIPTION));
    builder.vnet(sub, HOME, "rg", `vnet-${i}`, [
      { name: `to-foreign-${i}`, remote: vnetId(FOREIGN_SUBSCRIPTION, "f-rg", `f-${i}`) },
    ]);
  }
  for (let i = 0; i < creates; i++) builder.vnet(SUBSCRIPTION(i % subscriptions), HOME, "rg", `empty-${i}`);
  return builder.build();
}

interface Change {
  kind: "violation-new" | "finding-resolved";
  peeringId: string;
}

/** Makes the changes in the sandbox's estate (as ARM writes would) and returns them. */
function makeChanges(estate: Estate, findings: number, creates: number, deletes: number): Change[] {
  const changes: Change[] = [];
  const byId = new Map(estate.resources.map((r) => [r.id, r] as const));
  const subscriptions = Math.ceil(findings / VNETS_PER_SUBSCRIPTION);
  for (let i = 0; i < creates; i++) {
    const id = vnetId(SUBSCRIPTION(i % subscriptions), "rg", `empty-${i}`);
    const peerings = byId.get(id)!.properties.virtualNetworkPeerings as unknown[];
    peerings.push({
      name: `new-${i}`,
      properties: {
        remoteVirtualNetwork: { id: vnetId(FOREIGN_SUBSCRIPTION, "f-rg", `f-new-${i}`) },
        peeringState: "Initiated",
        remoteAddressSpace: { addressPrefixes: ["172.17.0.0/24"] },
      },
    });
    changes.push({ kind: "violation-new", peeringId: `${id}/virtualNetworkPeerings/new-${i}` });
  }
  // Deleted peerings, spread over the estate.
  const step = Math.floor(findings / deletes);
  for (let d = 0; d < deletes; d++) {
    const i = d * step + 7;
    const id = vnetId(SUBSCRIPTION(Math.floor(i / VNETS_PER_SUBSCRIPTION)), "rg", `vnet-${i}`);
    byId.get(id)!.properties.virtualNetworkPeerings = [];
    changes.push({ kind: "finding-resolved", peeringId: `${id}/virtualNetworkPeerings/to-foreign-${i}` });
  }
  return changes;
}

/** Event Grid subscription events (event-schema-subscriptions.md) for the changes and for VNet writes that change nothing. */
function burstEvents(changes: Change[], findings: number, total: number, duplicateShare: number): unknown[] {
  const distinct = Math.round(total * (1 - duplicateShare));
  const event = (n: number, type: "Write" | "Delete", operation: string, subject: string) => ({
    id: `load-${n}`,
    eventType: `Microsoft.Resources.Resource${type}Success`,
    subject,
    eventTime: new Date().toISOString(),
    data: {
      operationName: `Microsoft.Network/virtualNetworks/${operation}`,
      authorization: { evidence: { principalId: GUEST } },
    },
  });
  const events = changes.map((c, n) =>
    c.kind === "violation-new"
      ? event(n, "Write", "virtualNetworkPeerings/write", c.peeringId)
      : event(n, "Delete", "virtualNetworkPeerings/delete", c.peeringId),
  );
  for (let n = events.length; n < distinct; n++) {
    const i = (n * 7919) % findings;
    events.push(
      event(
        n,
        "Write",
        "write",
        vnetId(SUBSCRIPTION(Math.floor(i / VNETS_PER_SUBSCRIPTION)), "rg", `vnet-${i}`),
      ),
    );
  }
  const copies = shuffle([...events], 7).slice(0, total - distinct);
  return shuffle([...events, ...copies], 22);
}

const context = (functionName: string) => new InvocationContext({ functionName, logHandler: () => {} });

/** What the host sends back: the status, the headers and the body as the response serialises it. */
interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

function http(
  handler: (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>,
  method: string,
  path: string,
  body?: unknown,
): Promise<HttpAnswer> {
  const request = new HttpRequest({
    method,
    url: `https://localhost/api/${path}`,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: { string: JSON.stringify(body) } }),
  });
  // The body is serialised as the worker does it for the host (HttpResponse from the handler's answer).
  return handler(request, context("http")).then(async (init) => {
    const response = new HttpResponse(init);
    return { status: response.status, headers: response.headers, text: await response.text() };
  });
}

/** A handler that threw: the host answers 500. */
const failed = (): HttpAnswer => ({ status: 500, headers: new Headers(), text: "" });

const timer: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: true },
  scheduleStatus: { last: "", next: "", lastUpdated: "" },
};

/** Set when the benchmark gives up waiting: every queue host stops. */
const halted = { now: false };

/**
 * Runs a queue function as the host does, `workers` messages at a time (the host's batch), over and
 * over, until `stop` says so and the queue is empty.
 */
async function queueHost(
  storage: Storage,
  queueName: string,
  handler: (message: unknown) => Promise<unknown>,
  stop: () => boolean,
  { workers = 1, untilEmpty = true }: { workers?: number; untilEmpty?: boolean } = {},
): Promise<void> {
  const queue = await storage.queue(queueName);
  const poison = await storage.queue(queueName === ALERTS_QUEUE ? POISON_QUEUE : `${queueName}-poison`);
  const worker = async () => {
    for (;;) {
      if (halted.now) return;
      const done = stop();
      try {
        // Invisible for 5 s while handled (the host keeps a running message hidden), and a failed
        // one tried again 5 s later.
        await drainQueue(queue, poison, handler, {
          maxDequeueCount: 5,
          visibilityTimeoutSeconds: 5,
          timeoutMs: 5_000,
        });
        if (done) return;
      } catch (error) {
        // Still messages after 5 s: others are arriving, or some wait hidden (a deferred scan request).
        if (!String(error).includes("was not empty")) throw error;
        if (done && !untilEmpty) return;
      }
      await sleep(100);
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
}

async function benchmark(): Promise<void> {
  const { values } = parseArgs({
    options: {
      findings: { type: "string", default: "20000" },
      events: { type: "string", default: "1000" },
      duplicates: { type: "string", default: "0.3" },
      creates: { type: "string", default: "100" },
      deletes: { type: "string", default: "50" },
      gets: { type: "string", default: "200" },
      scans: { type: "string", default: "50" },
      "burst-seconds": { type: "string", default: "30" },
    },
  });
  const n = (name: keyof typeof values) => Number(values[name]);
  const findings = n("findings");
  const creates = n("creates");
  const deletes = n("deletes");
  const started = performance.now();

  const estate = loadEstate(findings, creates);
  const azurite = await startAzurite();
  const sink = await startWebhookSink();
  // The scans' Resource Graph quota is raised, as in benchmark:state: the figures measure the app, not throttling waits.
  const sandbox = await startSandbox({ estate, quota: { requests: 1000, windowMs: 5000 } });
  try {
    const storage = storageFromConnectionString(azurite.connectionString, "Azurite");
    const settings = {
      WEBHOOK_URL: `${sink.url}/webhook`,
      ALERT_ALLOWED_HOSTS: "127.0.0.1",
      // The local receiver listens on 127.0.0.1, which the send-time guard refuses otherwise.
      ALERT_ALLOW_PRIVATE_ADDRESSES: "true",
    };
    const use = (config: Config) =>
      useRuntime({
        config,
        storage,
        connection: sandboxConnection(sandbox, estate, config),
        agent: sink.agent,
      });

    // The stored findings: the timer's first scan of the estate (its alerts go out as one digest).
    out(`Seeding: the scheduled scan's first scan of ${findings} cross-tenant peerings...`);
    use(loadConfig(settings));
    const seedStarted = performance.now();
    await scheduledScan(timer, context("scheduledScan"));
    const [seed] = await new ScanRunsStore(storage).latest(1);
    if (seed?.status !== "finished" || !seed.complete) throw new Error("The seeding scan did not complete.");
    await queueHost(
      storage,
      ALERTS_QUEUE,
      (m) => alertDispatcher(m, context("alertDispatcher")),
      () => true,
    );
    const seedSeconds = Math.round((performance.now() - seedStarted) / 100) / 10;
    out(`  ${seed.deltaCounts.new} findings stored in ${seedSeconds} s.`);
    const seededPosts = sink.delivered("/webhook").length;

    // From here each alert goes out on its own, so every change can be counted.
    use(loadConfig({ ...settings, ALERT_DIGEST_THRESHOLD: "1000000" }));
    const changes = makeChanges(estate, findings, creates, deletes);
    const events = burstEvents(changes, findings, n("events"), Number(values.duplicates));
    const burstMs = n("burst-seconds") * 1000;
    out(
      `Load: ${events.length} Event Grid events over ${burstMs / 1000} s (${changes.length} real changes), ` +
        `${n("gets")} concurrent GET /api/findings, ${n("scans")} POST /api/scans, the scheduled scan.`,
    );

    const loadStarted = Date.now();
    // The seeding scan's peak is the process's own; the load's is sampled.
    let loadPeakRss = process.memoryUsage.rss();
    const rssSampler = setInterval(
      () => (loadPeakRss = Math.max(loadPeakRss, process.memoryUsage.rss())),
      200,
    ).unref();
    let burstDone = false;
    const dispatchErrors: string[] = [];
    const alertHost = queueHost(
      storage,
      ALERTS_QUEUE,
      (m) =>
        alertDispatcher(m, context("alertDispatcher")).catch((error: unknown) => {
          dispatchErrors.push(String(error));
          throw error;
        }),
      () => burstDone,
      { workers: 4 },
    );
    const scanHost = queueHost(
      storage,
      SCAN_REQUESTS_QUEUE,
      (m) => scanRequests(m, context("scanRequests")),
      () => burstDone,
      // Requests deferred behind a running scan wait hidden for up to a minute; the load is over without them.
      { untilEmpty: false },
    );

    // The burst: each event handed to the function as it arrives; a failed one is delivered again a second later (Event Grid retries).
    const eventMs: number[] = [];
    const eventErrors: string[] = [];
    let eventsLost = 0;
    const deliver = async (event: unknown): Promise<void> => {
      for (let attempt = 1; ; attempt++) {
        const t = performance.now();
        try {
          await peeringEvents(event as never, context("peeringEvents"));
          eventMs.push(performance.now() - t);
          return;
        } catch (error) {
          eventErrors.push(error instanceof Error ? error.message : String(error));
          if (attempt >= 5) {
            eventsLost += 1;
            return;
          }
          await sleep(1000);
        }
      }
    };
    const interval = burstMs / events.length;
    const handled: Promise<void>[] = [];
    const burst = (async () => {
      for (const [i, event] of events.entries()) {
        const due = loadStarted + i * interval;
        if (due > Date.now()) await sleep(due - Date.now());
        handled.push(deliver(event));
      }
      await Promise.all(handled);
    })();

    // A third into the burst: 200 GET /api/findings at once (the listing and its filters).
    const gets = (async () => {
      await sleep(burstMs / 3);
      const paths = [
        "findings",
        "findings?status=open",
        "findings?severity=high",
        "findings?status=resolved",
      ];
      return Promise.all(
        Array.from({ length: n("gets") }, async (_, i) => {
          const t = performance.now();
          const answer = await http(findingsHttp, "GET", paths[i % paths.length]!).catch(failed);
          return { ms: performance.now() - t, status: answer.status, answer };
        }),
      );
    })();

    // 50 POST /api/scans over 25 subscription scopes, each asked twice, one after another.
    const posts = (async () => {
      await sleep(burstMs / 6);
      const answers: { ms: number; status: number; retryAfter: string | undefined }[] = [];
      for (let i = 0; i < n("scans"); i++) {
        const subscription = SUBSCRIPTION(Math.floor(i / 2) % Math.ceil(findings / VNETS_PER_SUBSCRIPTION));
        const t = performance.now();
        const answer = await http(scansHttp, "POST", "scans", {
          scope: { subscriptions: [subscription] },
        }).catch(failed);
        answers.push({
          ms: performance.now() - t,
          status: answer.status,
          retryAfter: answer.headers.get("retry-after") ?? undefined,
        });
      }
      return answers;
    })();

    // Half way through the burst the timer fires; a scan holding the lease makes it owed, not lost.
    const timerRun = (async () => {
      await sleep(burstMs / 2);
      const t = Date.now();
      await scheduledScan(timer, context("scheduledScan"));
      return t;
    })();

    const since = () => `${Math.round((Date.now() - loadStarted) / 100) / 10} s`;
    const [, getResults, postResults, timerFiredAt] = await Promise.all([
      burst.then(() => out(`  ${since()}: every event handled`)),
      gets.then((r) => (out(`  ${since()}: the GETs answered`), r)),
      posts,
      timerRun.then((t) => (out(`  ${since()}: the timer function returned`), t)),
    ]);
    // The scheduled scan ran if a timer-triggered run was recorded since the timer fired (itself, or
    // the owed run a requested scan makes first); wait for it up to two minutes.
    const runs = new ScanRunsStore(storage);
    const timerRan = async () =>
      (await runs.latest(100)).some(
        (r) =>
          r.trigger === "timer" && r.status === "finished" && Date.parse(r.startedAt) >= timerFiredAt - 1000,
      );
    let scheduledRan = await timerRan();
    for (let i = 0; i < 240 && !scheduledRan; i++) {
      await sleep(500);
      scheduledRan = await timerRan();
    }
    out(`  ${since()}: scheduled scan ran: ${scheduledRan}`);
    burstDone = true;
    // Two minutes at most for the alerts still queued; a queue not drained by then fails the run.
    const drained = await Promise.race([
      Promise.all([alertHost, scanHost]).then(
        () => true,
        () => false,
      ),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 120_000).unref()),
    ]);
    halted.now = true;
    clearInterval(rssSampler);
    out(`  ${since()}: alert queue drained: ${drained}`);
    const requested = (await runs.recent(200)).filter((r) => r.trigger === "http");
    const loadSeconds = Math.round((Date.now() - loadStarted) / 100) / 10;

    // Every stored finding, page after page through nextLink, once the load is over.
    const walkStarted = performance.now();
    let walked = 0;
    let pages = 0;
    for (let path: string | undefined = "findings?limit=1000"; path; pages++) {
      const page = await http(findingsHttp, "GET", path);
      if (page.status !== 200) throw new Error(`GET /api/${path} answered ${page.status}`);
      const body = JSON.parse(page.text) as { count: number; nextLink?: string };
      walked += body.count;
      const nextLink = body.nextLink;
      path = nextLink?.replace(/^\/api\//, "");
    }
    const walk = {
      pages,
      findings: walked,
      seconds: Math.round((performance.now() - walkStarted) / 100) / 10,
    };
    out(`all findings through nextLink: ${walked} in ${pages} pages, ${walk.seconds} s`);

    // Alerts: each real change exactly once; none for a finding that did not change.
    const expected = new Map(changes.map((c) => [`${c.kind}:${findingId("vnet-peering", c.peeringId)}`, 0]));
    let unexpected = 0;
    const poisoned =
      (await (await storage.queue(POISON_QUEUE)).getProperties()).approximateMessagesCount ?? 0;
    const posted = sink.delivered("/webhook").slice(seededPosts);
    for (const post of posted) {
      const alert = alertMessageSchema.parse(JSON.parse(post.body));
      const key = `${alert.kind}:${alert.finding?.id ?? "-"}`;
      if (expected.has(key)) expected.set(key, expected.get(key)! + 1);
      else if (alert.finding || alert.kind === "digest") unexpected += 1;
    }
    const counts = [...expected.values()];
    const alerts = {
      realChanges: changes.length,
      sent: posted.length,
      delivered: counts.filter((c) => c > 0).length,
      lost: counts.filter((c) => c === 0).length,
      duplicate: counts.reduce((sum, c) => sum + Math.max(0, c - 1), 0),
      unexpected,
      poisoned,
      dispatchErrors: dispatchErrors.length,
      firstDispatchErrors: [...new Set(dispatchErrors)].slice(0, 3),
    };

    const getStatuses = getResults.map((r) => r.status);
    const postStatuses = postResults.map((r) => r.status);
    const statusCounts = (statuses: number[]) =>
      Object.fromEntries(
        [...new Set(statuses)].sort().map((s) => [s, statuses.filter((x) => x === s).length]),
      );
    const fiveXx = [...getStatuses, ...postStatuses].filter((s) => s >= 500).length;
    const tooMany = postResults.filter((r) => r.status === 429);
    const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
    const loadPeakRssMb = Math.round(loadPeakRss / 1024 / 1024);

    const results = {
      estate: { storedFindings: findings, subscriptions: Math.ceil(findings / VNETS_PER_SUBSCRIPTION) },
      seedScanSeconds: seedSeconds,
      loadSeconds,
      events: {
        sent: events.length,
        distinct: new Set(events.map((e) => (e as { id: string }).id)).size,
        overSeconds: burstMs / 1000,
        ...latency(eventMs),
        errors: eventErrors.length,
        lostAfterRetries: eventsLost,
        firstErrors: [...new Set(eventErrors)].slice(0, 3),
      },
      alerts,
      getFindings: {
        ...latency(getResults.map((r) => r.ms)),
        statuses: statusCounts(getStatuses),
        firstPageSize: getResults[0] ? (JSON.parse(getResults[0].answer.text) as { count: number }).count : 0,
        allPages: walk,
      },
      postScans: {
        ...latency(postResults.map((r) => r.ms)),
        statuses: statusCounts(postStatuses),
        tooManyWithRetryAfter: tooMany.filter((r) => r.retryAfter !== undefined).length,
        requestedScans: {
          finished: requested.filter((r) => r.status === "finished").length,
          stillWaiting: requested.filter((r) => r.status === "queued" || r.status === "running").length,
          failed: requested.filter((r) => r.status === "failed").length,
        },
      },
      scheduledScanRan: scheduledRan,
      fiveXx,
      /** The whole run's, the seeding scan of 20,000 peerings included. */
      peakRssMb,
      loadPeakRssMb,
      machine: {
        cpus: cpus().length,
        node: process.version,
        note: "shared 2-core machine; timings are noisy",
      },
      totalSeconds: Math.round((performance.now() - started) / 100) / 10,
      measuredAt: new Date().toISOString(),
    };
    const checks = {
      noAlertLost: alerts.lost === 0,
      noAlertDuplicated: alerts.duplicate === 0,
      noUnexpectedAlert: alerts.unexpected === 0,
      noAlertPoisoned: poisoned === 0,
      alertQueueDrained: drained,
      noEventLost: eventsLost === 0,
      no5xx: fiveXx === 0,
      every429HasRetryAfter: tooMany.every((r) => r.retryAfter !== undefined),
      getFindingsP99WithinOneSecond: results.getFindings.p99Ms <= 1000,
      scheduledScanRan: scheduledRan,
      everyFindingListed: walked === seed.deltaCounts.new + creates,
    };
    out(
      `events: p50 ${results.events.p50Ms} ms, p99 ${results.events.p99Ms} ms, ${results.events.errors} errors (retried), ${eventsLost} lost`,
    );
    out(
      `alerts: ${alerts.delivered} of ${alerts.realChanges} real changes delivered, ${alerts.lost} lost, ${alerts.duplicate} duplicate, ${alerts.unexpected} unexpected; ` +
        `${poisoned} alert messages in poison`,
    );
    out(
      `GET /api/findings: p50 ${results.getFindings.p50Ms} ms, p99 ${results.getFindings.p99Ms} ms, statuses ${JSON.stringify(results.getFindings.statuses)}`,
    );
    out(
      `POST /api/scans: p50 ${results.postScans.p50Ms} ms, p99 ${results.postScans.p99Ms} ms, statuses ${JSON.stringify(results.postScans.statuses)}`,
    );
    out(
      `scheduled scan ran: ${scheduledRan}; 5xx: ${fiveXx}; peak RSS ${peakRssMb} MB (${loadPeakRssMb} MB during the load); ${results.totalSeconds} s in all`,
    );
    out(`checks: ${JSON.stringify(checks)}`);

    await mkdir("bench", { recursive: true });
    const path = join("bench", "load.json");
    await writeFile(path, `${JSON.stringify({ ...results, checks }, null, 2)}\n`);
    out(`written to ${path}`);
    if (!Object.values(checks).every(Boolean)) {
      out(
        `missed: ${Object.keys(checks)
          .filter((k) => !checks[k as keyof typeof checks])
          .join(", ")}`,
      );
      process.exitCode = 1;
    }
  } finally {
    useRuntime(undefined);
    await sandbox.close();
    await sink.close();
    await azurite.stop();
  }
}

benchmark().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
