import { createHash } from "node:crypto";
import type { ScanReport } from "../findings/report";
import { STATUSES, type Severity } from "../scanners/finding";
import { CHECKS, checkOf, type Finding } from "../scanners/findings";
import { evidenceSentence } from "../scanners/log-analytics-evidence/text";
import { escapeHtml } from "../text";
import { localNodeOf, nodeText, remoteNodeOf, tenantGraph, tenantMapSvg, type MapNode } from "./tenant-map";

/**
 * `scan --format html` and `GET /api/report`: one self-contained page (CONTRACTS §5). Inline CSS,
 * inline SVG and one small inline script, allowed by hash in a Content-Security-Policy that lets
 * nothing else load or run: the page fetches nothing, so it reads offline and can be attached to
 * a ticket. Every piece of outside text goes through `escapeHtml`; the script only ever sets
 * `textContent`, never markup.
 */

export interface HtmlOptions {
  /**
   * Findings kept from earlier scans while their subscription is out of sight (finding id to when
   * it was last verified): shown, and marked stale.
   */
  stale?: ReadonlyMap<string, string>;
}

const RANK: Record<Severity, number> = { high: 0, medium: 1, low: 2, info: 3 };

const STYLE = `
:root{color-scheme:light;--high:#b71c1c;--medium:#e65100;--low:#1565c0;--info:#757575;--line:#d0d7de}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header,main{max-width:1400px;margin:0 auto;padding:16px 24px}
header{background:#fff;border-bottom:1px solid var(--line);max-width:none}
h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;margin:24px 0 8px}h3{font-size:15px;margin:12px 0 4px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0}
dl.facts dt{font-weight:600;color:#57606a}dl.facts dd{margin:0;overflow-wrap:anywhere}
.badge{display:inline-block;padding:0 6px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;background:var(--info)}
.badge.high{background:var(--high)}.badge.medium{background:var(--medium)}.badge.low{background:var(--low)}
.badge.violation,.badge.failed,.badge.incomplete{background:var(--high)}.badge.expired-exception,.badge.degraded,.badge.skipped{background:#8250df}
.badge.allowed,.badge.ran,.badge.complete{background:#1a7f37}.badge.stale{background:#6e7781}
.panel{background:#fff;border:1px solid var(--line);border-radius:6px;padding:12px 16px;margin:12px 0}
.map-wrap{display:grid;grid-template-columns:minmax(0,3fr) minmax(240px,1fr);gap:12px;align-items:start}
#tenant-map{width:100%;height:auto;max-height:80vh;background:#fff;border:1px solid var(--line);border-radius:6px}
.edge path{fill:none;stroke:var(--info);opacity:.85}.edge.sev-high path{stroke:var(--high)}
.edge.sev-medium path{stroke:var(--medium)}.edge.sev-low path{stroke:var(--low)}
.edge.muted path{stroke:#afb8c1;stroke-dasharray:5 4;opacity:.7}
.edge .count{font-size:12px;font-weight:700;text-anchor:middle;fill:#1f2328;paint-order:stroke;stroke:#fff;stroke-width:4px}
.edge.muted .count{fill:#8c959f}
.node circle{fill:#fff;stroke:#57606a;stroke-width:2}.node.ours circle{fill:#ddf4ff;stroke:#0969da;stroke-width:3}
.node.sev-high circle{stroke:var(--high)}.node.sev-medium circle{stroke:var(--medium)}.node.sev-low circle{stroke:var(--low)}
.node.unresolved circle{fill:#fff8c5;stroke-dasharray:4 3}.node.any-tenant circle{fill:#ffebe9}
.node text{font-size:12px;fill:#1f2328;paint-order:stroke;stroke:#fff;stroke-width:3px}
.node,.edge{cursor:pointer;outline:none}.node:focus circle,.node:hover circle{stroke-width:5}
.edge:focus path,.edge:hover path{stroke-width:6}
#node-panel ul{padding-left:18px;margin:4px 0}#node-panel li{margin:2px 0;overflow-wrap:anywhere}
.legend span{margin-right:12px;white-space:nowrap}
.filters{display:flex;flex-wrap:wrap;gap:12px;align-items:end}.filters label{display:flex;flex-direction:column;font-size:12px;font-weight:600}
select{font:inherit;padding:2px 4px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px;table-layout:fixed}
col.c-sev,col.c-status{width:90px}col.c-kind{width:150px}col.c-side{width:140px}col.c-tenant{width:180px}
th,td{border:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
thead th{background:#f6f8fa;position:sticky;top:0}
th button{font:inherit;font-weight:600;background:none;border:0;padding:0;cursor:pointer}
th[aria-sort=ascending] button::after{content:" \\25B2"}th[aria-sort=descending] button::after{content:" \\25BC"}
td code{display:block;margin-top:4px;padding:2px 4px;background:#f6f8fa;border-radius:4px;font-size:12px;white-space:pre-wrap;word-break:break-all}
td .evidence{margin-top:4px;color:#57606a}
tr.stale td{background:#f6f8fa;color:#57606a}
.errors li{color:var(--high)}
`;

