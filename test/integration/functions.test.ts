import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { HttpRequest, InvocationContext, type HttpResponseInit, type Timer } from "@azure/functions";
import Ajv2020 from "ajv/dist/2020";
import { loadConfig, type Config } from "../../src/config";
import { allowlistHttp, findingsHttp, reportHttp, scansHttp } from "../../src/functions/http-api";
import { runtime, useRuntime } from "../../src/functions/runtime";
import { scanRequests } from "../../src/functions/scan-requests";
import { drainQueue } from "../../src/sandbox/queue-host";
import { runRequestedScan, SCAN_REQUESTS_QUEUE } from "../../src/scan/queued-scan";
import { scheduledScan } from "../../src/functions/scheduled-scan";
import { sandboxConnection } from "../../src/sandbox/connection";
import { readEstateFile } from "../../src/sandbox/estate";
import { startSandbox, type RunningSandbox } from "../../src/sandbox/server";
import type { ScanReport } from "../../src/findings/report";
import type { RunningAzurite } from "../../src/store/azurite";
import { AlertOutbox } from "../../src/store/alert-outbox";
import { ScanLease } from "../../src/store/scan-lease";
import { ScanRunsStore } from "../../src/store/scan-runs";
import type { Storage } from "../../src/store/storage";
import { testStorage } from "../helpers/azurite";
import { HOST_LIKE_DRAIN, TEST_QUOTA } from "../helpers/sandbox";

const ROOT = join(__dirname, "../../..");
const FOREIGN_TENANT = "9c8b7a65-4d3e-4f21-8a0b-1c2d3e4f5a6b";

let azurite: RunningAzurite;
let sandbox: RunningSandbox;
let storage: Storage;
let logs: string[];

function use(env: Record<string, string> = {}): Config {
  // Writes with the function key alone; ALLOWLIST_WRITE_AUTH=role is tested in api-rules.test.ts.
  const config = loadConfig({ AZURE_MAX_RETRIES: "1", ALLOWLIST_WRITE_AUTH: "function-key", ...env });
  return config;
}

beforeAll(async () => {
  ({ azurite, storage } = await testStorage());
  const estate = await readEstateFile(join(ROOT, "examples/estates/two-tenants.json"));
  sandbox = await startSandbox({ estate, quota: TEST_QUOTA });
  const config = use();
  useRuntime({ config, storage, connection: sandboxConnection(sandbox, estate, config) });
});
afterAll(async () => {
  useRuntime(undefined);
  await sandbox.close();
  await azurite.stop();
});
beforeEach(() => {
  logs = [];
});

const context = (functionName: string) =>
  new InvocationContext({ functionName, logHandler: (_level, ...args) => logs.push(JSON.stringify(args)) });

