import { beforeAll, describe, expect, it } from "@jest/globals";
import { alertCard } from "../../src/alerts/card";
import { findingAlert } from "../../src/findings/transitions";
import { formatReport } from "../../src/cli/format";
import { parseEstate, type Estate } from "../../src/sandbox/estate";
import { keepCreator, reconcile, type StoredFinding } from "../../src/findings/reconcile";
import type { ScanReport } from "../../src/findings/report";
import { ofKind } from "../../src/scanners/findings";
import { escapeMarkdown } from "../../src/text";
import { AZURE_SERVICE_MANAGEMENT_APP_ID } from "../../src/scanners/log-analytics-evidence/query";
import { EstateBuilder, guid, vnetId } from "../helpers/estate-builder";
import { sandboxScan } from "../helpers/sandbox";

const HOME = guid(1, "f0");
const F = guid(2, "f0");
const OTHER = guid(3, "f0");
const HOME_SUB = guid(1, "f1");
const F_SUB = guid(2, "f1");
const WORKSPACE = guid(9, "f9");
const ASOF = "2026-12-05T00:00:00Z";
const PEERING = `${vnetId(HOME_SUB, "net-rg", "hub")}/virtualNetworkPeerings/to-f`;
const GUEST_OID = "6a1f2e3d-4c5b-4a69-8877-1a2b3c4d5e6f";

const signIn = (at: string, from: string, upn: string, extra: Record<string, unknown> = {}) => ({
  TimeGenerated: at,
  HomeTenantId: from,
  ResourceTenantId: HOME,
  AADTenantId: HOME,
  UserPrincipalName: upn,
  UserId: guid(7, "aa"),
  UserType: "Guest",
  ResourceIdentity: AZURE_SERVICE_MANAGEMENT_APP_ID,
  CrossTenantAccessType: "b2bCollaboration",
  ResultType: "0",
  ...extra,
});

const write = (at: string, status: string, claims: Record<string, string>, caller: string) => ({
  TimeGenerated: at,
  OperationNameValue: "MICROSOFT.NETWORK/VIRTUALNETWORKS/VIRTUALNETWORKPEERINGS/WRITE",
  ActivityStatusValue: status,
  _ResourceId: PEERING.toLowerCase(),
  Caller: caller,
  Claims_d: claims,
});

/** Claims of a guest of F working in our tenant: signed in to HOME, identity from F. */
const guestClaims = {
  "http://schemas.microsoft.com/identity/claims/tenantid": HOME,
  "http://schemas.microsoft.com/identity/claims/identityprovider": `https://sts.windows.net/${F}/`,
  "http://schemas.microsoft.com/identity/claims/objectidentifier": GUEST_OID,
  name: "Mallory",
};

const logAnalytics = {
  workspaceId: WORKSPACE,
  asOf: ASOF,
  tables: {
    SigninLogs: [
      signIn("2026-11-20T08:00:00Z", F, "mallory@f.example"),
      signIn("2026-11-28T09:00:00Z", F, "mallory@f.example"),
      signIn("2026-12-01T10:00:00Z", F, "trent@f.example"),
      // Failed, into another app, from another tenant, or outside the 30 days: not counted.
      signIn("2026-12-02T10:00:00Z", F, "eve@f.example", { ResultType: "50126" }),
      signIn("2026-12-02T11:00:00Z", F, "eve@f.example", {
        ResourceIdentity: "00000003-0000-0000-c000-000000000000",
      }),
      signIn("2026-12-02T12:00:00Z", OTHER, "oscar@other.example"),
      signIn("2026-10-01T12:00:00Z", F, "old@f.example"),
      // Outbound: one of ours into F.
      signIn("2026-12-03T12:00:00Z", HOME, "nina@home.example", { ResourceTenantId: F, UserType: "Member" }),
    ],
    AADNonInteractiveUserSignInLogs: [
      signIn("2026-11-18T07:00:00Z", F, "mallory@f.example"),
      signIn("2026-12-04T07:00:00Z", F, "mallory@f.example"),
    ],
    AzureActivity: [
      // Oldest first is not assumed: the later write by our own admin comes first here.
      write(
        "2026-11-20T10:00:00Z",
        "Success",
        { "http://schemas.microsoft.com/identity/claims/tenantid": HOME, name: "Nina" },
        "nina@home.example",
      ),
      write("2026-11-02T14:30:00Z", "Start", guestClaims, "mallory_f.example#EXT#@home.example"),
      write("2026-11-02T14:30:05Z", "Success", guestClaims, "mallory_f.example#EXT#@home.example"),
    ],
  },
};

