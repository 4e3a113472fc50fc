import { stopSharedAzurite } from "./shared-azurite";

/** jest globalTeardown. */
export default async function globalTeardown(): Promise<void> {
  await stopSharedAzurite();
}
