import { parseArgs } from "node:util";
import { parseResourceId } from "../azure/resource-id";
import { InputError } from "../errors";
import type { StoredFinding } from "../scan/reconcile";
import { FindingsStore } from "../store/findings-store";
import { ScanRunsStore } from "../store/scan-runs";
import type { Storage } from "../store/storage";
import type { CliIo } from "./main";
import { renderTable, type Column } from "./table";

const STATES = ["new", "open", "allowed", "expired-exception", "resolved"] as const;
type ListedState = (typeof STATES)[number];

/** A finding is "new" while the latest scan is the one that first saw it. */
const listedState = (s: StoredFinding, latestScanId: string | undefined): ListedState =>
  s.state === "open" && s.firstScanId === latestScanId ? "new" : s.state;

const nameOf = (id: string) => parseResourceId(id)?.name ?? id;

/** `findings [--status S] [--format table|json]`: the stored findings and where they stand. */
export async function findingsCommand(args: string[], io: CliIo, storage: Storage): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { status: { type: "string" }, format: { type: "string", default: "table" } },
    strict: true,
    allowPositionals: false,
  });
  const status = values.status as ListedState | undefined;
  if (status !== undefined && !STATES.includes(status)) {
    throw new InputError(`--status must be one of ${STATES.join(", ")}, not "${values.status}".`);
  }
  if (values.format !== "table" && values.format !== "json") {
    throw new InputError(`--format must be table or json, not "${values.format}".`);
  }
  const runs = await new ScanRunsStore(storage).latest(50);
  const latest = runs[0];
  // Unchanged findings are not rewritten per scan: an unresolved one was seen by the latest complete scan.
  const lastComplete = runs.find((r) => r.complete)?.finishedAt;
  const lastSeen = (s: StoredFinding) => (s.state !== "resolved" && lastComplete ? lastComplete : s.lastSeen);
  const listed = (await new FindingsStore(storage).list())
    .map((s) => ({ ...s, lastSeen: lastSeen(s), listedState: listedState(s, latest?.scanId) }))
    .filter((s) => status === undefined || s.listedState === status)
    .sort((a, b) => a.firstSeen.localeCompare(b.firstSeen) || a.finding.id.localeCompare(b.finding.id));

  if (values.format === "json") {
    io.stdout(
      JSON.stringify(
        listed.map(({ etag: _etag, listedState, ...s }) => ({ ...s, state: listedState })),
        null,
        2,
      ) + "\n",
    );
    return 0;
  }
  const columns: Column<(typeof listed)[number]>[] = [
    { title: "STATE", cell: (s) => s.listedState },
    { title: "SEVERITY", cell: (s) => s.finding.severity },
    { title: "LOCAL VNET", cell: (s) => nameOf(s.finding.localVnetId) },
    { title: "REMOTE VNET", cell: (s) => nameOf(s.finding.remoteVnetId) },
    {
      title: "REMOTE TENANT",
      cell: (s) => s.finding.remoteTenantName ?? s.finding.remoteTenantId ?? "unresolved",
    },
    { title: "FIRST SEEN", cell: (s) => s.firstSeen.slice(0, 19) },
    { title: "LAST SEEN", cell: (s) => s.lastSeen.slice(0, 19) },
  ];
  io.stdout([...renderTable(listed, columns, io.color), `${listed.length} finding(s)`].join("\n") + "\n");
  return 0;
}
