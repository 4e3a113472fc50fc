import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import MarkdownIt from "markdown-it";
import { alertCard, type AdaptiveCard } from "../../src/alerts/card";
import { coverageLostAlerts, digestOf, scanAlerts, scanFailedAlert } from "../../src/alerts/emit";
import { ALERT_KINDS, type AlertKind, type AlertMessage } from "../../src/findings/alert-message";
import type { AllowlistEntry } from "../../src/allowlist/entry";
import { allowlistCommand } from "../../src/cli/allowlist-command";
import { formatReport } from "../../src/cli/format";
import { main } from "../../src/cli/main";
import { loadConfig } from "../../src/config";
import type { ScanReport } from "../../src/findings/report";
import type { PeeringFinding } from "../../src/scanners/peering/finding";
import { ofKind } from "../../src/scanners/findings";
import { AllowlistStore } from "../../src/store/allowlist-store";
import { escapeHtml, PRINTABLE, REPLACEMENT } from "../../src/text";
import { EstateBuilder, guid, vnetId } from "../helpers/estate-builder";
import { sandboxScan, type SandboxScan } from "../helpers/sandbox";
import { testStorage, type TestStorage } from "../helpers/azurite";
import { destinationsOffAlert } from "../../src/alerts/destinations-off";

/**
 * What a foreign tenant's administrator and a partner can put in the names we print, and what an
 * approver can put in a reason: spreadsheet formulas, markdown links, HTML, terminal escape
 * sequences (clear screen, window title, colour), a bidi override, NUL and a lone surrogate.
 */
const MARKUP = `=HYPERLINK("https://127.0.0.1/p","x")[click](https://127.0.0.1/p) <img src=x onerror=alert(1)> **bold** _it_ a|b \`code\` www.evil.example //127.0.0.1/x mail@evil.example contoso-verify.com/login`;
const CONTROLS = "\u001b[2J\u001b]0;pwned\u0007\u001b[31mRED\u009b31m\u202Eevil\u0000\uD800";
/** Characters that draw as nothing: joiners, the soft hyphen, a Hangul filler, tag characters. */
const INVISIBLE = "a\u200Cb\u200Dc\u00ADd\u3164e\u{E0041}\u{E007F}f";
const HOSTILE_TENANT = `${MARKUP}${CONTROLS}${INVISIBLE}`;
/** ARM names have no slash; everything else can come back from a lenient service. */
const HOSTILE_VNET = `+cmd|' -C calc'!A0[x](javascript:alert(1))${CONTROLS}`;
/** An approver's reason passes the printable rule, and must still come out inert. */
const HOSTILE_REASON = `-2+3 @SUM(A1) ${MARKUP}`;

const HOME = guid(1, "e0");
const FOREIGN = guid(2, "e0");
const HOME_SUB = guid(1, "f0");
const FOREIGN_SUB = guid(2, "f0");
const ALLOWED_SUB = guid(3, "f0");
const HOSTILE_REMOTE = vnetId(FOREIGN_SUB, "rg", HOSTILE_VNET);

const ESTATE = new EstateBuilder(HOME)
  .tenant(FOREIGN, HOSTILE_TENANT)
  .subscription(HOME_SUB, HOME)
  .subscription(FOREIGN_SUB, FOREIGN)
  .subscription(ALLOWED_SUB, FOREIGN)
  .vnet(HOME_SUB, HOME, "rg", "hub", [
    { name: "to-hostile", remote: HOSTILE_REMOTE },
    { name: "to-allowed", remote: vnetId(ALLOWED_SUB, "rg", "partner") },
  ]);

const ENTRY: AllowlistEntry = {
  id: "hostile-reason",
  subscriptionId: ALLOWED_SUB,
  owner: `=owner ${MARKUP}`.slice(0, 256),
  reason: HOSTILE_REASON,
  ticket: "@T-1",
  expiresOn: "2099-12-31",
};

/** Nothing that moves a terminal, reorders text or is not text at all. */
function expectPrintable(text: string): void {
  for (const line of text.split(/\r?\n/)) expect(line).toMatch(PRINTABLE);
}

