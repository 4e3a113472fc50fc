import type { Agent } from "node:https";
import { dispatchAlert } from "../../src/alerts/dispatch";
import { ALERTS_QUEUE, POISON_QUEUE } from "../../src/alerts/emit";
import type { AllowlistEntry } from "../../src/allowlist/entry";
import { loadConfig, type Config } from "../../src/config";
import { sandboxConnection } from "../../src/sandbox/connection";
import type { Estate } from "../../src/sandbox/estate";
import { startSandbox, type RunningSandbox, type SandboxOptions } from "../../src/sandbox/server";
import { runScan, type ScanOptions } from "../../src/scan/run-scan";
import type { ScanReport } from "../../src/findings/report";
import { drainQueue, type DrainResult } from "../../src/sandbox/queue-host";
import type { Storage } from "../../src/store/storage";

export interface SandboxScan {
  sandbox: RunningSandbox;
  scan(
    options?: { allowlist?: AllowlistEntry[]; env?: Record<string, string>; at?: Date } & Omit<
      Partial<ScanOptions>,
      "allowlist"
    >,
  ): Promise<ScanReport>;
  close(): Promise<void>;
}

/**
 * Resource Graph's quota for tests that do not test it: Azure's 15 requests, in a window of 250 ms
 * instead of 5 s. Several scans on one sandbox then wait milliseconds, not seconds, for the window
 * to reset; the scanner still reads and obeys the same quota headers.
 */
export const TEST_QUOTA = { requests: 15, windowMs: 250 };

/** For tests that count requests, not seconds: a quota no test reaches, so nothing waits on it. */
export const NO_QUOTA_WAITS = { quota: { requests: 10_000, windowMs: 1000 } };

/** How the Functions host drains a queue, as tests run it: 5 deliveries, retries visible at once. */
export const HOST_LIKE_DRAIN = { maxDequeueCount: 5, visibilityTimeoutSeconds: 0, timeoutMs: 30_000 };

/**
 * Delivers the queued alerts as the Functions host would (HOST_LIKE_DRAIN): each through the alert
 * function's dispatch to receivers `agent` trusts, quietly, with no wait between tries.
 */
export async function deliverQueuedAlerts(
  storage: Storage,
  config: Config,
  agent: Agent,
): Promise<DrainResult> {
  const deps = { storage, config, log: () => {}, agent, sleep: async () => {}, backoffMs: 1 };
  return drainQueue(
    await storage.queue(ALERTS_QUEUE),
    await storage.queue(POISON_QUEUE),
    (m) => dispatchAlert(m, deps),
    HOST_LIKE_DRAIN,
  );
}

/**
 * Starts the sandbox on an estate; `scan` runs the real scan (real SDK clients) against it.
 * Without `options.quota`, the sandbox uses TEST_QUOTA.
 */
export async function sandboxScan(
  estate: Estate,
  options: Omit<SandboxOptions, "estate"> = {},
): Promise<SandboxScan> {
  const sandbox = await startSandbox({ quota: TEST_QUOTA, ...options, estate });
  return {
    sandbox,
    scan: async ({ allowlist = [], env = {}, at, ...rest } = {}) => {
      const config: Config = loadConfig({ AZURE_MAX_RETRIES: "2", ...env });
      return runScan({
        connection: {
          ...sandboxConnection(sandbox, estate, config),
          retryOptions: { maxRetries: config.AZURE_MAX_RETRIES, retryDelayInMs: 20, maxRetryDelayInMs: 200 },
        },
        config,
        allowlist,
        ...(at ? { now: () => at } : {}),
        ...rest,
      });
    },
    close: () => sandbox.close(),
  };
}
