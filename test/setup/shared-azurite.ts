import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAzurite, type RunningAzurite } from "../../src/store/azurite";

/**
 * One in-memory Azurite for the whole jest run (jest's globalSetup), shared by every worker
 * instead of one per suite or per test: starting Azurite costs about a second of CPU each time.
 * It serves SHARED_AZURITE_ACCOUNTS storage accounts; `testStorage()` (test/helpers/azurite.ts)
 * claims a fresh one per call, so no two tests ever see each other's tables or queues. The
 * address and the claims directory reach the workers through SHARED_AZURITE_ENV (workers start
 * after globalSetup and inherit its environment).
 */
export const SHARED_AZURITE_ENV = "CTS_TEST_SHARED_AZURITE";
export const SHARED_AZURITE_ACCOUNTS = 1000;

export interface SharedAzurite {
  /** The development account's connection string; tests get other accounts of the same Azurite. */
  connectionString: string;
  /** Directory where each claimed account is a subdirectory (mkdir is atomic across workers). */
  claims: string;
  accounts: number;
}

export const sharedAccountName = (index: number) => `ctstest${index}`;

const state = globalThis as { ctsSharedAzurite?: { azurite: RunningAzurite; claims: string } };

export async function startSharedAzurite(): Promise<void> {
  const claims = mkdtempSync(join(tmpdir(), "cts-azurite-accounts-"));
  const accounts = Array.from({ length: SHARED_AZURITE_ACCOUNTS }, (_, i) => sharedAccountName(i + 1));
  const azurite = await startAzurite({ accounts });
  state.ctsSharedAzurite = { azurite, claims };
  process.env[SHARED_AZURITE_ENV] = JSON.stringify({
    connectionString: azurite.connectionString,
    claims,
    accounts: SHARED_AZURITE_ACCOUNTS,
  } satisfies SharedAzurite);
}

export async function stopSharedAzurite(): Promise<void> {
  const shared = state.ctsSharedAzurite;
  if (!shared) return;
  await shared.azurite.stop();
  rmSync(shared.claims, { recursive: true, force: true });
}
