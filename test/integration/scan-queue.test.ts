import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { loadConfig } from "../../src/config";
import { sandboxConnection } from "../../src/sandbox/connection";
import { startSandbox, type RunningSandbox } from "../../src/sandbox/server";
import { TEST_QUOTA } from "../helpers/sandbox";
import { runLeasedScan } from "../../src/scan/leased-scan";
import {
  coversScope,
  requestScan,
  ScanQueueFullError,
  runRequestedScan,
  SCAN_REQUESTS_QUEUE,
} from "../../src/scan/queued-scan";
import { ScanLease } from "../../src/store/scan-lease";
import { ScanRunsStore } from "../../src/store/scan-runs";
import { ScheduledScanOwed } from "../../src/store/scheduled-scan-owed";
import { crossTenantEstate } from "../helpers/estate-builder";
import { testStorage, type TestStorage } from "../helpers/azurite";

const SUB = (n: number) => `00000000-0000-0000-0000-${String(n).padStart(12, "0")}`;

const ESTATE = crossTenantEstate(1);
let state: TestStorage;
let sandbox: RunningSandbox;
beforeAll(async () => {
  state = await testStorage();
  sandbox = await startSandbox({ estate: ESTATE, quota: TEST_QUOTA });
});
afterAll(async () => {
  await sandbox.close();
  await state.stop();
});

const config = loadConfig({ SCAN_REQUESTS_MAX_WAITING: "3", AZURE_MAX_RETRIES: "1" });
const deps = () => ({
  storage: state.storage,
  config,
  connection: { ...sandboxConnection(sandbox, ESTATE, config), retryOptions: { maxRetries: 1 } },
  log: () => {},
});

describe("requested scans are bounded", () => {
  it("a waiting scan whose scope covers the one asked for answers it", () => {
    const whole = { managementGroups: [], subscriptions: [] };
    const two = { managementGroups: [], subscriptions: [SUB(1), SUB(2)] };
    expect(coversScope(whole, two)).toBe(true);
    expect(coversScope(two, { managementGroups: [], subscriptions: [SUB(2).toUpperCase()] })).toBe(true);
    expect(coversScope(two, { managementGroups: [], subscriptions: [SUB(3)] })).toBe(false);
    expect(coversScope(two, whole)).toBe(false);
    expect(
      coversScope(
        { managementGroups: ["mg-\u212A"], subscriptions: [] },
        { managementGroups: ["mg-k"], subscriptions: [] },
      ),
    ).toBe(false);
  });

  it("40 requests with different scopes queue at most SCAN_REQUESTS_MAX_WAITING; the rest are refused with a retry time (the API's 429)", async () => {
    const statuses: string[] = [];
    let retryAfter = 0;
    for (let i = 1; i <= 40; i++) {
      const outcome = await requestScan(deps(), {
        scope: { managementGroups: [], subscriptions: [SUB(i)] },
        dryRun: false,
      }).then(
        () => "queued",
        (error: unknown) => {
          if (!(error instanceof ScanQueueFullError)) throw error;
          retryAfter = error.retryAfterSeconds;
          return "full";
        },
      );
      statuses.push(outcome);
    }
    expect(statuses.filter((s) => s === "queued")).toHaveLength(3);
    expect(statuses.filter((s) => s === "full")).toHaveLength(37);
    expect(retryAfter).toBeGreaterThan(0);
    const queue = await state.storage.queue(SCAN_REQUESTS_QUEUE);
    expect((await queue.getProperties()).approximateMessagesCount).toBe(3);
    // A request inside a waiting scope is folded into it, even with the queue full.
    const folded = await requestScan(deps(), {
      scope: { managementGroups: [], subscriptions: [SUB(2)] },
      dryRun: false,
    });
    expect(folded.existing).toBe(true);
  });

  it("a timer scan kept out by a requested scan runs first when the next requested scan takes the lease", async () => {
    const runs = new ScanRunsStore(state.storage);
    const queue = await state.storage.queue(SCAN_REQUESTS_QUEUE);
    const lease = await new ScanLease(state.storage).acquire("http-scan", "http");
    expect(lease.acquired).toBe(true);
    const skipped = await runLeasedScan({ ...deps(), trigger: "timer" });
    expect(skipped.ran).toBe(false);
    expect(await new ScheduledScanOwed(state.storage).since()).toBeDefined();
    if (lease.acquired) await lease.release();

    const [message] = (await queue.receiveMessages({ numberOfMessages: 1 })).receivedMessageItems;
    const request = JSON.parse(Buffer.from(message!.messageText, "base64").toString("utf8")) as unknown;
    expect(await runRequestedScan(request, deps())).toBe("finished");
    const timerRuns = (await runs.recent(50)).filter((r) => r.trigger === "timer" && r.status === "finished");
    expect(timerRuns).toHaveLength(1);
    expect(await new ScheduledScanOwed(state.storage).since()).toBeUndefined();
  });

  it("a timer scan that comes while the last requested scan runs is run when it is done", async () => {
    const runs = new ScanRunsStore(state.storage);
    const queue = await state.storage.queue(SCAN_REQUESTS_QUEUE);
    await queue.clearMessages();
    const timerRunsBefore = (await runs.recent(50)).filter((r) => r.trigger === "timer").length;
    const requested = await requestScan(deps(), {
      scope: { managementGroups: [], subscriptions: [SUB(7)] },
      dryRun: false,
    });
    expect(requested.existing).toBe(false);
    const [message] = (await queue.receiveMessages({ numberOfMessages: 1 })).receivedMessageItems;
    const request = JSON.parse(Buffer.from(message!.messageText, "base64").toString("utf8")) as unknown;
    let skipped: boolean | undefined;
    const outcome = await runRequestedScan(request, {
      ...deps(),
      // The timer fires while the requested scan holds the lease, and no request follows it.
      atStage: async (stage) => {
        if (stage === "scanned") skipped = !(await runLeasedScan({ ...deps(), trigger: "timer" })).ran;
      },
    });
    expect(outcome).toBe("finished");
    expect(skipped).toBe(true);
    const timerRuns = (await runs.recent(50)).filter((r) => r.trigger === "timer" && r.status === "finished");
    expect(timerRuns.length - timerRunsBefore).toBe(1);
    expect(await new ScheduledScanOwed(state.storage).since()).toBeUndefined();
  });
});
