import { describe, expect, it } from "@jest/globals";
import { reportHtml } from "../../src/report/html";
import { tenantGraph, tenantMapSvg } from "../../src/report/tenant-map";
import type { ScanReport } from "../../src/findings/report";
import type { Finding } from "../../src/scanners/findings";
import { CONTOSO_TENANT, demoFinding, findingAlertsOfEveryCheck, TENANT_A } from "../helpers/alert-samples";

/** The HTML report's pure parts, on sample findings of every kind: no browser, no sandbox. */
const asFinding = ({ firstSeen: _firstSeen, ...f }: ReturnType<typeof demoFinding>): Finding => f;

const everyKind: Finding[] = [
  asFinding(demoFinding()),
  ...Object.values(findingAlertsOfEveryCheck()).map((alert) => {
    const { firstSeen: _firstSeen, ...f } = alert.finding!;
    return f as Finding;
  }),
];

function reportOf(findings: Finding[], over: Partial<ScanReport> = {}): ScanReport {
  const violations = findings.filter((f) => f.status !== "allowed").length;
  return {
    schemaVersion: 1,
    scanId: "20261205T060000Z-abc123",
    startedAt: "2026-12-05T06:00:00.000Z",
    finishedAt: "2026-12-05T06:00:09.000Z",
    homeTenantId: CONTOSO_TENANT,
    complete: true,
    errors: [],
    stats: {
      subscriptions: 3,
      virtualNetworks: 2,
      peerings: 4,
      findings: findings.length,
      violations,
      allowed: findings.length - violations,
      resourceGraphRequests: 5,
      resourceGraphRows: 20,
    },
    findings,
    ...over,
  };
}

describe("the HTML report", () => {
  it("renders a finding of every kind, titled from its check's metadata", () => {
    const html = reportHtml(reportOf(everyKind));
    expect(new Set(everyKind.map((f) => f.kind)).size).toBe(7);
    for (const f of everyKind) {
      expect(html).toContain(`<tr data-id="${f.id}" data-kind="${f.kind}"`);
      expect(html).toContain(`id="kind-${f.kind}"`);
    }
  });

  it("shows evidence where a finding carries it, and none where it does not", () => {
    const withEvidence = asFinding(
      demoFinding({
        evidence: {
          createdBy: {
            principalId: "p1",
            principalName: "Mallory <m@evil>",
            homeTenantId: TENANT_A,
            at: "2026-11-02T10:00:00Z",
            source: "activity-log",
          },
          signIns: { window: "P30D", count: 14, first: null, last: null, users: [] },
        },
      }),
    );
    const html = reportHtml(reportOf([withEvidence]));
    expect(html).toContain(
      "Evidence: created by Mallory &lt;m@evil&gt; (Tenant A) on 2026-11-02; 14 sign-ins from Tenant A in 30 days",
    );
    expect(reportHtml(reportOf([asFinding(demoFinding())]))).not.toContain("Evidence:");
  });

  it("names an incomplete scan's errors, the checks not run, lost subscriptions and stale findings", () => {
    const f = asFinding(demoFinding());
    const html = reportHtml(
      reportOf([f], {
        complete: false,
        errors: [{ source: "resource-graph", message: "429 <too many>" }],
        checks: [
          { id: "vnet-peering", title: "Peerings", status: "ran" },
          { id: "log-analytics-evidence", title: "Evidence", status: "skipped", reason: "no workspace" },
        ],
        coverage: {
          scope: { managementGroups: ["mg-prod"], subscriptions: [] },
          subscriptions: [f.localSubscriptionId],
          lostSubscriptions: ["00000000-0000-4000-8000-00000000dead"],
        },
      }),
      { stale: new Map([[f.id, "2026-12-01T06:00:00Z"]]) },
    );
    expect(html).toContain("<strong>resource-graph</strong>: 429 &lt;too many&gt;");
    expect(html).toContain("Not run in full: log-analytics-evidence (skipped)");
    expect(html).toContain(": no workspace</li>");
    expect(html).toContain("management groups mg-prod");
    expect(html).toContain("00000000-0000-4000-8000-00000000dead");
    expect(html).toContain("1 stale finding");
    expect(html).toContain("last verified 2026-12-01T06:00:00Z");
  });
});

describe("the tenant map", () => {
  it("is the same picture whatever order the findings come in", () => {
    const report = reportOf(everyKind);
    const reversed = reportOf([...everyKind].reverse());
    expect(tenantMapSvg(tenantGraph(reversed))).toBe(tenantMapSvg(tenantGraph(report)));
  });

  it("mutes an edge whose findings are all allowed or Microsoft-managed, not one with a violation", () => {
    const allowed = asFinding(
      demoFinding({ id: "a1", status: "allowed", severity: "info", allowlistEntryId: "partner" }),
    );
    const violation = asFinding(demoFinding({ id: "v1", resourceId: `${demoFinding().resourceId}-2` }));
    const only = tenantGraph(reportOf([allowed])).edges;
    expect(only).toEqual([expect.objectContaining({ count: 1, muted: true, worst: "info" })]);
    const both = tenantGraph(reportOf([allowed, violation])).edges;
    expect(both).toEqual([expect.objectContaining({ count: 2, muted: false, worst: "high", needAction: 1 })]);
  });
});
