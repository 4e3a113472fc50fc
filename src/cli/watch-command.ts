import { parseArgs } from "node:util";
import { loadConfig } from "../config";
import { InputError } from "../errors";
import type { Logger } from "../log";
import { pollPeeringChanges } from "../watch/change-poll";
import type { Storage } from "../store/storage";
import { connectTo } from "./connect";
import { homeTenantOf } from "../azure/connection";
import { EXIT, type CliIo } from "./io";

export const WATCH_USAGE = `Usage: cross-tenant-scanner watch [--estate FILE] [--interval SECONDS] [--polls N]`;

/**
 * The change poller in a loop, as the peeringChanges timer runs it: each poll reads Resource
 * Graph's change feed since the last one and re-checks the changed VNets against ARM.
 */
export async function watchCommand(
  args: string[],
  io: CliIo,
  log: Logger,
  withStorage: <T>(work: (storage: Storage) => Promise<T>) => Promise<T>,
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      estate: { type: "string" },
      interval: { type: "string", default: "60" },
      polls: { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  const interval = Number(values.interval);
  if (!Number.isFinite(interval) || interval < 0)
    throw new InputError(`--interval must be a number of seconds, not "${values.interval}".\n${WATCH_USAGE}`);
  const polls = values.polls === undefined ? Infinity : Number(values.polls);
  if (!Number.isInteger(polls) && polls !== Infinity)
    throw new InputError(`--polls must be a whole number, not "${values.polls}".\n${WATCH_USAGE}`);
  const config = loadConfig(io.env);

  const { connection, close, sandboxUrl } = await connectTo(values.estate, io, config);
  if (sandboxUrl)
    io.stderr(`Sandbox serving ${values.estate} at ${sandboxUrl} (ARM network writes there are watched)\n`);

  // Signed in before the loop starts: a missing credential is said at once, in one line.
  try {
    await homeTenantOf(connection);
  } catch (error) {
    await close();
    throw error;
  }

  let stopping = false;
  const stop = () => {
    stopping = true;
  };
  process.once("SIGINT", stop);
  try {
    return await withStorage(async (storage) => {
      for (let n = 0; n < polls && !stopping; n++) {
        if (n > 0) await new Promise((resolve) => setTimeout(resolve, interval * 1000));
        const result = await pollPeeringChanges({ connection, config, storage, log });
        if (!result.ran) {
          io.stdout(`${new Date().toISOString()} skipped: ${result.reason}\n`);
          continue;
        }
        const delta = result.check?.delta;
        io.stdout(
          `${new Date().toISOString()} ${result.changes} change(s), ${result.check?.checked.length ?? 0} VNet(s) re-checked: ` +
            `${delta?.new.length ?? 0} new, ${delta?.reopened.length ?? 0} reopened, ${delta?.resolved.length ?? 0} resolved` +
            `${result.advanced ? "" : " (not all read; the next poll reads them again)"}\n`,
        );
      }
      return EXIT.ok;
    });
  } finally {
    process.removeListener("SIGINT", stop);
    await close();
  }
}