/** Our own colour codes (styleText's SGR sequences), which the terminal should interpret. */
// eslint-disable-next-line no-control-regex -- exactly what this matches
const OWN_COLOURS = /\u001b\[\d+m/g;

let scan: SandboxScan;
let report: ScanReport;
let hostileFinding: PeeringFinding;
let state: TestStorage;
/** The scan's structured log events, as the Functions host would record them. */
const scanLogs: string[] = [];
const markdown = new MarkdownIt({ html: true, linkify: true });
/** Tags that only markup from outside could make (our own output uses tables, lists, headings, bold, code). */
const FOREIGN_TAGS = /<(a|img|em|s|del|script|b)\b/i;

beforeAll(async () => {
  state = await testStorage();
  scan = await sandboxScan(ESTATE.build());
  report = await scan.scan({
    allowlist: [ENTRY],
    log: (level, event, fields) => scanLogs.push(JSON.stringify({ level, event, ...fields })),
  });
  hostileFinding = report.findings
    .filter(ofKind("vnet-peering"))
    .find((f) => f.resourceId.endsWith("/to-hostile"))!;
});
afterAll(async () => {
  await scan.close();
  await state.stop();
});

describe("hostile names enter a finding cleaned", () => {
  it("keeps the words and drops every control, bidi and lone-surrogate character", () => {
    expect(hostileFinding.remoteTenantName).toContain(MARKUP);
    expect(hostileFinding.remoteTenantName).toContain(REPLACEMENT);
    expect(hostileFinding.remoteVnetId).toContain("[x](javascript:alert(1))");
    expect(JSON.stringify(report)).not.toMatch(/\\u001b|\\u0000|\\ud800/i);
    for (const invisible of ["\u200C", "\u200D", "\u00AD", "\u3164", "\u{E0041}", "\u{E007F}"])
      expect(JSON.stringify(report)).not.toContain(invisible);
    expect(hostileFinding.remoteTenantName).toContain(`a${REPLACEMENT}b${REPLACEMENT}c`);
    for (const f of report.findings) expectPrintable(JSON.stringify(f));
    expect(scanLogs.length).toBeGreaterThan(0);
    for (const line of scanLogs) expectPrintable(line);
  });

  it("--format json, table, csv, markdown, html and sarif, and the logs, through the CLI", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "cts-hostile-")), "estate.json");
    writeFileSync(file, JSON.stringify(ESTATE.json()));
    const allowlist = join(mkdtempSync(join(tmpdir(), "cts-hostile-")), "allowlist.json");
    writeFileSync(allowlist, JSON.stringify({ schemaVersion: 1, entries: [ENTRY] }));
    const env = { AZURE_MAX_RETRIES: "1", AzureWebJobsStorage: state.azurite.connectionString };
    for (const format of ["json", "table", "csv", "markdown", "html", "sarif"]) {
      let stdout = "";
      let stderr = "";
      const code = await main(["scan", "--estate", file, "--allowlist", allowlist, "--format", format], {
        stdout: (t) => (stdout += t),
        stderr: (t) => (stderr += t),
        color: false,
        env,
      });
      expect(code).toBe(1);
      expectPrintable(stdout);
      expectPrintable(stderr);
      expect(stdout).toContain(format === "markdown" ? "\\[click\\]" : "[click]");
    }
  });
});

describe("each output escapes for its reader", () => {
  it("table: aligned, and nothing for the terminal to interpret", () => {
    const table = formatReport(report, "table", true);
    expectPrintable(table.replace(OWN_COLOURS, "")); // only our own colour codes
    expect(table).toContain(`${MARKUP}${REPLACEMENT}`);
  });

  it("csv: every cell quoted, and none a spreadsheet would run as a formula", () => {
    const [header, ...rows] = formatReport(report, "csv", false).trimEnd().split("\r\n");
    const cells = (row: string) => [...row.matchAll(/"((?:[^"]|"")*)"(?:,|$)/g)].map((m) => m[1]!);
    for (const row of rows) {
      expect(cells(row)).toHaveLength(header!.split(",").length);
      expect(cells(row).join(",").length + 2 * cells(row).length).toBe(row.length);
      for (const cell of cells(row)) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
    }
    const csv = rows.join("\n");
    expect(csv).toContain(`"'=HYPERLINK(""https://127.0.0.1/p"",""x"")`);
    expect(csv).toContain(": -2+3 @SUM(A1)"); // inside the allowed finding's quoted summary
  });

  it("markdown: no link, image, HTML or extra table cell comes out of a name", () => {
    const text = formatReport(report, "markdown", false);
    const html = markdown.render(text);
    expect(html).not.toMatch(FOREIGN_TAGS);
    const columns = (html.match(/<th>/g) ?? []).length;
    for (const row of html.split("<tr>").slice(2)) expect(row.match(/<td>/g)).toHaveLength(columns);
    expect(html).toContain("[click](https://127.0.0.1/p)");
    // Code spans: the home tenant and one command per finding to fix, none from a name.
    const toFix = report.findings.filter((f) => f.status !== "allowed").length;
    expect(html.match(/<code>/g)).toHaveLength(1 + toFix);
  });

  it("html: a name's markup is character data; the only script, links and tags are the page's own", () => {
    const html = formatReport(report, "html", false);
    expectPrintable(html);
    expect(html).toContain(escapeHtml(MARKUP));
    expect(html).not.toContain("<img");
    expect(html.match(/<script\b/g)).toHaveLength(1);
    const links = [...html.matchAll(/<a\b[^>]*>/g)].map((m) => m[0]);
    expect(links.length).toBeGreaterThan(0);
    for (const link of links)
      expect(link).toMatch(/^<a href="(#kind-[a-z-]+|https:\/\/learn\.microsoft\.com\/[^"]*)"/);
    // Attribute values too: a quote in a name cannot close the attribute it sits in.
    // With every value quoted and no quote left inside one, what remains of a tag is its names.
    for (const tag of html.match(/<[a-z][^>]*>/g) ?? [])
      expect(tag.replace(/="[^"]*"/g, "")).not.toMatch(/\son[a-z]+|=/i);
  });

  it("every card kind: outside text is plain text or escaped markdown", () => {
    for (const card of hostileCards()) {
      expectPrintable(JSON.stringify(card));
      for (const text of markdownTexts(card))
        expect(markdown.renderInline(text)).not.toMatch(/<(a|img|em|strong|code|s|del|script|b)\b/i);
    }
  });

  it("allowlist list: the reason shown as written, inert", async () => {
    await new AllowlistStore(state.storage).replaceAll([ENTRY], `alice\u001b[31m\u202E`);
    let stdout = "";
    await allowlistCommand(
      ["list"],
      { stdout: (t) => (stdout += t), stderr: () => {}, color: true, env: {} },
      state.storage,
    );
    expectPrintable(stdout.replace(OWN_COLOURS, ""));
    expect(stdout).toContain(HOSTILE_REASON);
    const [stored] = await new AllowlistStore(state.storage).list();
    expect(stored!.createdBy).toBe(`alice${REPLACEMENT}[31m${REPLACEMENT}`);
  });
});

