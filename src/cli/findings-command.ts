import { parseArgs } from "node:util";
import { InputError } from "../errors";
import { checkOf } from "../scanners/findings";
import { LISTED_STATES, listFindings, type ListedFinding, type ListedState } from "../scan/findings-view";
import type { Storage } from "../store/storage";
import type { CliIo } from "./io";
import { renderTable, type Column } from "./table";

/** The findings table for people (the CLI's `findings` and the demo). */
export const FINDING_COLUMNS: Column<ListedFinding>[] = [
  // A stale finding keeps its state, but nobody has looked since LAST SEEN.
  { title: "STATE", cell: (s) => (s.coverage ? `${s.state} (stale)` : s.state) },
  { title: "SEVERITY", cell: (s) => s.finding.severity },
  { title: "KIND", cell: (s) => s.finding.kind },
  { title: "LOCAL", cell: (s) => checkOf(s.finding).local(s.finding) },
  { title: "REMOTE", cell: (s) => checkOf(s.finding).remote(s.finding) },
  {
    title: "REMOTE TENANT",
    cell: (s) =>
      s.finding.remoteTenantName ??
      s.finding.remoteTenantId ??
      // A guest's home tenant is not known, yet it is another tenant: not "unresolved".
      (s.finding.relation === "unresolved" ? "unresolved" : "unknown"),
  },
  { title: "FIRST SEEN", cell: (s) => s.firstSeen.slice(0, 19) },
  { title: "LAST SEEN", cell: (s) => s.lastSeen.slice(0, 19) },
];

/** `findings [--status S] [--format table|json]`: the stored findings and where they stand. */
export async function findingsCommand(args: string[], io: CliIo, storage: Storage): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { status: { type: "string" }, format: { type: "string", default: "table" } },
    strict: true,
    allowPositionals: false,
  });
  const state = values.status as ListedState | undefined;
  if (state !== undefined && !LISTED_STATES.includes(state)) {
    throw new InputError(`--status must be one of ${LISTED_STATES.join(", ")}, not "${values.status}".`);
  }
  if (values.format !== "table" && values.format !== "json") {
    throw new InputError(`--format must be table or json, not "${values.format}".`);
  }
  const listed = await listFindings(storage, state ? { state } : {});
  if (values.format === "json") io.stdout(JSON.stringify(listed, null, 2) + "\n");
  else
    io.stdout(
      [...renderTable(listed, FINDING_COLUMNS, io.color), `${listed.length} finding(s)`].join("\n") + "\n",
    );
  return 0;
}
