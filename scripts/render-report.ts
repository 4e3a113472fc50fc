import "./quiet-test-mode";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { readAllowlistFile } from "../src/allowlist/file";
import { reportHtml } from "../src/report/html";
import { readEstateFile } from "../src/sandbox/estate";
import { launchChromium } from "../test/helpers/chromium";
import { sandboxScan } from "../test/helpers/sandbox";

/**
 * `npm run render-report`: scans the bundled estate with the example allowlist in the sandbox,
 * writes its HTML report and redraws docs/report.png from it in Debian's Chromium (/usr/bin/chromium;
 * never a downloaded browser, never the network), with one tenant focused so its findings show.
 */
// Compiled to dist*/scripts/, two folders below the project root.
const ROOT = join(__dirname, "..", "..");
const FOCUSED_TENANT = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"; // Northwind Traders

async function renderReport(): Promise<void> {
  const estate = await readEstateFile(join(ROOT, "examples/estates/two-tenants.json"));
  const allowlist = await readAllowlistFile(join(ROOT, "examples/allowlist.yaml"));
  const scan = await sandboxScan(estate);
  const report = await scan.scan({ allowlist }).finally(() => scan.close());

  const work = mkdtempSync(join(tmpdir(), "report-preview-"));
  const browser = await launchChromium({ width: 1400, height: 1500 });
  try {
    // The page is self-contained; anything reaching beyond the local file is a mistake.
    await browser.context.route(
      (url) => url.protocol !== "file:",
      (route) => route.abort(),
    );
    const file = join(work, "report.html");
    writeFileSync(file, reportHtml(report));
    const page = await browser.context.newPage();
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector("body[data-ready=true]");
    await page.focus(`#tenant-map .node[data-tenant-id="${FOCUSED_TENANT}"]`);
    await page.screenshot({ path: join(ROOT, "docs/report.png"), animations: "disabled" });
    process.stdout.write("wrote docs/report.png\n");
  } finally {
    await browser.close();
    rmSync(work, { recursive: true, force: true });
  }
}

renderReport().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
