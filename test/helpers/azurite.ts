import { startAzurite, type RunningAzurite } from "../../src/store/azurite";
import { storageFromConnectionString, type Storage } from "../../src/store/storage";

export interface TestStorage {
  azurite: RunningAzurite;
  storage: Storage;
  stop(): Promise<void>;
}

/** A fresh in-memory Azurite on free ports, and the scanner's Storage on it. */
export async function testStorage(): Promise<TestStorage> {
  const azurite = await startAzurite();
  return {
    azurite,
    storage: storageFromConnectionString(azurite.connectionString, "test Azurite"),
    stop: () => azurite.stop(),
  };
}