/**
 * Filters, sorting and the node panel. Plain DOM, `textContent` only: the outside text it shows
 * comes from the table's cells, already parsed as text.
 */
const SCRIPT = `(function () {
  "use strict";
  var table = document.getElementById("findings");
  if (!table) { document.body.setAttribute("data-ready", "true"); return; }
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var shown = document.getElementById("shown");
  var filters = ["kind", "status", "severity", "tenant"].map(function (name) {
    return { name: name, select: document.getElementById("f-" + name) };
  });
  function matches(row, name, value) {
    if (!value) return true;
    if (name === "tenant") return row.getAttribute("data-local") === value || row.getAttribute("data-remote") === value;
    return row.getAttribute("data-" + name) === value;
  }
  function apply() {
    var n = 0;
    for (var i = 0; i < rows.length; i++) {
      var ok = true;
      for (var j = 0; j < filters.length && ok; j++) ok = matches(rows[i], filters[j].name, filters[j].select.value);
      rows[i].hidden = !ok;
      if (ok) n++;
    }
    shown.textContent = n + " of " + rows.length + " findings shown";
  }
  filters.forEach(function (f) { f.select.addEventListener("change", apply); });

  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  headers.forEach(function (th, column) {
    var button = th.querySelector("button");
    if (!button) return;
    button.addEventListener("click", function () {
      var descending = th.getAttribute("aria-sort") === "ascending";
      headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      var numeric = th.getAttribute("data-sort") === "rank";
      var keyed = rows.map(function (row, index) {
        var key = numeric ? Number(row.getAttribute("data-rank")) : row.cells[column].textContent.toLowerCase();
        return { row: row, key: key, index: index };
      });
      keyed.sort(function (a, b) {
        var c = a.key < b.key ? -1 : a.key > b.key ? 1 : a.index - b.index;
        return descending ? -c : c;
      });
      rows = keyed.map(function (k) { return k.row; });
      var fragment = document.createDocumentFragment();
      rows.forEach(function (row) { fragment.appendChild(row); });
      tbody.appendChild(fragment);
    });
  });

  var panel = document.getElementById("node-panel");
  var SHOWN_IN_PANEL = 25;
  function showNode(node) {
    var key = node.getAttribute("data-tenant-id");
    var mine = rows.filter(function (row) { return matches(row, "tenant", key); });
    panel.textContent = "";
    var heading = document.createElement("h3");
    heading.textContent = node.getAttribute("aria-label");
    panel.appendChild(heading);
    var list = document.createElement("ul");
    mine.slice(0, SHOWN_IN_PANEL).forEach(function (row) {
      var item = document.createElement("li");
      item.textContent = row.getAttribute("data-severity") + " \\u00b7 " + row.getAttribute("data-status") +
        " \\u00b7 " + row.querySelector(".summary").textContent;
      list.appendChild(item);
    });
    if (mine.length > SHOWN_IN_PANEL) {
      var more = document.createElement("li");
      more.textContent = "and " + (mine.length - SHOWN_IN_PANEL) + " more: select the tenant to filter the table";
      list.appendChild(more);
    }
    panel.appendChild(list);
  }
  var tenantFilter = document.getElementById("f-tenant");
  Array.prototype.forEach.call(document.querySelectorAll("#tenant-map .node"), function (node) {
    node.addEventListener("mouseenter", function () { showNode(node); });
    node.addEventListener("focus", function () { showNode(node); });
    function select() { tenantFilter.value = node.getAttribute("data-tenant-id"); apply(); }
    node.addEventListener("click", select);
    node.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); select(); }
    });
  });
  apply();
  document.body.setAttribute("data-ready", "true");
})();`;

const hash = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

/** Nothing loads or runs but this page's own style and script; no form, no base, no frame. */
const CSP =
  `default-src 'none'; script-src ${hash(SCRIPT)}; style-src ${hash(STYLE)}; ` +
  `img-src 'none'; base-uri 'none'; form-action 'none'`;

const e = escapeHtml;
const badge = (cls: string, text = cls) => `<span class="badge ${e(cls)}">${e(text)}</span>`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

