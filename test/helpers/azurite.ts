import { mkdirSync } from "node:fs";
import type { TableServiceClientOptions } from "@azure/data-tables";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { join } from "node:path";
import { azuriteConnectionString, startAzurite, type RunningAzurite } from "../../src/store/azurite";
import { storageFromConnectionString, type Storage } from "../../src/store/storage";
import { SHARED_AZURITE_ENV, sharedAccountName, type SharedAzurite } from "../setup/shared-azurite";

export interface TestStorage {
  azurite: RunningAzurite;
  storage: Storage;
  stop(): Promise<void>;
}

/**
 * Fresh, empty storage for one test or suite, and the scanner's Storage on it: a storage account
 * of its own in the run's shared Azurite (test/setup/shared-azurite.ts), or, outside a jest run
 * with that setup, a fresh in-memory Azurite on free ports. Either way nothing another test wrote
 * is visible, and `azurite.connectionString` reaches the same account (for code that reads
 * AzureWebJobsStorage). `stop()` ends a private Azurite; the shared one outlives the test.
 */
export async function testStorage(options?: TableServiceClientOptions): Promise<TestStorage> {
  const account = claimSharedAccount();
  const azurite = account ?? (await startAzurite());
  return {
    azurite,
    storage: storageFromConnectionString(azurite.connectionString, "test Azurite", options),
    stop: () => azurite.stop(),
  };
}

let nextClaim = 1;

/** The next unclaimed account of the shared Azurite, or undefined when there is none to claim. */
function claimSharedAccount(): RunningAzurite | undefined {
  const raw = process.env[SHARED_AZURITE_ENV];
  if (!raw) return undefined;
  const shared = JSON.parse(raw) as SharedAzurite;
  const port = (service: string) =>
    Number(
      shared.connectionString.match(new RegExp(`${service}Endpoint=http://127\\.0\\.0\\.1:(\\d+)/`))?.[1],
    );
  const ports = { blob: port("Blob"), queue: port("Queue"), table: port("Table") };
  for (; nextClaim <= shared.accounts; nextClaim++) {
    try {
      // mkdir is atomic: of all workers and suites, exactly one gets each account.
      mkdirSync(join(shared.claims, String(nextClaim)));
    } catch {
      continue;
    }
    const account = sharedAccountName(nextClaim++);
    return { connectionString: azuriteConnectionString(ports, account), stop: async () => {} };
  }
  return undefined;
}

/** Counts the storage requests that change something (anything but reads): add `policy` per call. */
export function writeCounter() {
  const writes: string[] = [];
  const policy: PipelinePolicy = {
    name: "count-writes",
    sendRequest: (request, next) => {
      if (request.method !== "GET") writes.push(`${request.method} ${new URL(request.url).pathname}`);
      return next(request);
    },
  };
  return { writes, policy };
}
