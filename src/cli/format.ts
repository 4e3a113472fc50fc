import { parseResourceId } from "../azure/resource-id";
import type { ScanReport } from "../scan/report";
import type { PeeringFinding } from "../scanners/peering/finding";
import { deletePeeringCommand } from "../scanners/peering/metadata";
import { codeSpan, csvCell, escapeMarkdown, terminalText } from "../text";
import { paint, renderTable, type Column, type Style } from "./table";

export const FORMATS = ["table", "json", "csv", "markdown"] as const;
export type Format = (typeof FORMATS)[number];

const SEVERITY_STYLE: Record<PeeringFinding["severity"], Style> = {
  high: "red",
  medium: "yellow",
  low: "cyan",
  info: "gray",
};
const STATUS_STYLE: Record<PeeringFinding["status"], Style> = {
  violation: "red",
  "expired-exception": "magenta",
  allowed: "green",
};

const nameOf = (id: string) => parseResourceId(id)?.name ?? id;
const tenantOf = (f: PeeringFinding) =>
  f.remoteTenantId === null
    ? "unresolved"
    : f.remoteTenantName
      ? `${f.remoteTenantName} (${f.remoteTenantId})`
      : f.remoteTenantId;

const COLUMNS: Column<PeeringFinding>[] = [
  { title: "SEVERITY", cell: (f) => f.severity, style: (f) => SEVERITY_STYLE[f.severity] },
  { title: "STATUS", cell: (f) => f.status, style: (f) => STATUS_STYLE[f.status] },
  { title: "RELATION", cell: (f) => f.relation },
  { title: "STATE", cell: (f) => f.peeringState },
  { title: "LOCAL VNET", cell: (f) => nameOf(f.localVnetId) },
  { title: "REMOTE VNET", cell: (f) => nameOf(f.remoteVnetId) },
  { title: "REMOTE TENANT", cell: (f) => tenantOf(f) },
  { title: "RISK", cell: (f) => f.riskFactors.join(",") || "-" },
];

export function summaryLine(report: ScanReport): string {
  const s = report.stats;
  return (
    `${s.findings} finding(s): ${s.violations} need action, ${s.allowed} allowed. ` +
    `Scanned ${s.peerings} peering(s) on ${s.virtualNetworks} VNet(s) in ${s.subscriptions} subscription(s)` +
    (report.complete ? "." : ` - INCOMPLETE: ${report.errors.length} error(s).`)
  );
}

function table(report: ScanReport, color: boolean): string {
  const out =
    report.findings.length > 0
      ? [...renderTable(report.findings, COLUMNS, color), ""]
      : ["No cross-tenant peerings found."];
  for (const error of report.errors)
    out.push(paint("red", terminalText(`error (${error.source}): ${error.message}`), color));
  out.push(summaryLine(report));
  return out.join("\n") + "\n";
}

const CSV_FIELDS = [
  "id",
  "status",
  "severity",
  "relation",
  "peeringState",
  "peeringSyncLevel",
  "resourceId",
  "localVnetId",
  "localSubscriptionId",
  "localTenantId",
  "remoteVnetId",
  "remoteSubscriptionId",
  "remoteTenantId",
  "remoteTenantName",
  "allowForwardedTraffic",
  "allowGatewayTransit",
  "useRemoteGateways",
  "remoteAddressPrefixes",
  "riskFactors",
  "allowlistEntryId",
  "summary",
] as const satisfies readonly (keyof PeeringFinding)[];

const csvValue = (value: unknown) =>
  csvCell(Array.isArray(value) ? value.join(";") : value === null ? "" : String(value));

/** Every data cell quoted and defused against formulas (src/text.ts); the header is our own words. */
function csv(report: ScanReport): string {
  const rows = report.findings.map((f) => CSV_FIELDS.map((k) => csvValue(f[k])).join(","));
  return [CSV_FIELDS.join(","), ...rows].join("\r\n") + "\r\n";
}

function markdown(report: ScanReport): string {
  const out = [
    `# Cross-tenant peering scan ${escapeMarkdown(report.scanId)}`,
    "",
    `Home tenant ${codeSpan(report.homeTenantId)}, ${report.startedAt} to ${report.finishedAt}.`,
    "",
    summaryLine(report),
    "",
  ];
  if (report.errors.length > 0) {
    out.push(
      "## Errors",
      "",
      ...report.errors.map((e) => `- **${escapeMarkdown(e.source)}**: ${escapeMarkdown(e.message)}`),
      "",
    );
  }
  if (report.findings.length > 0) {
    out.push(
      "## Findings",
      "",
      `| ${COLUMNS.map((c) => c.title.toLowerCase()).join(" | ")} |`,
      `|${COLUMNS.map(() => " --- |").join("")}`,
      ...report.findings.map((f) => `| ${COLUMNS.map((c) => escapeMarkdown(c.cell(f))).join(" | ")} |`),
      "",
    );
    const toFix = report.findings.filter((f) => f.status !== "allowed");
    if (toFix.length > 0) {
      out.push("## What to do", "");
      for (const f of toFix)
        out.push(`- ${escapeMarkdown(f.summary)}`, `  ${codeSpan(deletePeeringCommand(f))}`);
      out.push("");
    }
  }
  return out.join("\n");
}

export function formatReport(report: ScanReport, format: Format, color: boolean): string {
  switch (format) {
    case "json":
      return JSON.stringify(report, null, 2) + "\n";
    case "csv":
      return csv(report);
    case "markdown":
      return markdown(report);
    case "table":
      return table(report, color);
  }
}