function estate(extra: Record<string, unknown> = {}): Estate {
  const json = new EstateBuilder(HOME, "Contoso")
    .tenant(F, "Fabrikam")
    .tenant(OTHER, "Other")
    .subscription(HOME_SUB, HOME)
    .subscription(F_SUB, F)
    .vnet(HOME_SUB, HOME, "net-rg", "hub", [{ name: "to-f", remote: vnetId(F_SUB, "f-rg", "f-vnet") }])
    .vnet(F_SUB, F, "f-rg", "f-vnet")
    .json() as Record<string, unknown>;
  return parseEstate({ ...json, ...extra }, "test estate");
}

const WITH_WORKSPACE = { LOG_ANALYTICS_WORKSPACE_ID: WORKSPACE };

describe("evidence from Log Analytics", () => {
  let report: ScanReport;
  const queries: string[] = [];
  beforeAll(async () => {
    const env = await sandboxScan(estate({ logAnalytics }), {
      logAnalytics: { onQuery: (q) => queries.push(q) },
    });
    try {
      report = await env.scan({ env: WITH_WORKSPACE });
    } finally {
      await env.close();
    }
  });
  const peering = () => report.findings.filter(ofKind("vnet-peering"))[0]!;

  it("runs one query per table, and the scan stays complete", () => {
    expect(report.complete).toBe(true);
    expect(report.checks!.find((c) => c.id === "log-analytics-evidence")).toEqual(
      expect.objectContaining({ status: "ran" }),
    );
    expect(queries.map((q) => q.split("\n")[0])).toEqual([
      "SigninLogs",
      "AADNonInteractiveUserSignInLogs",
      "AzureActivity",
    ]);
    // Bounded by the findings: their tenant and their peering, nothing else of the estate.
    expect(queries[0]).toContain(F);
    expect(queries[0]).not.toContain(OTHER);
    expect(queries[2]).toContain(PEERING.toLowerCase());
  });

  it("the peering to F was created by a guest of F: the first successful write, from the Activity log", () => {
    expect(peering().evidence!.createdBy).toEqual({
      principalId: GUEST_OID,
      principalName: "Mallory",
      homeTenantId: F,
      at: "2026-11-02T14:30:05.000Z",
      source: "activity-log",
    });
  });

  it("counts the successful ARM sign-ins of F's users in 30 days over both tables, and ours into F", () => {
    expect(peering().evidence!.signIns).toEqual({
      window: "P30D",
      count: 5,
      first: "2026-11-18T07:00:00.000Z",
      last: "2026-12-04T07:00:00.000Z",
      users: expect.arrayContaining(["mallory@f.example", "trent@f.example"]),
    });
    expect(peering().evidence!.signIns!.users).toHaveLength(2);
    expect(peering().evidence!.outboundSignIns).toMatchObject({ count: 1, users: ["nina@home.example"] });
  });

  it("shows the evidence on the card and in every report format", () => {
    const sentence = "created by Mallory (Fabrikam) on 2026-11-02; 5 sign-ins from Fabrikam in 30 days";
    const [write] = reconcile(new Map<string, StoredFinding>(), [peering()], {
      scanId: report.scanId,
      at: report.finishedAt,
      complete: true,
    });
    const card = JSON.stringify(alertCard(findingAlert(write!)!, { portalUrl: "https://portal.azure.com" }));
    // Teams renders markdown in facts, so the card escapes the parentheses.
    expect(card).toContain(
      JSON.stringify({ title: "Created", value: "created by Mallory \\(Fabrikam\\) on 2026-11-02" }),
    );
    expect(card).toContain(
      JSON.stringify({ title: "Sign-ins", value: "5 sign-ins from Fabrikam in 30 days" }),
    );
    for (const format of ["table", "csv"] as const)
      expect(formatReport(report, format, false)).toContain(sentence);
    expect(formatReport(report, "markdown", false)).toContain(
      `## Evidence\n\n- hub -\\> f-vnet: ${escapeMarkdown(sentence)}`,
    );
    expect(JSON.parse(formatReport(report, "json", false)).findings[0].evidence.createdBy.homeTenantId).toBe(
      F,
    );
  });

  it("a partial answer is used and named: the step is degraded, the scan complete", async () => {
    const env = await sandboxScan(estate({ logAnalytics }), {
      logAnalytics: { partial: (q) => q.startsWith("AADNonInteractiveUserSignInLogs") },
    });
    try {
      const partial = await env.scan({ env: WITH_WORKSPACE });
      expect(partial.complete).toBe(true);
      expect(partial.checks!.find((c) => c.id === "log-analytics-evidence")).toMatchObject({
        status: "degraded",
        reason: expect.stringMatching(/AADNonInteractiveUserSignInLogs answered in part \(PartialError/),
      });
      expect(partial.findings.filter(ofKind("vnet-peering"))[0]!.evidence!.signIns!.count).toBe(5);
    } finally {
      await env.close();
    }
  });

  it("a workspace without a table (its diagnostic setting not sending it) degrades the step and says no sign-ins", async () => {
    const { AADNonInteractiveUserSignInLogs: _dropped, ...tables } = logAnalytics.tables;
    const env = await sandboxScan(estate({ logAnalytics: { ...logAnalytics, tables } }));
    try {
      const missing = await env.scan({ env: WITH_WORKSPACE });
      expect(missing.complete).toBe(true);
      expect(missing.checks!.find((c) => c.id === "log-analytics-evidence")).toMatchObject({
        status: "degraded",
        reason: expect.stringMatching(/AADNonInteractiveUserSignInLogs could not be read: .*400/),
      });
      // Half the tables would be a count that looks whole: no sign-in count is claimed.
      const evidence = missing.findings.filter(ofKind("vnet-peering"))[0]!.evidence!;
      expect(evidence.signIns).toBeNull();
      expect(evidence.createdBy?.homeTenantId).toBe(F);
    } finally {
      await env.close();
    }
  });

  it("the Event Grid record of the creation wins when it is earlier", async () => {
    const env = await sandboxScan(estate({ logAnalytics }));
    try {
      const again = await env.scan({ env: WITH_WORKSPACE });
      const observed = again.findings.filter(ofKind("vnet-peering"))[0]!;
      const stored: StoredFinding = {
        finding: { ...observed, createdBy: { principalId: "0e1d", at: "2026-11-01T00:00:00.000Z" } },
        state: "open",
        firstSeen: "2026-11-01T00:00:00.000Z",
        firstScanId: "s0",
        lastSeen: "2026-11-01T00:00:00.000Z",
        lastScanId: "s0",
        history: [{ at: "2026-11-01T00:00:00.000Z", scanId: "s0", event: "new", state: "open" }],
        pendingAlerts: [],
      };
      expect(keepCreator(observed, stored).evidence!.createdBy).toMatchObject({
        principalId: "0e1d",
        source: "event-grid",
      });
      // And the other way round: the Activity log's write of 2026-11-02 is earlier than a later event.
      const later = {
        ...stored,
        finding: { ...stored.finding, createdBy: { principalId: "0e1d", at: ASOF } },
      };
      expect(keepCreator(observed, later).evidence!.createdBy).toMatchObject({
        homeTenantId: F,
        source: "activity-log",
      });
    } finally {
      await env.close();
    }
  });
});

describe("without a workspace", () => {
  it("without LOG_ANALYTICS_WORKSPACE_ID the step is skipped and named, and no finding carries evidence", async () => {
    const env = await sandboxScan(estate({ logAnalytics }));
    try {
      const report = await env.scan();
      expect(report.complete).toBe(true);
      expect(report.checks!.find((c) => c.id === "log-analytics-evidence")).toMatchObject({
        status: "skipped",
        reason: "LOG_ANALYTICS_WORKSPACE_ID is not set",
      });
      expect(report.findings.every((f) => f.evidence === undefined)).toBe(true);
    } finally {
      await env.close();
    }
  });

  it("without read access (no logAnalytics in the estate: 403) the step is skipped and names the role", async () => {
    const env = await sandboxScan(estate());
    try {
      const report = await env.scan({ env: WITH_WORKSPACE });
      expect(report.complete).toBe(true);
      expect(report.checks!.find((c) => c.id === "log-analytics-evidence")).toMatchObject({
        status: "skipped",
        reason: expect.stringMatching(/403.*Log Analytics Reader/),
      });
    } finally {
      await env.close();
    }
  });
});
