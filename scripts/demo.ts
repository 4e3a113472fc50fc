import "./quiet-test-mode";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { HttpRequest, InvocationContext } from "@azure/functions";
import { ALERTS_QUEUE, POISON_QUEUE } from "../src/alerts/emit";
import type { AdaptiveCard, TeamsPayload } from "../src/alerts/card";
import { alertMessageSchema } from "../src/findings/alert-message";
import { readAllowlistFile } from "../src/allowlist/file";
import { FINDING_COLUMNS } from "../src/cli/findings-command";
import { renderTable } from "../src/cli/table";
import { loadConfig } from "../src/config";
import { alertDispatcher } from "../src/functions/alert-dispatcher";
import { allowlistHttp } from "../src/functions/http-api";
import { useRuntime } from "../src/functions/runtime";
import { scheduledScan } from "../src/functions/scheduled-scan";
import { peeringChanges } from "../src/functions/peering-changes";
import { networkClient, POLL_INTERVAL_MS } from "../src/azure/arm-network";
import { SandboxCredential } from "../src/sandbox/credential";
import { sandboxConnection } from "../src/sandbox/connection";
import { parseEstate, type Estate } from "../src/sandbox/estate";
import { drainQueue } from "../src/sandbox/queue-host";
import { startSandbox, type RunningSandbox } from "../src/sandbox/server";
import { startWebhookSink, type ReceivedPost } from "../src/sandbox/webhook-sink";
import { listFindings } from "../src/scan/findings-view";
import { AllowlistStore } from "../src/store/allowlist-store";
import { startAzurite } from "../src/store/azurite";
import { ScanRunsStore } from "../src/store/scan-runs";
import { storageFromConnectionString } from "../src/store/storage";
import { cardHtml } from "./card-preview";

/**
 * `npm run demo`: the Functions app's whole loop on the bundled two-tenant estate, on this machine.
 * In-memory Azurite is the storage account, the sandbox is Azure, a local sink is Teams and the
 * generic webhook. The timer and queue handlers run exactly as the host would call them.
 */
const ESTATE = "examples/estates/two-tenants.json";
const ALLOWLIST = "examples/allowlist.yaml";
const REMOVED_PEERING = "hub-to-unknown";
const WOODGROVE_EXCEPTION = "woodgrove-to-contoso-hub";
/** Act 3: a guest peers Contoso's isolated VNet to a network in Woodgrove's tenant that no entry allows. */
const GUEST_OBJECT_ID = "6f1c0c4e-2b7a-4d55-9a31-0c9e8d7f6a5b";
const ISOLATED = {
  subscriptionId: "31bdf544-8e8e-4f5b-bb31-3316a05e5581",
  resourceGroup: "isolated-rg",
  vnet: "isolated-vnet",
};
const WOODGROVE_VNET =
  "/subscriptions/a7b9c1d3-6f80-41a2-9d4e-5f60718293a4/resourceGroups/wg-shared-rg/providers/Microsoft.Network/virtualNetworks/wg-shared-vnet";
const GUEST_PEERING = "isolated-to-woodgrove";

const out = (text = "") => process.stdout.write(`${text}\n`);

/** The first lines of text on a card: its title and the alert's sentence. */
function cardTitle(card: AdaptiveCard): string {
  // Titles are TextBlocks; the alert's sentence is outside text, in a RichTextBlock's runs.
  const texts = card.body.flatMap((element) => {
    if (typeof element !== "object" || element === null) return [];
    if ("text" in element) return [String(element.text)];
    if ("inlines" in element && Array.isArray(element.inlines))
      return [element.inlines.map((run: { text?: unknown }) => String(run.text)).join("")];
    return [];
  });
  return texts.slice(0, 2).join(" — ");
}

