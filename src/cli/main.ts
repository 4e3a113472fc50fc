import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { CredentialUnavailableError } from "@azure/identity";
import { readAllowlistFile } from "../allowlist/file";
import type { AllowlistEntry } from "../allowlist/entry";
import { loadConfig } from "../config";
import { InputError, errorMessage } from "../errors";
import type { Logger } from "../log";
import { runRecordedScan } from "../scan/record-scan";
import { startAzurite } from "../store/azurite";
import { storageFromConnectionString, storageFromEnv, type Storage } from "../store/storage";
import { replayPoison } from "../alerts/replay";
import { allowlistCommand } from "./allowlist-command";
import { findingsCommand } from "./findings-command";
import { watchCommand } from "./watch-command";
import { doctorCommand } from "./doctor-command";
import { homeTenantOf } from "../azure/connection";
import { FORMATS, formatReport, type Format } from "./format";
import { connectTo } from "./connect";
import { EXIT, type CliIo } from "./io";
import { terminalText } from "../text";

const USAGE = `Usage: cross-tenant-scanner <command> [options]

Commands:
  scan                     Scan live Azure with DefaultAzureCredential (e.g. after 'az login').
  scan --estate FILE       Scan the simulated estate in FILE, served by the local sandbox.
  allowlist import FILE    Replace the stored allowlist with FILE (all entries valid, or nothing changes).
  allowlist export         Print the stored allowlist as YAML (--format json for JSON).
  allowlist list           Show the stored allowlist, expiry highlighted.
  findings [--status S]    Stored findings (S: new, open, allowed, expired-exception, resolved).
  watch [--estate FILE]    Run the change poller in a loop (--interval SECONDS, default 60; --polls N):
                           peerings created or deleted are alerted within minutes, not at the next scan.
  doctor [--estate FILE]   Check the identity's reach and every assumption the scan makes, live, writing
                           nothing (--format table or json). Exit 0 when nothing fails, 3 otherwise.
  alerts replay-poison     Move alerts that could not be delivered back to the alerts queue, each at
                           most once a run (--max N: at most N); messages that are not alerts stay.

Options of scan:
  --allowlist FILE         Judge peerings against this allowlist file (JSON or YAML), not the stored one.
  --format FORMAT          table (default), json, csv, markdown, html or sarif. The report goes to
                           stdout, progress and logs to stderr. html: one self-contained page with
                           the tenant map and a filterable findings table (no network fetches);
                           sarif: SARIF 2.1.0 for code-scanning dashboards (one result per finding
                           that needs action).

Exit codes: 0 complete, no violation; 1 complete with violations; 2 bad usage or input, or no
Azure credential; 3 scan incomplete or failed.

--verbose (any command): on a sign-in failure, every credential's reason, not one line.

State (allowlist, findings, scan runs) is kept in the storage account of AzureWebJobsStorage, or
else in an embedded Azurite under CLI_STATE_DIR (default .cross-tenant-scanner).
`;

/**
 * Runs `work` with the configured storage account, or with an embedded Azurite kept on disk so
 * that state survives between CLI runs.
 */
async function withStorage<T>(
  io: CliIo,
  stateDir: string,
  work: (storage: Storage) => Promise<T>,
): Promise<T> {
  const configured = storageFromEnv(io.env);
  if (configured) return work(configured);
  const location = resolve(stateDir, "azurite");
  await mkdir(location, { recursive: true });
  const azurite = await startAzurite({ location });
  io.stderr(`State: embedded Azurite in ${location} (set AzureWebJobsStorage to use a storage account)\n`);
  try {
    return await work(
      storageFromConnectionString(azurite.connectionString, `embedded Azurite in ${location}`),
    );
  } finally {
    await azurite.stop();
  }
}

/** Progress for people on stderr: one line per event, no secrets (events carry none). */
function stderrLogger(io: CliIo): Logger {
  return (level, event, fields = {}) => {
    if (level === "debug") return;
    const { scanId: _scanId, ...rest } = fields;
    const details = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ");
    // Fields can hold outside text (names in error messages): no terminal controls get through.
    io.stderr(
      terminalText(`${level === "info" ? "" : `${level}: `}${event}${details ? ` ${details}` : ""}`) + "\n",
    );
  };
}

async function scanCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      estate: { type: "string" },
      allowlist: { type: "string" },
      format: { type: "string", default: "table" },
    },
    strict: true,
    allowPositionals: false,
  });
  const format = values.format as Format;
  if (!FORMATS.includes(format))
    throw new InputError(`--format must be one of ${FORMATS.join(", ")}, not "${values.format}".`);
  const config = loadConfig(io.env);

  const allowlist: AllowlistEntry[] | undefined = values.allowlist
    ? await readAllowlistFile(values.allowlist)
    : undefined;

  const { connection, close, sandboxUrl } = await connectTo(values.estate, io, config);
  try {
    // Signed in before anything else is said or started: a missing credential is one line.
    await homeTenantOf(connection);
    if (sandboxUrl) io.stderr(`Sandbox serving ${values.estate} at ${sandboxUrl}\n`);
    io.stderr(
      allowlist
        ? `Allowlist: ${allowlist.length} entr${allowlist.length === 1 ? "y" : "ies"} from ${values.allowlist}\n`
        : "Allowlist: the stored one (set it with 'allowlist import FILE').\n",
    );
    const report = await withStorage(io, config.CLI_STATE_DIR, (storage) =>
      runRecordedScan({
        connection,
        config,
        storage,
        trigger: "cli",
        log: stderrLogger(io),
        ...(allowlist ? { allowlist } : {}),
      }),
    );
    io.stdout(formatReport(report, format, io.color && format === "table"));
    const lost = report.coverage?.lostSubscriptions ?? [];
    if (lost.length > 0) {
      // Ids as JSON strings: quoted and escaped, whatever a stored id holds.
      io.stderr(
        `Out of sight: ${lost.map((id) => JSON.stringify(id)).join(", ")}. Their findings are kept as they were (stale), not resolved; check the scanner's Reader access and the scope.\n`,
      );
    }
    if (!report.complete) return EXIT.incomplete;
    return report.stats.violations > 0 ? EXIT.violations : EXIT.ok;
  } finally {
    await close();
  }
}

