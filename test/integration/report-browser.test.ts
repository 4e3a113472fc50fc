import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { Page } from "playwright-core";
import { reportHtml } from "../../src/report/html";
import { localNodeOf, remoteNodeOf } from "../../src/report/tenant-map";
import { readEstateFile } from "../../src/sandbox/estate";
import type { ScanReport } from "../../src/findings/report";
import { launchChromium, type Browser } from "../helpers/chromium";
import { EstateBuilder, guid, vnetId } from "../helpers/estate-builder";
import { largeReport } from "../helpers/large-report";
import { sandboxScan } from "../helpers/sandbox";

/**
 * The HTML report (`scan --format html`) in a real browser: Debian's Chromium driven by
 * playwright-core, one launch for every case. The page must work offline: every request that is
 * not the file itself is recorded and refused.
 */
const ROOT = join(__dirname, "../../..");

/** Markup, script, a spreadsheet formula and control characters, as a foreign admin could name a tenant. */
const HOSTILE_NAME =
  `<img src=x onerror="document.title='pwned'"><script>document.title='pwned'</script>` +
  `"><svg onload=alert(1)>=HYPERLINK("https://127.0.0.1/p","x")\u001b[31m\u202Eevil\u0000`;

let browser: Browser;
let work: string;
let bundled: ScanReport;
let hostile: ScanReport;

interface Loaded {
  page: Page;
  consoleErrors: string[];
  requests: string[];
  dialogs: string[];
  /** Milliseconds from navigation to the page's own script saying it is ready. */
  readyMs: number;
}