async function demo(outputDir: string): Promise<void> {
  const started = Date.now();
  out("cross-tenant-scanner demo: the Functions app's loop on a simulated estate");
  out(`Starting Azurite (in memory), the Azure sandbox serving ${ESTATE}, and a local webhook sink.`);
  const azurite = await startAzurite();
  const sink = await startWebhookSink();
  let sandbox: RunningSandbox | undefined;
  let current: Estate | undefined;
  try {
    const storage = storageFromConnectionString(azurite.connectionString, "Azurite");
    const estateJson = JSON.parse(await readFile(ESTATE, "utf8")) as {
      resources: { name: string; properties: { virtualNetworkPeerings?: { name: string }[] } }[];
      logAnalytics?: { workspaceId: string };
    };
    const config = loadConfig({
      ...process.env,
      TEAMS_WEBHOOK_URL: `${sink.url}/teams`,
      WEBHOOK_URL: `${sink.url}/webhook`,
      WEBHOOK_SECRET: "demo-secret",
      ALERT_ALLOWED_HOSTS: "127.0.0.1",
      // The local sink listens on 127.0.0.1, which the send-time guard refuses otherwise.
      ALERT_ALLOW_PRIVATE_ADDRESSES: "true",
      // The demo has no App Service Authentication in front of it: the function key guards writes.
      ALLOWLIST_WRITE_AUTH: "function-key",
      // The estate's workspace holds sign-in logs and the Activity log: findings carry evidence.
      LOG_ANALYTICS_WORKSPACE_ID: estateJson.logAnalytics?.workspaceId ?? "",
    });
    const serve = async (estate: Estate) => {
      await sandbox?.close();
      sandbox = await startSandbox({ estate });
      current = estate;
      useRuntime({
        config,
        storage,
        connection: sandboxConnection(sandbox, estate, config),
        agent: sink.agent,
      });
    };
    await serve(parseEstate(estateJson, ESTATE));

    const imported = await new AllowlistStore(storage).replaceAll(await readAllowlistFile(ALLOWLIST), "demo");
    out(`Stored allowlist: ${imported.added} entries from ${ALLOWLIST}.`);

    let teamsSeen = 0;
    let webhookSeen = 0;
    const drainAlerts = () =>
      drainQueue(
        storageQueue(ALERTS_QUEUE),
        storageQueue(POISON_QUEUE),
        (message) =>
          alertDispatcher(
            message,
            new InvocationContext({ functionName: "alertDispatcher", logHandler: () => {} }),
          ),
        { maxDequeueCount: 5, visibilityTimeoutSeconds: 1, timeoutMs: 30_000 },
      );
    const queues = new Map([
      [ALERTS_QUEUE, await storage.queue(ALERTS_QUEUE)],
      [POISON_QUEUE, await storage.queue(POISON_QUEUE)],
    ]);
    const storageQueue = (name: string) => queues.get(name)!;
    const scan = async (label: string) => {
      out();
      out(`== ${label}: the timer function 'scheduledScan' runs ==`);
      await scheduledScan(
        {
          isPastDue: false,
          schedule: { adjustForDST: true },
          scheduleStatus: { last: "", next: "", lastUpdated: "" },
        },
        new InvocationContext({ functionName: "scheduledScan", logHandler: () => {} }),
      );
      const [run] = await new ScanRunsStore(storage).latest(1);
      if (!run) throw new Error("The timer function recorded no scan.");
      const findings = await listFindings(storage);
      out(renderTable(findings, FINDING_COLUMNS, false).join("\n"));
      const d = run.deltaCounts;
      out(
        `Scan ${run.scanId}: ${run.stats.findings} finding(s), ${run.stats.violations} need action, complete=${run.complete}. ` +
          `Delta: ${d.new} new, ${d.resolved} resolved, ${d.reopened} reopened, ${d.changed} changed.`,
      );

      out();
      out("== The queue-triggered function 'alertDispatcher' drains the alerts queue ==");
      const drained = await drainAlerts();
      const teams = sink.delivered("/teams").slice(teamsSeen);
      const webhook = sink.delivered("/webhook").slice(webhookSeen);
      teamsSeen += teams.length;
      webhookSeen += webhook.length;
      out(`${drained.handled} message(s) handled; Teams received ${teams.length} card(s):`);
      for (const post of teams)
        await showCard(post, teamsSeen - teams.length + teams.indexOf(post) + 1, outputDir);
      out(
        `The generic webhook received ${webhook.length} signed alert message(s): ${webhook.map((p) => alertMessageSchema.parse(JSON.parse(p.body)).kind).join(", ")}.`,
      );
    };

    await scan("Scan 1");

    out();
    out(
      `== The estate changes: peering '${REMOVED_PEERING}' is deleted; an exception is added through PUT /api/allowlist ==`,
    );
    for (const resource of estateJson.resources) {
      const peerings = resource.properties.virtualNetworkPeerings;
      if (peerings)
        resource.properties.virtualNetworkPeerings = peerings.filter((p) => p.name !== REMOVED_PEERING);
    }
    await serve(parseEstate(estateJson, ESTATE));
    const put = await allowlistHttp(
      new HttpRequest({
        method: "PUT",
        url: `https://localhost/api/allowlist/${WOODGROVE_EXCEPTION}`,
        params: { id: WOODGROVE_EXCEPTION },
        headers: { "content-type": "application/json" },
        body: {
          string: JSON.stringify({
            tenantId: "5f1e4c2a-7b3d-4e8f-9a6b-2c1d0e9f8a7b",
            localScope: "/subscriptions/f6a8b0c2-5e7f-4091-8c3d-4e5f60718293",
            owner: "woodgrove-netops@woodgrove.example",
            reason: "Woodgrove's app reaches Contoso's hub under the managed-service contract",
            expiresOn: "2027-03-31",
          }),
        },
      }),
      new InvocationContext({ functionName: "allowlist", logHandler: () => {} }),
    );
    out(`PUT /api/allowlist/${WOODGROVE_EXCEPTION} -> ${put.status}`);

    await scan("Scan 2");

    out();
    out(
      `== Act 3: minutes, not hours. A guest with Network Contributor peers '${ISOLATED.vnet}' to Woodgrove's tenant through ARM ==`,
    );
    const guest = {
      ...sandboxConnection(sandbox!, current!, config),
      credential: new SandboxCredential(current!.homeTenantId, GUEST_OBJECT_ID),
    };
    const putAt = Date.now();
    const created = await networkClient(guest, ISOLATED.subscriptionId)
      .virtualNetworkPeerings.createOrUpdate(
        ISOLATED.resourceGroup,
        ISOLATED.vnet,
        GUEST_PEERING,
        { remoteVirtualNetwork: { id: WOODGROVE_VNET }, allowForwardedTraffic: true },
        { updateIntervalInMs: POLL_INTERVAL_MS },
      )
      .pollUntilDone();
    out(
      `PUT ${GUEST_PEERING} -> ${created.provisioningState} (peeringState ${created.peeringState}), as ${GUEST_OBJECT_ID}`,
    );
    out(
      "The timer function 'peeringChanges' polls Resource Graph's change feed (every minute in Azure; every 0.5 s here):",
    );
    let detected: number | undefined;
    for (let poll = 1; poll <= 20 && detected === undefined; poll++) {
      await peeringChanges(
        {
          isPastDue: false,
          schedule: { adjustForDST: true },
          scheduleStatus: { last: "", next: "", lastUpdated: "" },
        },
        new InvocationContext({ functionName: "peeringChanges", logHandler: () => {} }),
      );
      await drainAlerts();
      const teams = sink.delivered("/teams").slice(teamsSeen);
      if (teams.length > 0) {
        detected = Date.now() - putAt;
        teamsSeen += teams.length;
        out(`  poll ${poll}: Teams received ${teams.length} card(s):`);
        for (const post of teams)
          await showCard(post, teamsSeen - teams.length + teams.indexOf(post) + 1, outputDir);
      } else {
        out(`  poll ${poll}: nothing new yet`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    if (detected === undefined)
      throw new Error("The change poller did not alert the guest's peering within 20 polls.");
    out(`Detected in ${(detected / 1000).toFixed(1)} s, from the PUT to the Teams post.`);
    out();
    out(
      `Cards and HTML previews are in ${outputDir}/. Done in ${((Date.now() - started) / 1000).toFixed(1)} s.`,
    );
  } finally {
    useRuntime(undefined);
    await sandbox?.close();
    await sink.close();
    await azurite.stop();
  }
}

/** Prints what Teams shows and keeps the card as JSON and as an HTML preview. */
async function showCard(post: ReceivedPost, index: number, outputDir: string): Promise<void> {
  const card = (JSON.parse(post.body) as TeamsPayload).attachments[0]!.content;
  const base = join(outputDir, `teams-${String(index).padStart(2, "0")}`);
  await writeFile(`${base}.json`, JSON.stringify(card, null, 2) + "\n");
  await writeFile(`${base}.html`, cardHtml(card));
  out(`  - ${cardTitle(card)}`);
}

const { values } = parseArgs({ options: { out: { type: "string", default: "demo-output" } } });
const outputDir = resolve(values.out);
mkdir(outputDir, { recursive: true })
  .then(() => demo(outputDir))
  .then(
    () => (process.exitCode = 0),
    (error: unknown) => {
      process.stderr.write(
        `The demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 1;
    },
  );
