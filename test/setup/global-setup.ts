import { startSharedAzurite } from "./shared-azurite";

/** jest globalSetup: what every worker of the run shares. */
export default async function globalSetup(): Promise<void> {
  await startSharedAzurite();
}
