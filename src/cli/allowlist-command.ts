import { parseArgs } from "node:util";
import { matchKeyOf } from "../allowlist/entry";
import { EXPORT_FORMATS, exportAllowlist, type ExportFormat } from "../allowlist/export";
import { readAllowlistFile } from "../allowlist/file";
import { isExpired } from "../allowlist/match";
import { InputError, errorMessage } from "../errors";
import { AllowlistStore, type StoredAllowlistEntry } from "../store/allowlist-store";
import type { Storage } from "../store/storage";
import { EXIT, type CliIo } from "./io";
import { renderTable, type Column, type Style } from "./table";

const USAGE = `Usage:
  cross-tenant-scanner allowlist import FILE                 Replace the stored allowlist with FILE (JSON or YAML).
  cross-tenant-scanner allowlist export [--format yaml|json] Write the stored allowlist to stdout as a file.
  cross-tenant-scanner allowlist list                        Show the stored allowlist as a table.`;

const DAY_MS = 24 * 60 * 60 * 1000;
const SOON_DAYS = 30;

/** node:util parseArgs throws plain errors for unknown options; they are usage errors like any other. */
function usageErrors<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new InputError(`${errorMessage(error)}\n${USAGE}`);
  }
}

const positionalsOf = (args: string[]) =>
  usageErrors(() => parseArgs({ args, options: {}, strict: true, allowPositionals: true })).positionals;

function expectPositionals(positionals: string[], names: string[]): void {
  if (positionals.length !== names.length)
    throw new InputError(
      names.length === 0
        ? `Unexpected argument "${positionals[0]}".\n${USAGE}`
        : `Expected ${names.join(" ")}.\n${USAGE}`,
    );
}

async function importCommand(args: string[], io: CliIo, storage: Storage): Promise<number> {
  const positionals = positionalsOf(args);
  expectPositionals(positionals, ["FILE"]);
  const file = positionals[0]!;
  const entries = await readAllowlistFile(file);
  const result = await new AllowlistStore(storage).replaceAll(entries, io.env.USER ?? "cli");
  io.stderr(
    `Imported ${entries.length} entr${entries.length === 1 ? "y" : "ies"} from ${file} into the allowlist in ${storage.describe}: ` +
      `${result.added} added, ${result.changed} changed, ${result.removed} removed, ${result.unchanged} unchanged.\n`,
  );
  return EXIT.ok;
}

async function exportCommand(args: string[], io: CliIo, storage: Storage): Promise<number> {
  const { values, positionals } = usageErrors(() =>
    parseArgs({
      args,
      options: { format: { type: "string", default: "yaml" } },
      strict: true,
      allowPositionals: true,
    }),
  );
  expectPositionals(positionals, []);
  const format = values.format as ExportFormat;
  if (!EXPORT_FORMATS.includes(format))
    throw new InputError(`--format must be one of ${EXPORT_FORMATS.join(", ")}, not "${values.format}".`);
  io.stdout(exportAllowlist(await new AllowlistStore(storage).list(), format));
  return EXIT.ok;
}

/** Red once expired, yellow in the last 30 days, so renewals are not missed. */
function expiryStyle(entry: StoredAllowlistEntry, now: Date): Style | undefined {
  if (entry.expiresOn === undefined) return undefined;
  if (isExpired(entry, now)) return "red";
  const end = Date.parse(`${entry.expiresOn}T23:59:59.999Z`);
  return end - now.getTime() <= SOON_DAYS * DAY_MS ? "yellow" : undefined;
}

function allowlistTable(entries: StoredAllowlistEntry[], color: boolean, now: Date): string {
  const columns: Column<StoredAllowlistEntry>[] = [
    { title: "ID", cell: (e) => e.id },
    { title: "MATCHES", cell: (e) => `${matchKeyOf(e)}=${e[matchKeyOf(e)]}` },
    { title: "LOCAL SCOPE", cell: (e) => e.localScope ?? "-" },
    { title: "EXPIRES", cell: (e) => e.expiresOn ?? "never", style: (e) => expiryStyle(e, now) },
    { title: "OWNER", cell: (e) => e.owner },
    { title: "REASON", cell: (e) => e.reason },
    { title: "TICKET", cell: (e) => e.ticket ?? "-" },
  ];
  const out =
    entries.length > 0 ? [...renderTable(entries, columns, color), ""] : ["The allowlist is empty."];
  const expired = entries.filter((e) => isExpired(e, now)).length;
  out.push(`${entries.length} entr${entries.length === 1 ? "y" : "ies"} (${expired} expired)`);
  return out.join("\n") + "\n";
}

async function listCommand(args: string[], io: CliIo, storage: Storage): Promise<number> {
  expectPositionals(positionalsOf(args), []);
  io.stdout(allowlistTable(await new AllowlistStore(storage).list(), io.color, new Date()));
  return EXIT.ok;
}

/** `cross-tenant-scanner allowlist import|export|list`: the allowlist kept in Table Storage. */
export async function allowlistCommand(args: string[], io: CliIo, storage: Storage): Promise<number> {
  const [subcommand, ...rest] = args;
  switch (subcommand) {
    case "import":
      return importCommand(rest, io, storage);
    case "export":
      return exportCommand(rest, io, storage);
    case "list":
      return listCommand(rest, io, storage);
    case "help":
    case "--help":
    case "-h":
      io.stdout(`${USAGE}\n`);
      return EXIT.ok;
    case undefined:
      throw new InputError(`The allowlist command needs import, export or list.\n${USAGE}`);
    default:
      throw new InputError(`Unknown allowlist command "${subcommand}".\n${USAGE}`);
  }
}
