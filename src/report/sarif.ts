import type * as Sarif from "sarif";
import { needsAction, type ScanReport } from "../findings/report";
import type { Severity } from "../scanners/finding";
import { CHECKS, checkOf, type Finding } from "../scanners/findings";
import { evidenceSentence } from "../scanners/log-analytics-evidence/text";
import { cleanDeep, terminalText } from "../text";

/**
 * `scan --format sarif` (CONTRACTS §5): SARIF 2.1.0 for code-scanning dashboards. One rule per
 * kind of finding, from each check's metadata; one result per finding that needs action.
 *
 * GitHub code scanning reads a subset (docs.github.com, "SARIF support for code scanning"): it
 * needs `rules[].shortDescription`, `fullDescription`, `help.text`, and on each result a
 * `physicalLocation` and `partialFingerprints`, and tracks a result across runs by
 * `partialFingerprints.primaryLocationLineHash`. A finding lives in Azure, not in a file: its
 * resource id is the logical location, and also the physical one, as a path under
 * `AZURE_RESOURCE_MANAGER` (https://management.azure.com/); both fingerprints are the finding id,
 * which is stable across scans and case changes of the id.
 */

export const SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json";
const TOOL = "cross-tenant-scanner";
const URI_BASE = "AZURE_RESOURCE_MANAGER";

const LEVEL: Record<Severity, Sarif.Result.level> = {
  high: "error",
  medium: "warning",
  low: "note",
  info: "note",
};

/** GitHub's `security-severity` (0.1 to 10): 7 and above is high, 4 to 6.9 medium, below 4 low. */
const SECURITY_SEVERITY: Record<Severity, string> = { high: "8.0", medium: "5.0", low: "2.0", info: "0.1" };

/** An ARM id as a relative URI reference: each segment percent-encoded, whatever a name holds. */
const resourcePath = (resourceId: string) =>
  resourceId
    .split("/")
    .filter((segment) => segment !== "")
    .map((segment) => encodeURIComponent(segment))
    .join("/");

function rules(): Sarif.ReportingDescriptor[] {
  return Object.values(CHECKS).map((check) => ({
    id: check.id,
    name: check.id
      .split("-")
      .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
      .join(""),
    shortDescription: { text: check.title },
    fullDescription: { text: check.risk },
    help: {
      text: `${check.remediation.text}\n\nIn the Azure portal: ${check.remediation.portal}\n\nMore: ${check.relatedUrl}`,
      markdown:
        `${check.remediation.text}\n\n**In the Azure portal:** ${check.remediation.portal}\n\n` +
        `[Microsoft Learn](${check.relatedUrl})`,
    },
    helpUri: check.relatedUrl,
    defaultConfiguration: { level: "error" },
    properties: { tags: ["security", "azure", "cross-tenant"], precision: "high" },
  }));
}

function result(f: Finding, ruleIndex: number): Sarif.Result {
  const check = checkOf(f);
  const evidence = evidenceSentence(f);
  return {
    ruleId: f.kind,
    ruleIndex,
    level: LEVEL[f.severity],
    // Outside text kept as data (SARIF is JSON): only characters that move a terminal are replaced.
    message: { text: terminalText(f.summary) },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: resourcePath(f.resourceId), uriBaseId: URI_BASE },
          region: { startLine: 1 },
        },
        logicalLocations: [
          { fullyQualifiedName: terminalText(f.resourceId), name: check.local(f), kind: "resource" },
        ],
      },
    ],
    partialFingerprints: { findingId: f.id, primaryLocationLineHash: f.id },
    properties: {
      "security-severity": SECURITY_SEVERITY[f.severity],
      severity: f.severity,
      status: f.status,
      relation: f.relation,
      localTenantId: f.localTenantId,
      remoteTenantId: f.remoteTenantId,
      remoteTenantName: f.remoteTenantName,
      riskFactors: f.riskFactors,
      remediationCommand: check.command(f),
      ...(evidence ? { evidence } : {}),
    },
  };
}

/**
 * The report as a SARIF log. Outside text stays data (SARIF is JSON, escaped by JSON.stringify);
 * characters that would move a terminal or reorder text are replaced in every string, whatever a
 * check's metadata built from it.
 */
export function reportSarif(report: ScanReport): Sarif.Log {
  return cleanDeep(sarifOf(report), Number.MAX_SAFE_INTEGER);
}

function sarifOf(report: ScanReport): Sarif.Log {
  const ruleList = rules();
  const index = new Map(ruleList.map((r, i) => [r.id, i]));
  return {
    $schema: SARIF_SCHEMA,
    version: "2.1.0",
    runs: [
      {
        tool: { driver: { name: TOOL, rules: ruleList } },
        // Category "cross-tenant-scanner/<home tenant>", run id the scan's (GitHub: category/run-id).
        automationDetails: { id: `${TOOL}/${report.homeTenantId}/${report.scanId}` },
        originalUriBaseIds: {
          [URI_BASE]: {
            uri: "https://management.azure.com/",
            description: { text: "Azure Resource Manager: each location is a resource id." },
          },
        },
        invocations: [
          {
            executionSuccessful: report.complete,
            startTimeUtc: report.startedAt,
            endTimeUtc: report.finishedAt,
            toolExecutionNotifications: [
              ...report.errors.map((x): Sarif.Notification => ({
                level: "error",
                message: { text: terminalText(`${x.source}: ${x.message}`) },
              })),
              ...(report.checks ?? [])
                .filter((c) => c.status !== "ran")
                .map((c): Sarif.Notification => ({
                  level: c.status === "failed" ? "error" : "warning",
                  message: {
                    text: terminalText(`check ${c.id} ${c.status}${c.reason ? `: ${c.reason}` : ""}`),
                  },
                })),
            ],
          },
        ],
        results: report.findings.filter(needsAction).map((f) => result(f, index.get(f.kind)!)),
        properties: { scanId: report.scanId, homeTenantId: report.homeTenantId },
      },
    ],
  };
}
