import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { alertCard, type AdaptiveCard } from "../src/alerts/card";
import {
  PORTAL_URL,
  digestAlert,
  findingAlertsOfEveryCheck,
  violationAlert,
} from "../test/helpers/alert-samples";
import { CHROMIUM, CHROMIUM_ARGS } from "../test/helpers/chromium";
import { cardHtml } from "./card-preview";

/**
 * Redraws docs/alert-card.png, docs/digest-card.png and one card per check beyond peerings
 * (docs/<kind>-card.png) from the sample alerts the card tests use.
 * Needs Debian's chromium (CHROMIUM); never downloads a browser, never touches the network.
 */
// Compiled to dist*/scripts/, two folders below the project root.
const ROOT = join(__dirname, "..", "..");

const PICTURES: { file: string; card: AdaptiveCard }[] = [
  { file: "docs/alert-card.png", card: alertCard(violationAlert(), { portalUrl: PORTAL_URL }) },
  { file: "docs/digest-card.png", card: alertCard(digestAlert(200), { portalUrl: PORTAL_URL }) },
  ...Object.entries(findingAlertsOfEveryCheck()).map(([kind, alert]) => ({
    file: `docs/${kind}-card.png`,
    card: alertCard(alert, { portalUrl: PORTAL_URL }),
  })),
];

async function renderCards(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "card-preview-"));
  const context = await chromium.launchPersistentContext(join(work, "profile"), {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 600, height: 800 },
    deviceScaleFactor: 2,
  });
  try {
    // The page is self-contained; anything reaching beyond the local file is a mistake.
    await context.route(
      (url) => url.protocol !== "file:",
      (route) => route.abort(),
    );
    const page = await context.newPage();
    for (const { file, card } of PICTURES) {
      const html = join(work, file.replace(/^docs\//, "").replace(/\.png$/, ".html"));
      writeFileSync(html, cardHtml(card));
      await page.goto(pathToFileURL(html).href);
      await page.locator("#card").screenshot({ path: join(ROOT, file), animations: "disabled" });
      process.stdout.write(`wrote ${file}\n`);
    }
  } finally {
    await context.close();
    rmSync(work, { recursive: true, force: true });
  }
}

renderCards().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
