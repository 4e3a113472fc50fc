import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "@jest/globals";
import Ajv, { type ValidateFunction } from "ajv";
import type * as Sarif from "sarif";
import { formatReport } from "../../src/cli/format";
import { reportSarif } from "../../src/report/sarif";
import { readEstateFile } from "../../src/sandbox/estate";
import type { ScanReport } from "../../src/findings/report";
import { CHECKS } from "../../src/scanners/findings";
import { sandboxScan } from "../helpers/sandbox";

/**
 * `scan --format sarif` against the official SARIF 2.1.0 schema, as the OASIS TC published it and
 * @microsoft/jest-sarif ships it (never copied by hand). The file is draft-04 (`id`, not `$id`),
 * which Ajv 8 no longer reads as such: its id is moved to `$id`, nothing else changes. Its
 * patterns are written for non-unicode regular expressions, and its formats are checked with
 * the WHATWG URL parser and Date.
 */
const ROOT = join(__dirname, "../../..");
const SCHEMA = join(ROOT, "node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json");

function sarifValidator(): ValidateFunction {
  const {
    $schema: _draft,
    id,
    ...schema
  } = JSON.parse(readFileSync(SCHEMA, "utf8")) as Record<string, unknown>;
  const isUri = (s: string) => URL.canParse(s);
  const ajv = new Ajv({
    strict: false,
    unicodeRegExp: false,
    allErrors: true,
    formats: {
      uri: isUri,
      "uri-reference": (s: string) => URL.canParse(s, "https://base.example/") && !/\s/.test(s),
      "date-time": (s: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s),
    },
  });
  return ajv.compile({ $id: String(id), ...schema });
}

let report: ScanReport;
let sarif: Sarif.Log;
let validate: ValidateFunction;

beforeAll(async () => {
  const estate = await readEstateFile(join(ROOT, "examples/estates/two-tenants.json"));
  const scan = await sandboxScan(estate);
  try {
    report = await scan.scan();
  } finally {
    await scan.close();
  }
  sarif = JSON.parse(formatReport(report, "sarif", false)) as Sarif.Log;
  validate = sarifValidator();
});

describe("SARIF from the bundled estate", () => {
  it("validates against the official SARIF 2.1.0 schema", () => {
    expect(validate(sarif) ? [] : validate.errors).toEqual([]);
    // The validator does refuse what is not SARIF.
    expect(validate({ version: "2.1.0", runs: [{ tool: { driver: {} } }] })).toBe(false);
    expect(validate({ ...sarif, version: "2.0.0" })).toBe(false);
  });

  it("has one rule per kind, with its title, help and remediation", () => {
    const rules = sarif.runs[0]!.tool.driver.rules!;
    expect(rules.map((r) => r.id)).toEqual(Object.keys(CHECKS));
    for (const rule of rules) {
      const check = CHECKS[rule.id as keyof typeof CHECKS];
      expect(rule.shortDescription?.text).toBe(check.title);
      expect(rule.fullDescription?.text).toBe(check.risk);
      expect(rule.help?.text).toContain(check.remediation.text);
      expect(rule.help?.text).toContain(check.remediation.portal);
      expect(rule.helpUri).toBe(check.relatedUrl);
    }
  });

  it("has one result per finding that needs action, located at its resource, fingerprinted by its id", () => {
    const results = sarif.runs[0]!.results!;
    const toFix = report.findings.filter((f) => f.status !== "allowed");
    expect(toFix.length).toBeGreaterThan(5);
    expect(results).toHaveLength(toFix.length);
    const levels = { high: "error", medium: "warning", low: "note", info: "note" } as const;
    results.forEach((result, i) => {
      const f = toFix[i]!;
      expect(result.ruleId).toBe(f.kind);
      expect(sarif.runs[0]!.tool.driver.rules![result.ruleIndex!]!.id).toBe(f.kind);
      expect(result.level).toBe(levels[f.severity]);
      expect(result.message.text).toBe(f.summary);
      expect(result.locations![0]!.logicalLocations![0]!.fullyQualifiedName).toBe(f.resourceId);
      expect(result.partialFingerprints).toEqual({ findingId: f.id, primaryLocationLineHash: f.id });
    });
    expect(new Set(results.map((r) => r.level))).toEqual(new Set(["error", "warning", "note"]));
    expect(sarif.runs[0]!.invocations![0]!.executionSuccessful).toBe(true);
  });

  it("keeps the same fingerprints across scans, and stays valid with hostile names and an incomplete scan", () => {
    expect(
      reportSarif({ ...report, scanId: "another" }).runs[0]!.results!.map((r) => r.partialFingerprints),
    ).toEqual(sarif.runs[0]!.results!.map((r) => r.partialFingerprints));
    const hostile = `a b/<x>#?%\u001b[2J ${"\u202E"}`;
    const odd: ScanReport = {
      ...report,
      complete: false,
      errors: [{ source: "resource-graph", message: hostile }],
      findings: report.findings.map((f) => ({
        ...f,
        resourceId: `${f.resourceId}${hostile}`,
        summary: `${f.summary}${hostile}`,
      })),
    };
    const log = reportSarif(odd);
    expect(validate(log) ? [] : validate.errors).toEqual([]);
    expect(JSON.stringify(log)).not.toMatch(/\\u001b|\u202E/i);
    expect(log.runs[0]!.invocations![0]!.executionSuccessful).toBe(false);
  });
});
