import type { ScanReport } from "../findings/report";
import type { CommonFinding } from "../scanners/finding";
import { CHECKS, checkOf, type Finding } from "../scanners/findings";
import { evidenceSentence } from "../scanners/log-analytics-evidence/text";
import { reportHtml } from "../report/html";
import { reportSarif } from "../report/sarif";
import { codeSpan, csvCell, escapeMarkdown, terminalText } from "../text";
import { paint, renderTable, type Column, type Style } from "./table";

export const FORMATS = ["table", "json", "csv", "markdown", "html", "sarif"] as const;
export type Format = (typeof FORMATS)[number];

const SEVERITY_STYLE: Record<CommonFinding["severity"], Style> = {
  high: "red",
  medium: "yellow",
  low: "cyan",
  info: "gray",
};
const STATUS_STYLE: Record<CommonFinding["status"], Style> = {
  violation: "red",
  "expired-exception": "magenta",
  allowed: "green",
};

const tenantOf = (f: CommonFinding) =>
  f.remoteTenantId === null
    ? f.relation === "unresolved"
      ? "unresolved"
      : "unknown"
    : f.remoteTenantName
      ? `${f.remoteTenantName} (${f.remoteTenantId})`
      : f.remoteTenantId;

/** Common columns, and the kind-specific ones rendered by each finding's check. */
const COLUMNS: Column<Finding>[] = [
  { title: "SEVERITY", cell: (f) => f.severity, style: (f) => SEVERITY_STYLE[f.severity] },
  { title: "STATUS", cell: (f) => f.status, style: (f) => STATUS_STYLE[f.status] },
  { title: "RELATION", cell: (f) => f.relation },
  { title: "KIND", cell: (f) => f.kind },
  { title: "STATE", cell: (f) => checkOf(f).state(f) },
  { title: "LOCAL", cell: (f) => checkOf(f).local(f) },
  { title: "REMOTE", cell: (f) => checkOf(f).remote(f) },
  { title: "REMOTE TENANT", cell: (f) => tenantOf(f) },
  { title: "RISK", cell: (f) => f.riskFactors.join(",") || "-" },
];

export function summaryLine(report: ScanReport): string {
  const s = report.stats;
  const more = [
    ...(s.privateEndpointConnections !== undefined
      ? [`${s.privateEndpointConnections} private endpoint connection(s)`]
      : []),
    ...(s.roleAssignments !== undefined ? [`${s.roleAssignments} role assignment(s) that can peer`] : []),
  ];
  return (
    `${s.findings} finding(s): ${s.violations} need action, ${s.allowed} allowed. ` +
    `Scanned ${s.peerings} peering(s) on ${s.virtualNetworks} VNet(s)` +
    more.map((m) => `, ${m}`).join("") +
    ` in ${s.subscriptions} subscription(s)` +
    (report.complete ? "." : ` - INCOMPLETE: ${report.errors.length} error(s).`)
  );
}

/** Checks that did not run: skipped for a missing optional permission is not an error, but is said. */
export function checkLines(report: ScanReport): string[] {
  return (report.checks ?? [])
    .filter((c) => c.status !== "ran")
    .map((c) => `check ${c.id} ${c.status}${c.reason ? `: ${c.reason}` : ""}`);
}

/** "local -> remote: created by …; 14 sign-ins from …", for each finding that carries evidence. */
function evidenceLines(report: ScanReport): string[] {
  return report.findings
    .map((f) => [f, evidenceSentence(f)] as const)
    .filter(([, sentence]) => sentence !== "")
    .map(([f, sentence]) => `${checkOf(f).local(f)} -> ${checkOf(f).remote(f)}: ${sentence}`);
}

function table(report: ScanReport, color: boolean): string {
  const out =
    report.findings.length > 0
      ? [...renderTable(report.findings, COLUMNS, color), ""]
      : ["No cross-tenant findings."];
  const evidence = evidenceLines(report);
  if (evidence.length > 0) out.push("Evidence:", ...evidence.map((l) => `  ${terminalText(l)}`), "");
  for (const error of report.errors)
    out.push(paint("red", terminalText(`error (${error.source}): ${error.message}`), color));
  for (const line of checkLines(report)) out.push(paint("yellow", terminalText(line), color));
  out.push(summaryLine(report));
  return out.join("\n") + "\n";
}

/** Common fields, then every check's own (empty where a finding's kind has none), then the judgement. */
const CSV_FIELDS: readonly string[] = [
  "id",
  "status",
  "severity",
  "relation",
  "kind",
  ...new Set(Object.values(CHECKS).flatMap((check) => check.csvFields)),
  "resourceId",
  "localSubscriptionId",
  "localTenantId",
  "remoteSubscriptionId",
  "remoteTenantId",
  "remoteTenantName",
  "riskFactors",
  "allowlistEntryId",
  "summary",
  "evidence",
];

const csvValue = (value: unknown) =>
  csvCell(
    Array.isArray(value) ? value.join(";") : value === null || value === undefined ? "" : String(value),
  );

/** Every data cell quoted and defused against formulas (src/text.ts); the header is our own words. */
function csv(report: ScanReport): string {
  const rows = report.findings.map((f) =>
    CSV_FIELDS.map((k) =>
      csvValue(k === "evidence" ? evidenceSentence(f) : (f as Record<string, unknown>)[k]),
    ).join(","),
  );
  return [CSV_FIELDS.join(","), ...rows].join("\r\n") + "\r\n";
}

function markdown(report: ScanReport): string {
  const out = [
    `# Cross-tenant scan ${escapeMarkdown(report.scanId)}`,
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
  const notRun = checkLines(report);
  if (notRun.length > 0)
    out.push("## Checks not run", "", ...notRun.map((l) => `- ${escapeMarkdown(l)}`), "");
  if (report.findings.length > 0) {
    out.push(
      "## Findings",
      "",
      `| ${COLUMNS.map((c) => c.title.toLowerCase()).join(" | ")} |`,
      `|${COLUMNS.map(() => " --- |").join("")}`,
      ...report.findings.map((f) => `| ${COLUMNS.map((c) => escapeMarkdown(c.cell(f))).join(" | ")} |`),
      "",
    );
    const evidence = evidenceLines(report);
    if (evidence.length > 0)
      out.push("## Evidence", "", ...evidence.map((l) => `- ${escapeMarkdown(l)}`), "");
    const toFix = report.findings.filter((f) => f.status !== "allowed");
    if (toFix.length > 0) {
      out.push("## What to do", "");
      for (const f of toFix)
        out.push(`- ${escapeMarkdown(f.summary)}`, `  ${codeSpan(checkOf(f).command(f))}`);
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
    case "html":
      return reportHtml(report);
    case "sarif":
      return JSON.stringify(reportSarif(report), null, 2) + "\n";
  }
}