function header(report: ScanReport, stale: ReadonlyMap<string, string>): string {
  const s = report.stats;
  const scope = report.coverage?.scope;
  const scopeText = !scope
    ? "not recorded"
    : scope.managementGroups.length === 0 && scope.subscriptions.length === 0
      ? "everything the scanner's identity can read"
      : [
          ...(scope.managementGroups.length > 0
            ? [`management groups ${scope.managementGroups.join(", ")}`]
            : []),
          ...(scope.subscriptions.length > 0 ? [`subscriptions ${scope.subscriptions.join(", ")}`] : []),
        ].join("; ");
  const errors =
    report.errors.length > 0
      ? `<ul class="errors">${report.errors.map((x) => `<li><strong>${e(x.source)}</strong>: ${e(x.message)}</li>`).join("")}</ul>`
      : "";
  const checks = (report.checks ?? [])
    .map(
      (c) =>
        `<li>${badge(c.status)} <span class="check-title">${e(c.title)}</span> <small>(${e(c.id)})</small>` +
        `${c.reason ? `: ${e(c.reason)}` : ""}</li>`,
    )
    .join("");
  const notRun = (report.checks ?? []).filter((c) => c.status !== "ran");
  const lost = report.coverage?.lostSubscriptions ?? [];
  const coverage = [
    ...(report.coverage
      ? [`${plural(report.coverage.subscriptions.length, "subscription")} with findings in sight`]
      : []),
    lost.length > 0
      ? `out of sight (their findings kept, not resolved): ${lost.join(", ")}`
      : "no subscription out of sight",
    `${plural(stale.size, "stale finding")}`,
  ].join("; ");
  return `<header>
<h1>Cross-tenant scan report</h1>
<p>${s.findings} findings: <strong>${s.violations} need action</strong>, ${s.allowed} allowed.
Scanned ${plural(s.peerings, "peering")} on ${plural(s.virtualNetworks, "VNet")} in ${plural(s.subscriptions, "subscription")}.</p>
<dl class="facts">
<dt>Scan</dt><dd id="scan-id">${e(report.scanId)}</dd>
<dt>Time</dt><dd>${e(report.startedAt)} to ${e(report.finishedAt)}</dd>
<dt>Home tenant</dt><dd>${e(report.homeTenantId)}</dd>
<dt>Scope</dt><dd>${e(scopeText)}</dd>
<dt>Completeness</dt><dd id="completeness">${
    report.complete
      ? `${badge("complete")} every part of the inventory was read`
      : `${badge("incomplete")} ${plural(report.errors.length, "error")}: no finding was marked resolved by this scan`
  }${errors}</dd>
<dt>Checks</dt><dd id="checks">${
    notRun.length > 0
      ? `<p>Not run in full: ${notRun.map((c) => `${e(c.id)} (${e(c.status)})`).join(", ")}</p>`
      : ""
  }<ul>${checks || "<li>not recorded</li>"}</ul></dd>
<dt>Coverage</dt><dd id="coverage">${e(coverage)}</dd>
</dl>
</header>`;
}

function mapSection(nodes: MapNode[], svg: string): string {
  const tenants = nodes.filter((n) => n.role !== "ours").length;
  return `<section aria-labelledby="map-title">
<h2 id="map-title">Tenant map</h2>
<p id="map-help">Our tenants in the middle, ${plural(tenants, "other tenant")} around them. One line per tenant pair and kind of finding, with its count, coloured by its worst severity; dashed grey lines are allowed or Microsoft-managed only. Hover or focus a tenant to list its findings; select it to filter the table.</p>
<p class="legend">${badge("high")} ${badge("medium")} ${badge("low")} ${badge("info", "dashed grey: allowed or Microsoft-managed")}</p>
<div class="map-wrap">${svg}<aside id="node-panel" class="panel" aria-live="polite"><p>Hover or focus a tenant on the map to list its findings.</p></aside></div>
</section>`;
}

function option(value: string, text: string): string {
  return `<option value="${e(value)}">${e(text)}</option>`;
}