const REPLAY_USAGE = "Usage: cross-tenant-scanner alerts replay-poison [--max N]";

async function alertsCommand(args: string[], io: CliIo, storage: Storage): Promise<number> {
  const [subcommand, ...rest] = args;
  if (subcommand !== "replay-poison") throw new InputError(REPLAY_USAGE);
  const { values } = parseArgs({ args: rest, options: { max: { type: "string" } }, strict: true });
  if (values.max !== undefined && !/^[1-9]\d{0,8}$/.test(values.max)) {
    throw new InputError(`--max must be a whole number of at least 1, not "${values.max}".\n${REPLAY_USAGE}`);
  }
  const result = await replayPoison(storage, values.max ? { max: Number(values.max) } : {});
  const skipped = result.invalid.length + result.failedAgain + result.notLookedAt;
  io.stderr(
    `Moved ${result.moved} message(s) from alerts-poison back to the alerts queue in ${storage.describe}; ` +
      `skipped ${skipped}: ${result.invalid.length} not alert messages, ${result.failedAgain} failed again during this run, ` +
      `${result.notLookedAt} not looked at (--max, or not there at the start). Skipped messages stay in alerts-poison.\n`,
  );
  for (const { messageId, reason } of result.invalid)
    io.stderr(`  not replayed: message ${messageId}: ${reason}\n`);
  return EXIT.ok;
}

/** node:util parseArgs rejects unknown or malformed options with an ERR_PARSE_ARGS_* code. */
const isParseArgsError = (error: unknown): error is { message: string } =>
  typeof error === "object" &&
  error !== null &&
  String((error as { code?: unknown }).code).startsWith("ERR_PARSE_ARGS");

/** A sign-in failure of DefaultAzureCredential (or any credential), wherever in the cause chain. */
export function isNoCredential(error: unknown): error is Error {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (
      e instanceof CredentialUnavailableError ||
      e.name === "AggregateAuthenticationError" ||
      e.name === "CredentialUnavailableError"
    )
      return true;
  }
  return false;
}

/** What a new user sees without an Azure sign-in: one line naming the three ways to give one. */
export const NO_CREDENTIAL =
  "error: no Azure credential found. Sign in with 'az login', or set AZURE_TENANT_ID, AZURE_CLIENT_ID and " +
  "AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH), or run where a managed identity is available. " +
  "Run again with --verbose for each credential's reason.";

export async function main(argv: string[], io: CliIo): Promise<number> {
  const verbose = argv.includes("--verbose");
  const [command, ...rest] = argv.filter((arg) => arg !== "--verbose");
  try {
    if (command === "scan") return await scanCommand(rest, io);
    if (command === "doctor") return await doctorCommand(rest, io);
    if (command === "watch")
      return await watchCommand(rest, io, stderrLogger(io), (work) =>
        withStorage(io, loadConfig(io.env).CLI_STATE_DIR, work),
      );
    if (command === "allowlist" || command === "findings" || command === "alerts") {
      const config = loadConfig(io.env);
      return await withStorage(io, config.CLI_STATE_DIR, (storage) =>
        command === "allowlist"
          ? allowlistCommand(rest, io, storage)
          : command === "findings"
            ? findingsCommand(rest, io, storage)
            : alertsCommand(rest, io, storage),
      );
    }
    if (command === undefined || command === "help" || command === "--help" || command === "-h") {
      io.stdout(USAGE);
      return command === undefined ? EXIT.usage : EXIT.ok;
    }
    throw new InputError(`Unknown command "${command}". Run 'cross-tenant-scanner help' for the commands.`);
  } catch (error) {
    if (error instanceof InputError || isParseArgsError(error)) {
      io.stderr(`error: ${terminalText(error.message, true)}\n`);
      return EXIT.usage;
    }
    if (isNoCredential(error)) {
      io.stderr(`${NO_CREDENTIAL}\n`);
      if (verbose) io.stderr(`${terminalText(errorMessage(error), true)}\n`);
      return EXIT.usage;
    }
    io.stderr(`error: the scan failed: ${terminalText(errorMessage(error), true)}\n`);
    return EXIT.incomplete;
  }
}

/** Entry point of the `cross-tenant-scanner` command. */
export function run(argv: string[]): void {
  const io: CliIo = {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    color: process.stdout.isTTY === true && !process.env.NO_COLOR,
    env: process.env,
  };
  main(argv, io).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`error: ${errorMessage(error)}\n`);
      process.exitCode = EXIT.incomplete;
    },
  );
}

if (require.main === module) run(process.argv.slice(2));