function http(
  handler: (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>,
  init: {
    method: string;
    path: string;
    params?: Record<string, string>;
    body?: string;
    headers?: Record<string, string>;
  },
) {
  const request = new HttpRequest({
    method: init.method,
    url: `https://app.example/api/${init.path}`,
    params: init.params ?? {},
    headers: { ...(init.body !== undefined ? { "content-type": "application/json" } : {}), ...init.headers },
    ...(init.body !== undefined ? { body: { string: init.body } } : {}),
  });
  return handler(request, context("http")) as Promise<
    HttpResponseInit & { jsonBody?: Record<string, unknown> }
  >;
}

const runtimeDeps = () => {
  const { config, connection } = runtime();
  return { config, connection, storage };
};

/** Runs the scan-requests queue as the Functions host would, until the queued scans ran. */
async function runQueuedScans() {
  const queue = await storage.queue(SCAN_REQUESTS_QUEUE);
  for (let i = 0; i < 50 && !(await queue.getProperties()).approximateMessagesCount; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return drainQueue(
    queue,
    await storage.queue(`${SCAN_REQUESTS_QUEUE}-poison`),
    (m) => scanRequests(m, context("scanRequests")),
    HOST_LIKE_DRAIN,
  );
}

const runs = async () => (await new ScanRunsStore(storage).latest(100)).length;
const timer = (isPastDue: boolean): Timer => ({
  schedule: { adjustForDST: true },
  isPastDue,
  scheduleStatus: {
    last: "2026-11-29T09:00:00Z",
    next: "2026-11-29T10:00:00Z",
    lastUpdated: "2026-11-29T09:00:00Z",
  },
});

describe("timer function scheduledScan", () => {
  it("scans end to end, keeps findings, queues alerts and logs a past-due run", async () => {
    await scheduledScan(timer(true), context("scheduledScan"));
    const [run] = await new ScanRunsStore(storage).latest(1);
    expect(run).toMatchObject({ trigger: "timer", complete: true, deltaCounts: { new: 24 } });
    expect(logs.join("\n")).toContain("timer-past-due");
    const alerts = await (await storage.queue("alerts")).getProperties();
    // 7 peering findings, one of each check beyond peerings (issue 19's four among them), and the 3 settings of the service-default
    // cross-tenant access policy that miss their baseline (examples/estates/two-tenants.json).
    expect(alerts.approximateMessagesCount).toBe(17);
  });

  it("skips, and says so, while another scan holds the lease", async () => {
    const lease = await new ScanLease(storage).acquire("other-scan", "http");
    if (!lease.acquired) throw new Error("lease not acquired");
    const before = await runs();
    await scheduledScan(timer(false), context("scheduledScan"));
    await lease.release();
    expect(await runs()).toBe(before);
    expect(logs.join("\n")).toMatch(/scan-skipped.*other-scan/);
  });
});

describe("HTTP API", () => {
  it("POST /api/scans?wait= returns a schema-valid report once the queue function ran it", async () => {
    const answer = http(scansHttp, { method: "POST", path: "scans?wait=60" });
    expect(await runQueuedScans()).toEqual({ handled: 1, failures: 0, poisoned: 0 });
    const response = await answer;
    expect(response.status).toBe(200);
    const validate = new Ajv2020({ strict: false, validateFormats: false }).compile(
      JSON.parse(readFileSync(join(ROOT, "schemas/report.schema.json"), "utf8")),
    );
    expect(validate(response.jsonBody)).toBe(true);
    expect((response.jsonBody as unknown as ScanReport).delta).toEqual({
      new: [],
      resolved: [],
      reopened: [],
      changed: [],
    });
  });

  it("POST /api/scans takes a scope and a dry run, which keeps nothing", async () => {
    const before = await runs();
    const answer = http(scansHttp, {
      method: "POST",
      path: "scans?wait=60",
      body: JSON.stringify({
        scope: { subscriptions: ["31bdf544-8e8e-4f5b-bb31-3316a05e5581"] },
        dryRun: true,
      }),
    });
    await runQueuedScans();
    const response = await answer;
    expect(response.status).toBe(200);
    expect((response.jsonBody as unknown as ScanReport).stats).toMatchObject({
      subscriptions: 1,
      virtualNetworks: 3,
    });
    expect(await runs()).toBe(before);
  });

  it("POST /api/scans answers 202 within a second; the queued scan survives a host restart and GET follows it to finished", async () => {
    const started = Date.now();
    const response = await http(scansHttp, { method: "POST", path: "scans" });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(response.status).toBe(202);
    const id = String(response.jsonBody!.scanId);
    expect(response.headers).toMatchObject({ location: `/api/scans/${id}` });
    const status = async () =>
      String(
        (await http(scansHttp, { method: "GET", path: `scans/${id}`, params: { id } })).jsonBody!.status,
      );
    expect(await status()).toBe("queued");

    // The same scope asked again while it waits: the answer is the queued scan's location.
    const again = await http(scansHttp, { method: "POST", path: "scans" });
    expect(again.status).toBe(202);
    expect(again.headers).toMatchObject({ location: `/api/scans/${id}` });

    // The first host takes the message and stops mid-scan: no lease release, message not completed.
    // Its clock ran 31 minutes ago, so its lease has run out by now, as it would after a real restart.
    const queue = await storage.queue(SCAN_REQUESTS_QUEUE);
    const [message] = (await queue.receiveMessages({ numberOfMessages: 1, visibilityTimeout: 1 }))
      .receivedMessageItems;
    const payload = JSON.parse(Buffer.from(message!.messageText, "base64").toString("utf8")) as unknown;
    let crashed!: () => void;
    const reachedCrash = new Promise<void>((resolve) => (crashed = resolve));
    const past = Date.now() - 31 * 60_000;
    void runRequestedScan(payload, {
      ...runtimeDeps(),
      now: () => new Date(past),
      atStage: () => {
        crashed();
        return new Promise<void>(() => {}); // the process is gone: nothing after this runs
      },
    });
    await reachedCrash;
    expect(await status()).toBe("running");

    // The restarted host gets the message again (its visibility ran out) and runs the scan.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await runQueuedScans()).toMatchObject({ handled: 1, poisoned: 0 });
    expect(await status()).toBe("finished");
    expect(await new ScanLease(storage).running()).toBeUndefined();
  });

  it("a queued scan that cannot reach Azure ends as failed, with the reason and a scan-failed alert", async () => {
    const response = await http(scansHttp, {
      method: "POST",
      path: "scans",
      body: JSON.stringify({ scope: { managementGroups: ["no-such-group"] } }),
    });
    const id = String(response.jsonBody!.scanId);
    const queue = await storage.queue(SCAN_REQUESTS_QUEUE);
    const [message] = (await queue.receiveMessages({ numberOfMessages: 1 })).receivedMessageItems;
    await queue.deleteMessage(message!.messageId, message!.popReceipt);
    const payload = JSON.parse(Buffer.from(message!.messageText, "base64").toString("utf8")) as unknown;
    const deps = runtimeDeps();
    const unreachable = {
      ...deps.connection,
      credential: {
        getToken: () => Promise.reject(new Error("AADSTS700016: application not found in the directory")),
      },
    };
    expect(await runRequestedScan(payload, { ...deps, connection: unreachable })).toBe("failed");
    const run = await http(scansHttp, { method: "GET", path: `scans/${id}`, params: { id } });
    expect(run.jsonBody).toMatchObject({
      status: "failed",
      failure: expect.stringContaining("AADSTS700016"),
    });
    const outbox = await new AlertOutbox(storage).list();
    expect(outbox.some((a) => a.kind === "scan-failed" && a.scanId === id)).toBe(false);
    const alerts = (await (await storage.queue("alerts")).peekMessages({ numberOfMessages: 32 }))
      .peekedMessageItems;
    expect(
      alerts.some((m) => Buffer.from(m.messageText, "base64").toString("utf8").includes(`scan-failed:${id}`)),
    ).toBe(true);
  });

  it("a scan asked for while another holds the lease waits on the queue, then runs", async () => {
    const lease = await new ScanLease(storage).acquire("busy-scan", "timer");
    if (!lease.acquired) throw new Error("lease not acquired");
    const response = await http(scansHttp, { method: "POST", path: "scans" });
    expect(response.status).toBe(202);
    const id = String(response.jsonBody!.scanId);
    const queue = await storage.queue(SCAN_REQUESTS_QUEUE);
    const [message] = (await queue.receiveMessages({ numberOfMessages: 1 })).receivedMessageItems;
    const payload = JSON.parse(Buffer.from(message!.messageText, "base64").toString("utf8")) as unknown;
    expect(await runRequestedScan(payload, runtimeDeps())).toBe("deferred");
    await queue.deleteMessage(message!.messageId, message!.popReceipt);
    const running = await http(scansHttp, {
      method: "GET",
      path: "scans/busy-scan",
      params: { id: "busy-scan" },
    });
    expect(running.jsonBody).toMatchObject({ status: "running", trigger: "timer" });
    await lease.release();
    // The deferred copy is hidden for a while; the host would take it then.
    const [deferred] = (await queue.peekMessages()).peekedMessageItems;
    expect(deferred).toBeUndefined();
    expect(await runRequestedScan(payload, runtimeDeps())).toBe("finished");
    expect(
      (await http(scansHttp, { method: "GET", path: `scans/${id}`, params: { id } })).jsonBody,
    ).toMatchObject({
      status: "finished",
    });
    await queue.clearMessages();
  });

  it("refuses bad scan requests with problem details, writing nothing", async () => {
    const before = await runs();
    const cases: [Record<string, string>, number, RegExp][] = [
      [{ body: '{"dryrun": true}' }, 400, /Unrecognized key.*dryrun/],
      [
        { body: '{"scope": {"subscriptions": ["not-a-guid"]}}' },
        400,
        /scope\.subscriptions\[0\]: must be a GUID/,
      ],
      [{ body: "{nope" }, 400, /not JSON/],
      [{ body: JSON.stringify({ dryRun: true, pad: "x".repeat(70_000) }) }, 413, /limited to 65536 bytes/],
    ];
    for (const [init, status, detail] of cases) {
      const response = await http(scansHttp, { method: "POST", path: "scans", ...init });
      expect(response.status).toBe(status);
      expect(response.headers).toMatchObject({ "content-type": "application/problem+json" });
      expect(String(response.jsonBody!.detail)).toMatch(detail);
    }
    expect(await runs()).toBe(before);
  });

  it("GET /api/scans lists runs newest first, GET /api/scans/{id} reads one", async () => {
    const list = await http(scansHttp, { method: "GET", path: "scans?limit=2" });
    expect(list.status).toBe(200);
    const scans = list.jsonBody!.scans as { scanId: string; startedAt: string; status: string }[];
    expect(scans).toHaveLength(2);
    expect(scans[0]!.startedAt >= scans[1]!.startedAt).toBe(true);
    const one = await http(scansHttp, {
      method: "GET",
      path: `scans/${scans[1]!.scanId}`,
      params: { id: scans[1]!.scanId },
    });
    expect(one.jsonBody).toMatchObject({ status: scans[1]!.status, scanId: scans[1]!.scanId });
    expect(["finished", "failed"]).toContain(scans[1]!.status);
    expect(
      (await http(scansHttp, { method: "GET", path: "scans/nope", params: { id: "nope" } })).status,
    ).toBe(404);
    expect((await http(scansHttp, { method: "GET", path: "scans?limit=0" })).status).toBe(400);
    expect((await http(scansHttp, { method: "GET", path: "scans?colour=red" })).status).toBe(400);
    expect((await http(scansHttp, { method: "DELETE", path: "scans" })).status).toBe(405);
  });

  it("GET /api/findings filters by status and severity", async () => {
    const open = await http(findingsHttp, { method: "GET", path: "findings?status=open&severity=high" });
    expect(open.status).toBe(200);
    const findings = open.jsonBody!.findings as { state: string; finding: { severity: string } }[];
    // 3 peerings, the outbound private endpoint, the guest with Network Contributor, the default
    // cross-tenant access policy's inbound B2B collaboration, the storage account admitting
    // Northwind's subnet, the private link service auto-approving `*` and the Lighthouse delegation.
    expect(findings.length).toBe(9);
    expect(findings.every((f) => f.state === "open" && f.finding.severity === "high")).toBe(true);
    expect((await http(findingsHttp, { method: "GET", path: "findings?status=bogus" })).status).toBe(400);
  });

  it("GET /api/findings answers a page at a time: nextLink walks every finding once; a forged continuation is refused", async () => {
    const all = await http(findingsHttp, { method: "GET", path: "findings?limit=1000" });
    const everyId = (all.jsonBody!.findings as { finding: { id: string } }[]).map((f) => f.finding.id);
    expect(all.jsonBody!.nextLink).toBeUndefined();
    expect(everyId.length).toBeGreaterThan(8);
    const walked: string[] = [];
    let path: string | undefined = "findings?limit=4";
    for (let pages = 0; path; pages++) {
      expect(pages).toBeLessThan(everyId.length);
      const url = new URL(path, "https://app.example/api/");
      const page = await http(findingsHttp, {
        method: "GET",
        path: `findings${url.search}`,
      });
      expect(page.status).toBe(200);
      const found = (page.jsonBody!.findings as { finding: { id: string } }[]).map((f) => f.finding.id);
      expect(found.length).toBeLessThanOrEqual(4);
      expect(page.jsonBody!.count).toBe(found.length);
      walked.push(...found);
      path = page.jsonBody!.nextLink as string | undefined;
      if (path) expect(path).toMatch(/^\/api\/findings\?limit=4&continuation=[\w-]+$/);
    }
    expect(walked.sort()).toEqual([...everyId].sort());
    // The unpaged default is one page of 100.
    expect((await http(findingsHttp, { method: "GET", path: "findings" })).jsonBody!.count).toBe(
      everyId.length,
    );
    const forged = [
      "nope",
      Buffer.from("not json").toString("base64url"),
      Buffer.from(JSON.stringify({ nextPartitionKey: "a' or true" })).toString("base64url"),
      Buffer.from(JSON.stringify({ nextPartitionKey: "a", extra: 1 })).toString("base64url"),
      "x".repeat(3000),
    ];
    for (const continuation of forged) {
      const refused = await http(findingsHttp, {
        method: "GET",
        path: `findings?${new URLSearchParams({ continuation }).toString()}`,
      });
      expect(refused.status).toBe(400);
    }
    for (const limit of ["0", "1001", "-1", "1e3"])
      expect((await http(findingsHttp, { method: "GET", path: `findings?limit=${limit}` })).status).toBe(400);
  });

  it("GET /api/report serves the HTML report of the latest complete scan, from the stored findings", async () => {
    const response = await http(reportHttp, { method: "GET", path: "report" });
    expect(response.status).toBe(200);
    const headers = new Headers(response.headers as Record<string, string>);
    expect(headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(headers.get("content-security-policy")).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
    expect(headers.get("x-content-type-options")).toBe("nosniff");
    const html = String(response.body);
    const listed = await http(findingsHttp, { method: "GET", path: "findings" });
    const unresolved = (listed.jsonBody!.findings as { state: string; finding: { id: string } }[]).filter(
      (f) => f.state !== "resolved",
    );
    expect(unresolved.length).toBeGreaterThan(5);
    const rowIds = [...html.matchAll(/<tr data-id="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(rowIds)).toEqual(new Set(unresolved.map((f) => f.finding.id)));
    expect(html).toContain(`data-tenant-id="${FOREIGN_TENANT}"`);
    const [latest] = await new ScanRunsStore(storage).latest(1);
    expect(html).toContain(`<dd id="scan-id">${latest!.scanId}</dd>`);
    expect((await http(reportHttp, { method: "GET", path: "report?format=pdf" })).status).toBe(400);
  });
});

describe("HTTP API: allowlist", () => {
  const entry = { tenantId: FOREIGN_TENANT, owner: "netops@contoso.com", reason: "Managed firewall" };
  const put = (id: string, body: unknown, headers: Record<string, string> = {}) =>
    http(allowlistHttp, {
      method: "PUT",
      path: `allowlist/${id}`,
      params: { id },
      body: JSON.stringify(body),
      headers,
    });
  const list = async () =>
    (await http(allowlistHttp, { method: "GET", path: "allowlist" })).jsonBody!.entries as { id: string }[];

  it("creates, reads, replaces and deletes entries", async () => {
    const created = await put("fabrikam", entry);
    expect(created.status).toBe(201);
    expect(created.jsonBody).toMatchObject({ id: "fabrikam", createdBy: "api (function key)", ...entry });
    const replaced = await put("fabrikam", { ...entry, reason: "Renewed", expiresOn: "2027-12-31" });
    expect(replaced.status).toBe(200);
    expect(
      (await http(allowlistHttp, { method: "GET", path: "allowlist/fabrikam", params: { id: "fabrikam" } }))
        .jsonBody,
    ).toMatchObject({
      reason: "Renewed",
      expiresOn: "2027-12-31",
    });
    expect((await list()).map((e) => e.id)).toEqual(["fabrikam"]);
    const del = () =>
      http(allowlistHttp, { method: "DELETE", path: "allowlist/fabrikam", params: { id: "fabrikam" } });
    expect((await del()).status).toBe(204);
    expect((await del()).status).toBe(404);
  });

  it("refuses bad entries and ids, writing nothing", async () => {
    await put("keep", entry);
    const cases: [Promise<HttpResponseInit & { jsonBody?: Record<string, unknown> }>, RegExp][] = [
      [put("bad", { ...entry, tenantId: "nope" }), /tenantId: must be a GUID/],
      [put("bad", { ...entry, colour: "red" }), /Unrecognized key/],
      [
        put("bad", { ...entry, subscriptionId: FOREIGN_TENANT }),
        /exactly one of tenantId, subscriptionId or remoteVnetId/,
      ],
      [put("bad", { ...entry, id: "other" }), /differs from the path/],
      [put("Bad_Id", entry), /not an entry id/],
    ];
    for (const [response, detail] of cases) {
      const r = await response;
      expect(r.status).toBe(400);
      expect(String(r.jsonBody!.detail)).toMatch(detail);
    }
    expect((await list()).map((e) => e.id)).toEqual(["keep"]);
  });
});