/** One card of every kind about the hostile finding and entry, and the same with raw, uncleaned text. */
function hostileCards(): AdaptiveCard[] {
  const config = loadConfig({ EXCEPTION_EXPIRY_WARNING_DAYS: "365" });
  const expiring = scanAlerts(report, [{ ...ENTRY, expiresOn: report.startedAt.slice(0, 10) }], config);
  const findingAlert = (kind: AlertKind): AlertMessage => ({
    schemaVersion: 1,
    kind,
    idempotencyKey: `${kind}:x`,
    scanId: report.scanId,
    createdAt: report.finishedAt,
    severity: hostileFinding.severity,
    title: hostileFinding.summary,
    finding: { ...hostileFinding, firstSeen: report.startedAt },
  });
  const incomplete = scanAlerts(
    { ...report, complete: false, errors: [{ source: "resource-graph", message: HOSTILE_TENANT }] },
    [],
    config,
  );
  const alerts: AlertMessage[] = [
    ...(
      [
        "violation-new",
        "violation-reopened",
        "finding-resolved",
        "exception-expired",
        "setting-changed",
      ] as const
    ).map(findingAlert),
    ...expiring,
    ...incomplete,
    scanFailedAlert(report.scanId, new Date(), HOSTILE_TENANT),
    destinationsOffAlert([{ setting: "TEAMS_WEBHOOK_URL", destination: "teams" }], report.scanId, new Date()),
    ...coverageLostAlerts(
      report,
      [
        {
          subscriptionId: hostileFinding.localSubscriptionId,
          lastVerifiedAt: report.startedAt,
          lastVerifiedScanId: report.scanId,
          managementGroups: [],
          lostSince: report.finishedAt,
        },
      ],
      new Map([[hostileFinding.localSubscriptionId, 1]]),
    ),
  ];
  alerts.push(digestOf(report.scanId, alerts));
  expect(new Set(alerts.map((a) => a.kind))).toEqual(new Set(ALERT_KINDS));
  // The same alerts as anyone with access to the queue could write them, nothing cleaned.
  const raw = alerts.map((a): AlertMessage =>
    JSON.parse(
      JSON.stringify(a).replaceAll(
        JSON.stringify(MARKUP).slice(1, -1),
        JSON.stringify(HOSTILE_TENANT).slice(1, -1),
      ),
    ),
  );
  return [...alerts, ...raw].map((a) => alertCard(a, { portalUrl: "https://portal.azure.com" }));
}

/** The strings Teams renders as markdown: TextBlock text, fact titles and values. */
function markdownTexts(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(markdownTexts);
  if (typeof value !== "object" || value === null) return [];
  const node = value as Record<string, unknown>;
  const own =
    node.type === "TextBlock"
      ? [String(node.text)]
      : "title" in node && "value" in node
        ? [String(node.title), String(node.value)]
        : [];
  return [...own, ...Object.values(node).flatMap(markdownTexts)];
}
