import { liveConnection, type AzureConnection } from "../azure/connection";
import type { Config } from "../config";
import { sandboxConnection } from "../sandbox/connection";
import { readEstateFile } from "../sandbox/estate";
import { startSandbox } from "../sandbox/server";
import type { CliIo } from "./io";

/** Where a command talks to Azure: live Azure, or the sandbox serving an estate file until `close`. */
export async function connectTo(
  estatePath: string | undefined,
  io: CliIo,
  config: Config,
): Promise<{ connection: AzureConnection; close: () => Promise<void>; sandboxUrl?: string }> {
  if (!estatePath) return { connection: liveConnection(config), close: async () => {} };
  const estate = await readEstateFile(estatePath);
  const sandbox = await startSandbox({ ...io.sandbox, estate });
  return {
    connection: sandboxConnection(sandbox, estate, config),
    close: sandbox.close,
    sandboxUrl: sandbox.url,
  };
}