async function open(report: ScanReport, name: string): Promise<Loaded> {
  const file = join(work, `${name}.html`);
  writeFileSync(file, reportHtml(report));
  const page = await browser.context.newPage();
  const loaded: Loaded = { page, consoleErrors: [], requests: [], dialogs: [], readyMs: 0 };
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") loaded.consoleErrors.push(m.text());
  });
  page.on("pageerror", (error) => loaded.consoleErrors.push(error.message));
  page.on("dialog", (dialog) => {
    loaded.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on("request", (r) => {
    if (r.url() !== pathToFileURL(file).href) loaded.requests.push(r.url());
  });
  const started = Date.now();
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector("body[data-ready=true]", { timeout: 10_000 });
  loaded.readyMs = Date.now() - started;
  return loaded;
}

const visibleRowIds = (page: Page) =>
  page.$$eval("#findings tbody tr", (rows) =>
    rows.filter((r) => !(r as HTMLElement).hidden).map((r) => r.getAttribute("data-id")),
  );

beforeAll(async () => {
  // Fails here, naming the fix, when Chromium is not installed: never a silent skip.
  browser = await launchChromium();
  work = mkdtempSync(join(tmpdir(), "cts-report-"));
  const estate = await readEstateFile(join(ROOT, "examples/estates/two-tenants.json"));
  const scan = await sandboxScan(estate);
  try {
    bundled = await scan.scan();
  } finally {
    await scan.close();
  }
  const home = guid(1, "a0");
  const foreign = guid(2, "a0");
  const hostileScan = await sandboxScan(
    new EstateBuilder(home)
      .tenant(foreign, HOSTILE_NAME)
      .subscription(guid(1, "b0"), home)
      .subscription(guid(2, "b0"), foreign)
      .vnet(guid(1, "b0"), home, "rg", "hub", [
        { name: "to-hostile", remote: vnetId(guid(2, "b0"), "rg", "spoke<b>x<i>y") },
      ])
      .build(),
  );
  try {
    hostile = await hostileScan.scan();
  } finally {
    await hostileScan.close();
  }
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the bundled estate's report in Chromium", () => {
  let loaded: Loaded;
  beforeAll(async () => {
    loaded = await open(bundled, "bundled");
  });
  afterAll(async () => loaded?.page.close());

  it("loads with no console error and no request beyond the file", () => {
    expect(loaded.consoleErrors).toEqual([]);
    expect(loaded.requests).toEqual([]);
    expect(loaded.dialogs).toEqual([]);
  });

  it("draws one node per tenant, our tenants and every other side of a finding", async () => {
    const ours = new Set([bundled.homeTenantId.toLowerCase(), ...bundled.findings.map(localNodeOf)]);
    const others = new Set(bundled.findings.map(remoteNodeOf).filter((k) => !ours.has(k)));
    expect(others.size).toBeGreaterThanOrEqual(4);
    const nodes = await loaded.page.$$eval("#tenant-map .node", (gs) =>
      gs.map((g) => ({
        key: g.getAttribute("data-tenant-id"),
        ours: g.classList.contains("ours"),
        label: g.getAttribute("aria-label"),
      })),
    );
    expect(nodes.filter((n) => !n.ours).map((n) => n.key)).toEqual(expect.arrayContaining([...others]));
    expect(nodes.filter((n) => !n.ours)).toHaveLength(others.size);
    expect(new Set(nodes.map((n) => n.key)).size).toBe(nodes.length);
    expect(nodes.filter((n) => n.ours).map((n) => n.key)).toEqual(expect.arrayContaining([...ours]));
    // Unresolved peerings have a node of their own; every node has words for a screen reader.
    expect(nodes.map((n) => n.key)).toContain("unresolved");
    for (const n of nodes) expect(n.label).toMatch(/\d+ findings?, \d+ need action/);
  });

  it("draws one edge per tenant pair and kind, with the JSON report's counts", async () => {
    const expected = new Map<string, number>();
    for (const f of bundled.findings) {
      const [a, b] = [localNodeOf(f), remoteNodeOf(f)].sort();
      const key = `${a}|${b}|${f.kind}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    const edges = await loaded.page.$$eval("#tenant-map .edge", (gs) =>
      gs.map((g) => ({
        key: `${g.getAttribute("data-a")}|${g.getAttribute("data-b")}|${g.getAttribute("data-kind")}`,
        count: Number(g.getAttribute("data-count")),
        muted: g.classList.contains("muted"),
        label: g.getAttribute("aria-label") ?? "",
        shown: g.querySelector("text")?.textContent,
      })),
    );
    expect(new Map(edges.map((e) => [e.key, e.count]))).toEqual(expected);
    expect(edges).toHaveLength(expected.size);
    for (const e of edges) {
      expect(e.shown).toBe(String(e.count));
      expect(e.label).toContain(`${e.count} finding`);
    }
    // The Microsoft-managed peering and private endpoint: muted.
    const microsoft = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const toMicrosoft = edges.filter((e) => e.key.includes(microsoft));
    expect(toMicrosoft.length).toBeGreaterThan(0);
    expect(toMicrosoft.every((e) => e.muted)).toBe(true);
    expect(edges.filter((e) => !e.muted).length).toBeGreaterThan(0);
  });

  it("lists every finding of the JSON report in the table, with its fix", async () => {
    expect(await visibleRowIds(loaded.page)).toEqual(bundled.findings.map((f) => f.id));
    const commands = await loaded.page.$$eval("#findings tbody tr code.command", (cs) => cs.length);
    expect(commands).toBe(bundled.findings.filter((f) => f.status !== "allowed").length);
    expect(await loaded.page.textContent("#checks")).toContain("log-analytics-evidence (skipped)");
  });

  it("filters by kind, status and severity, and by the tenant selected on the map", async () => {
    const { page } = loaded;
    const ids = (pick: (f: ScanReport["findings"][number]) => boolean) =>
      bundled.findings.filter(pick).map((f) => f.id);
    await page.selectOption("#f-kind", "vnet-peering");
    expect(await visibleRowIds(page)).toEqual(ids((f) => f.kind === "vnet-peering"));
    await page.selectOption("#f-severity", "high");
    expect(await visibleRowIds(page)).toEqual(ids((f) => f.kind === "vnet-peering" && f.severity === "high"));
    expect(await page.textContent("#shown")).toBe(
      `${ids((f) => f.kind === "vnet-peering" && f.severity === "high").length} of ${bundled.findings.length} findings shown`,
    );
    await page.selectOption("#f-kind", "");
    await page.selectOption("#f-severity", "");
    await page.selectOption("#f-status", "allowed");
    expect(await visibleRowIds(page)).toEqual(ids((f) => f.status === "allowed"));
    await page.selectOption("#f-status", "");

    // Focusing a tenant lists its findings; selecting it filters the table to them.
    const northwind = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    const node = page.locator(`#tenant-map .node[data-tenant-id="${northwind}"]`);
    await node.focus();
    const mine = ids((f) => f.remoteTenantId?.toLowerCase() === northwind);
    expect(await page.$$eval("#node-panel li", (li) => li.length)).toBe(mine.length);
    expect(await page.textContent("#node-panel h3")).toContain("Northwind Traders");
    await node.press("Enter");
    expect(await visibleRowIds(page)).toEqual(mine);
    await page.selectOption("#f-tenant", "");
    expect(await visibleRowIds(page)).toHaveLength(bundled.findings.length);
  });

  it("sorts by a column, both ways", async () => {
    const { page } = loaded;
    const kinds = () =>
      page.$$eval("#findings tbody tr", (rows) => rows.map((r) => r.getAttribute("data-kind") ?? ""));
    await page.click("#findings thead th:nth-child(3) button");
    const ascending = await kinds();
    expect(ascending).toEqual([...ascending].sort());
    await page.click("#findings thead th:nth-child(3) button");
    expect(await kinds()).toEqual([...ascending].reverse());
    expect(await page.getAttribute("#findings thead th:nth-child(3)", "aria-sort")).toBe("descending");
  });
});

describe("outside text in the browser", () => {
  it("shows a hostile tenant name as text: no element, script or handler comes from it", async () => {
    const { page, consoleErrors, dialogs, requests } = await open(hostile, "hostile");
    try {
      expect(dialogs).toEqual([]);
      expect(requests).toEqual([]);
      expect(consoleErrors).toEqual([]);
      expect(await page.title()).not.toContain("pwned");
      const counts = await page.evaluate(() => ({
        scripts: document.scripts.length,
        images: document.images.length,
        svgs: document.querySelectorAll("svg").length,
        handlers: [...document.querySelectorAll("*")].filter((el) =>
          [...el.attributes].some((a) => a.name.toLowerCase().startsWith("on")),
        ).length,
        bold: document.querySelectorAll("b, i").length,
      }));
      expect(counts).toEqual({ scripts: 1, images: 0, svgs: 1, handlers: 0, bold: 0 });
      const node = page.locator("#tenant-map .node.foreign");
      expect(await node.getAttribute("aria-label")).toContain(`<img src=x onerror="document.title='pwned'">`);
      const row = await page.textContent("#findings tbody tr");
      expect(row).toContain("<script>document.title='pwned'</script>");
      expect(row).toContain('=HYPERLINK("https://127.0.0.1/p","x")');
      expect(row).toContain("spoke<b>x<i>y");
      // Control and bidi characters never reach the page.
      expect(await page.evaluate(() => document.body.textContent)).not.toMatch(
        // eslint-disable-next-line no-control-regex -- exactly what must not be there
        /[\u0000-\u0008\u001b\u202e]/,
      );
    } finally {
      await page.close();
    }
  });
});

describe("scale", () => {
  it("2,500 findings across 100 tenants: ready in under 2 s, and still filters", async () => {
    const large = largeReport(bundled, 2500, 100);
    const medium = large.findings.filter((f) => f.severity === "medium").length;
    // Wall time on a shared machine (CI runs two suites at once) is noisy: a load or a filter
    // that misses its budget is tried again, twice at most, and the fastest counts. A page that
    // really got slower misses it every time.
    let loadMs = Infinity;
    let filterMs = Infinity;
    for (let attempt = 0; attempt < 3 && (loadMs >= 2000 || filterMs >= 1000); attempt++) {
      const { page, readyMs, consoleErrors } = await open(large, `large-${attempt}`);
      try {
        loadMs = Math.min(loadMs, readyMs);
        expect(consoleErrors).toEqual([]);
        expect(await page.$$eval("#tenant-map .node.foreign", (n) => n.length)).toBe(100);
        expect(await page.$$eval("#findings tbody tr", (r) => r.length)).toBe(2500);
        const started = Date.now();
        await page.selectOption("#f-severity", "medium");
        expect(await visibleRowIds(page)).toHaveLength(medium);
        filterMs = Math.min(filterMs, Date.now() - started);
      } finally {
        await page.close();
      }
    }
    expect(loadMs).toBeLessThan(2000);
    expect(filterMs).toBeLessThan(1000);
  });
});