function findingRow(f: Finding, nodes: Map<string, MapNode>, stale: ReadonlyMap<string, string>): string {
  const check = checkOf(f);
  const remote = remoteNodeOf(f);
  const tenant = nodes.get(remote);
  const tenantText =
    f.remoteTenantName && f.remoteTenantId
      ? `${f.remoteTenantName} (${f.remoteTenantId})`
      : (f.remoteTenantId ?? tenant?.label ?? remote);
  const evidence = evidenceSentence(f);
  const staleSince = stale.get(f.id);
  return (
    `<tr data-id="${e(f.id)}" data-kind="${e(f.kind)}" data-status="${e(f.status)}" data-severity="${e(f.severity)}" ` +
    `data-rank="${RANK[f.severity]}" data-local="${e(localNodeOf(f))}" data-remote="${e(remote)}"${staleSince ? ` class="stale"` : ""}>` +
    `<td>${badge(f.severity)}</td><td>${badge(f.status)}${staleSince ? ` ${badge("stale")}` : ""}</td>` +
    `<td>${e(f.kind)}</td><td>${e(check.local(f))}</td><td>${e(check.remote(f))}</td><td>${e(tenantText)}</td>` +
    `<td><div class="summary">${e(f.summary)}</div>` +
    (f.status !== "allowed" ? `<code class="command">${e(check.command(f))}</code>` : "") +
    (evidence ? `<div class="evidence">Evidence: ${e(evidence)}</div>` : "") +
    (staleSince
      ? `<div class="evidence">Stale: its subscription is out of sight; last verified ${e(staleSince)}.</div>`
      : "") +
    `<a href="#kind-${e(f.kind)}">How to fix</a></td></tr>`
  );
}

function findingsSection(report: ScanReport, nodes: MapNode[], stale: ReadonlyMap<string, string>): string {
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const kinds = [...new Set(report.findings.map((f) => f.kind))];
  const kindOptions = kinds.map((k) => option(k, CHECKS[k]?.title ?? k)).join("");
  const statusOptions = STATUSES.map((s) => option(s, s)).join("");
  const severityOptions = (["high", "medium", "low", "info"] as const).map((s) => option(s, s)).join("");
  const tenantOptions = nodes.map((n) => option(n.key, nodeText(n))).join("");
  const rows = report.findings.map((f) => findingRow(f, byKey, stale)).join("\n");
  const sortable = (title: string, sort = "text") =>
    `<th scope="col" data-sort="${sort}"><button type="button">${title}</button></th>`;
  return `<section aria-labelledby="findings-title">
<h2 id="findings-title">Findings</h2>
<div class="filters panel">
<label>Kind<select id="f-kind"><option value="">all kinds</option>${kindOptions}</select></label>
<label>Status<select id="f-status"><option value="">all statuses</option>${statusOptions}</select></label>
<label>Severity<select id="f-severity"><option value="">all severities</option>${severityOptions}</select></label>
<label>Tenant<select id="f-tenant"><option value="">all tenants</option>${tenantOptions}</select></label>
<span id="shown" role="status">${report.findings.length} of ${report.findings.length} findings shown</span>
</div>
<table id="findings"><colgroup><col class="c-sev"><col class="c-status"><col class="c-kind"><col class="c-side"><col class="c-side"><col class="c-tenant"><col></colgroup><thead><tr>${sortable("Severity", "rank")}${sortable("Status")}${sortable("Kind")}${sortable("Local")}${sortable("Remote")}${sortable("Other tenant")}<th scope="col">Finding, fix and evidence</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</section>`;
}

function kindsSection(report: ScanReport): string {
  const kinds = [...new Set(report.findings.map((f) => f.kind))];
  if (kinds.length === 0) return "";
  const about = kinds.map((k) => {
    const c = CHECKS[k];
    return `<section class="panel" id="kind-${e(k)}"><h3>${e(c.title)} <small>(${e(k)})</small></h3>
<p>${e(c.risk)}</p><p><strong>Fix:</strong> ${e(c.remediation.text)}</p>
<p><strong>In the portal:</strong> ${e(c.remediation.portal)}</p>
<p><a href="${e(c.relatedUrl)}" rel="noreferrer noopener">${e(c.relatedUrl)}</a></p></section>`;
  });
  return `<section aria-labelledby="kinds-title"><h2 id="kinds-title">What each kind means and how to fix it</h2>${about.join("\n")}</section>`;
}

/** The whole report as one HTML page. */
export function reportHtml(report: ScanReport, options: HtmlOptions = {}): string {
  const stale = options.stale ?? new Map<string, string>();
  const graph = tenantGraph(report);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Cross-tenant scan ${e(report.scanId)}</title>
<style>${STYLE}</style>
</head>
<body>
${header(report, stale)}
<main>
${mapSection(graph.nodes, tenantMapSvg(graph))}
${
  report.findings.length > 0
    ? findingsSection(report, graph.nodes, stale)
    : `<section><h2 id="findings-title">Findings</h2><p>No cross-tenant findings.</p></section>`
}
${kindsSection(report)}
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

/**
 * The page's policy as an HTTP header, for `GET /api/report`: the meta tag's, plus
 * `frame-ancestors`, which browsers only take from a header (CSP Level 3, 6.4.2).
 */
export const REPORT_CSP = `${CSP}; frame-ancestors 'none'`;
