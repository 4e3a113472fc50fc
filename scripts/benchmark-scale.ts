import { fork, type ChildProcess } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { z } from "zod";
import type { AzureConnection } from "../src/azure/connection";
import { azureGetter } from "../src/azure/http";
import { createResourceGraphClient, resourceGraphQuery } from "../src/azure/resource-graph";
import { listSubscriptions } from "../src/azure/subscription-inventory";
import { loadConfig } from "../src/config";
import { SandboxCredential } from "../src/sandbox/credential";
import type { SandboxCounters } from "../src/sandbox/server";
import { runRecordedScan } from "../src/scan/record-scan";
import { CENSUS_AND_SUMMARY } from "../src/scanners/array-summary";
import { startAzurite } from "../src/store/azurite";
import { storageFromConnectionString } from "../src/store/storage";
import { governanceVisualizerMethod, THROTTLE_LIMIT } from "./peer-method";
import { FOREIGN_TENANTS, SPOKES_PER_HUB, SPOKES_PER_SUBSCRIPTION } from "./scale-estate";

/**
 * `npm run benchmark:scale [-- --subscriptions N]`: what a scan costs on a large estate (default
 * 9,500 landing-zone subscriptions, with the hubs' just under Resource Graph's 10,000 cut-off).
 * The sandbox runs in its own process under the default quota (15 requests per 5 s); this process
 * scans it twice (first scan, unchanged rescan, with state in in-memory Azurite), runs the peer's
 * method (scripts/peer-method.ts: VNets over ARM per subscription, under ARM's read limits), then
 * reads the same estate with the previous full-inventory queries for comparison. Prints the
 * figures and writes them to bench/results.json under the subscription count.
 */

/** The previous scanner's inventory: every subscription, and every peering (mv-expand at its 400 maximum). */
const FULL_SUBSCRIPTIONS_QUERY = `resourcecontainers
| where type =~ 'microsoft.resources/subscriptions'
| project subscriptionId, tenantId, subscriptionName = name, state = tostring(properties.state)
| order by subscriptionId asc`;
const FULL_PEERINGS_QUERY = `resources
| where type =~ 'microsoft.network/virtualnetworks'
| extend peeringCount = array_length(properties.virtualNetworkPeerings)
| where peeringCount > 0
| mv-expand peering = properties.virtualNetworkPeerings limit 400
| project vnetId = id, vnetName = name, subscriptionId, tenantId, peeringCount,
    peeringId = tostring(peering.id),
    peeringName = tostring(peering.name),
    remoteVnetId = tostring(peering.properties.remoteVirtualNetwork.id),
    peeringState = tostring(peering.properties.peeringState),
    peeringSyncLevel = tostring(peering.properties.peeringSyncLevel),
    allowForwardedTraffic = tobool(peering.properties.allowForwardedTraffic),
    allowGatewayTransit = tobool(peering.properties.allowGatewayTransit),
    useRemoteGateways = tobool(peering.properties.useRemoteGateways),
    remoteAddressPrefixes = peering.properties.remoteAddressSpace.addressPrefixes
| order by peeringId asc`;

/** Resource Graph's documented example quota: 15 requests per 5 seconds. */
const QUOTA_PER_SECOND = 15 / 5;
const PAGE_ROWS = 1000;

interface Ready {
  type: "ready";
  url: string;
  ca: string;
  homeTenantId: string;
  estate: { subscriptions: number; virtualNetworks: number; peerings: number; crossTenant: number };
}

function startSandboxProcess(landingZones: number): Promise<{ child: ChildProcess; ready: Ready }> {
  const child = fork(join(__dirname, "scale-sandbox.js"), [String(landingZones)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    execArgv: ["--max-old-space-size=8192"],
  });
  return new Promise((resolve, reject) => {
    child.once("message", (message: Ready) => resolve({ child, ready: message }));
    child.once("exit", (code) =>
      reject(new Error(`The sandbox process exited (${code}) before it was ready.`)),
    );
  });
}

/** The sandbox's counters, with ARM's peering reads (scripts/scale-sandbox.ts adds them). */
type Counters = SandboxCounters & { peeringReads: number; vnetListRequests: number };

function countersOf(child: ChildProcess): Promise<Counters> {
  return new Promise((resolve) => {
    const onMessage = (message: { type: string; counters?: Counters }) => {
      if (message.type !== "counters") return;
      child.off("message", onMessage);
      resolve(message.counters!);
    };
    child.on("message", onMessage);
    child.send({ type: "counters" });
  });
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

async function benchmark(): Promise<void> {
  const { values } = parseArgs({
    options: {
      subscriptions: { type: "string", default: "9500" },
      "skip-baseline": { type: "boolean" },
      "skip-peer": { type: "boolean" },
      "group-size": { type: "string", default: "1000" },
    },
  });
  const landingZones = Number(values.subscriptions);
  if (!Number.isInteger(landingZones) || landingZones < 1)
    throw new Error("--subscriptions must be a whole number");
  const out = (text: string) => process.stdout.write(`${text}\n`);

  out(`Generating ${landingZones} landing-zone subscriptions in the sandbox process...`);
  const { child, ready } = await startSandboxProcess(landingZones);
  const azurite = await startAzurite();
  const tableRequests = { writes: 0, reads: 0 };
  const counter: PipelinePolicy = {
    name: "count-table-requests",
    sendRequest: (request, next) => {
      tableRequests[request.method === "GET" ? "reads" : "writes"] += 1;
      return next(request);
    },
  };
  try {
    // Past the cut-off the scan goes by subscription groups: 1000 a request, Resource Graph's most
    // (a bigger group costs no more requests: each group's census is one request per page of rows).
    const config = loadConfig({ SUBSCRIPTION_GROUP_SIZE: values["group-size"] });
    const connection: AzureConnection = {
      credential: new SandboxCredential(ready.homeTenantId),
      armEndpoint: ready.url,
      graphEndpoint: ready.url,
      tlsCa: ready.ca,
      retryOptions: { maxRetries: config.AZURE_MAX_RETRIES },
    };
    const storage = storageFromConnectionString(azurite.connectionString, "benchmark", {
      additionalPolicies: [{ policy: counter, position: "perCall" }],
    });
    out(
      `Estate: ${ready.estate.subscriptions} subscriptions, ${ready.estate.virtualNetworks} VNets, ` +
        `${ready.estate.peerings} peerings, ${ready.estate.crossTenant} to ${FOREIGN_TENANTS} foreign tenants.`,
    );

    const scans = [];
    for (const label of ["first scan", "unchanged rescan"]) {
      tableRequests.writes = tableRequests.reads = 0;
      const before = await countersOf(child);
      const started = performance.now();
      let censusRows = 0;
      const requestsByQuery: Record<string, number> = {};
      // When each check finished, from the scan's start (checks run one after another).
      const checkFinishedAt: Record<string, number> = {};
      const report = await runRecordedScan({
        connection,
        config,
        storage,
        trigger: "cli",
        allowlist: [],
        // Census pages are told by the query's name; their rows are what the census costs.
        log: (_level, event, fields) => {
          if (event === "check-finished") checkFinishedAt[String(fields?.check)] = performance.now();
          if (event !== "resource-graph-page") return;
          const query = String(fields?.query).replace(/ \(window [^)]*\)/, "");
          requestsByQuery[query] = (requestsByQuery[query] ?? 0) + 1;
          // The census shares its first request with the group's one-row array summary.
          if (query.startsWith("peering census"))
            censusRows += Number(fields?.pageRows ?? 0) - (query === CENSUS_AND_SUMMARY ? 1 : 0);
        },
      });
      const wallMs = performance.now() - started;
      // The scan proper (inventory, tenant resolution, classification), without storing it: what
      // the full-inventory comparison below also measures.
      const scanMs = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
      const after = await countersOf(child);
      const found = report.findings.filter((f) => f.relation === "cross-tenant").length;
      // The peering check runs first: from the scan's start (the cut-off probe and ARM's subscription
      // list included) to its end is what the full peering inventory below is compared with.
      const peeringCheckSeconds = seconds((checkFinishedAt["vnet-peering"] ?? Number.NaN) - started);
      const scan = {
        label,
        complete: report.complete,
        errors: report.errors.length,
        wallSeconds: seconds(wallMs),
        scanSeconds: seconds(scanMs),
        resourceGraphRequests: report.stats.resourceGraphRequests,
        resourceGraphRows: report.stats.resourceGraphRows,
        throttled: after.throttledRequests - before.throttledRequests,
        armLookups:
          after.subscriptionLookups -
          before.subscriptionLookups +
          (after.subscriptionListRequests - before.subscriptionListRequests),
        // Pages of the management group tree, read past the cut-off to plan scopes by group.
        armManagementGroupPages:
          after.managementGroupDescendantsRequests - before.managementGroupDescendantsRequests,
        // Each new violation is read from ARM before it is alerted (confirmation): not in armLookups.
        armPeeringReads: after.peeringReads - before.peeringReads,
        graphLookups: after.tenantLookups - before.tenantLookups,
        crossTenantFound: found,
        peeringCheckSeconds,
        censusRows,
        requestsByQuery,
        tableWrites: tableRequests.writes,
        tableReads: tableRequests.reads,
      };
      scans.push(scan);
      out(
        `${label}: complete=${scan.complete}, ${scan.wallSeconds} s (scan ${scan.scanSeconds} s, the rest storing it), ${scan.resourceGraphRequests} Resource Graph requests, ` +
          `${scan.resourceGraphRows} rows, ${scan.armLookups} ARM requests (tenant lookups, subscription list) and ${scan.armPeeringReads} ARM peering reads (confirming new violations), ${scan.armManagementGroupPages} pages of the management group tree, ${scan.graphLookups} Graph lookups, ` +
          `${found} of ${ready.estate.crossTenant} cross-tenant peerings found, table requests: ${scan.tableWrites} writes, ${scan.tableReads} reads`,
      );
      if (!report.complete) for (const e of report.errors) out(`  error: ${e.message}`);
    }
    // Before the comparison run, which holds the whole inventory in this process.
    const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
    out(`scanning process peak RSS: ${peakRssMb} MB`);

    // The peer's method (Azure Governance Visualizer) against the same sandbox, under ARM's read limits.
    let peer = null;
    if (!values["skip-peer"]) {
      const before = await countersOf(child);
      const run = await governanceVisualizerMethod(connection);
      const after = await countersOf(child);
      peer = {
        ...run,
        armRequests:
          after.vnetListRequests -
          before.vnetListRequests +
          (after.subscriptionLookups - before.subscriptionLookups) +
          (after.subscriptionListRequests - before.subscriptionListRequests),
        armThrottled: after.armThrottled - before.armThrottled,
      };
      out(
        `peer's method (AzGovViz: VNets over ARM per subscription, ${THROTTLE_LIMIT} in parallel): ${peer.wallSeconds} s, ` +
          `${peer.armRequests} ARM requests (${peer.armThrottled} throttled), ${peer.lookups} subscription lookups, ` +
          `${peer.crossTenantFound} of ${ready.estate.crossTenant} cross-tenant peerings found`,
      );
    }

    const candidates = ready.estate.crossTenant;
    const minRequests = Math.ceil(candidates / PAGE_ROWS);
    const first = scans[0]!;
    let baseline: { wallSeconds: number; resourceGraphRequests: number; resourceGraphRows: number } | null =
      null;
    if (!values["skip-baseline"]) {
      const get = azureGetter(connection);
      const { queryAll, stats } = resourceGraphQuery(
        createResourceGraphClient(connection),
        { managementGroups: [], subscriptions: [] },
        {
          pageSize: PAGE_ROWS,
          subscriptionGroupSize: config.SUBSCRIPTION_GROUP_SIZE,
          listSubscriptions: async () =>
            (await listSubscriptions(connection, get)).map((s) => s.subscriptionId),
        },
      );
      const started = performance.now();
      const row = z.looseObject({});
      const subscriptions = await queryAll("full subscription inventory", FULL_SUBSCRIPTIONS_QUERY, row);
      const peerings = await queryAll("full peering inventory", FULL_PEERINGS_QUERY, row);
      baseline = {
        wallSeconds: seconds(performance.now() - started),
        resourceGraphRequests: stats.requests,
        resourceGraphRows: stats.rows,
      };
      out(
        `previous full-inventory queries: ${baseline.wallSeconds} s, ${baseline.resourceGraphRequests} requests, ` +
          `${baseline.resourceGraphRows} rows (${subscriptions.rows.length} subscriptions, ${peerings.rows.length} peerings)`,
      );
    }

    // Resource Graph budgets, by check (issues 17 and 19). Under the cut-off: 20 requests in all.
    // Past it, per 1000-subscription group: the peering check's census (which brings the array
    // summary every check shares) and candidate read (2), one more per 1,000 census rows, and 10 to
    // spare; every other query (the roles in use, the Lighthouse delegations) once per group, plus
    // the cut-off probe.
    const groups = Math.ceil(ready.estate.subscriptions / 1000);
    const byQuery = first.requestsByQuery;
    const peeringRequests = Object.entries(byQuery)
      .filter(([name]) => name === "peering" || name.startsWith("peering "))
      .reduce((n, [, count]) => n + count, 0);
    const budgets = {
      groups,
      peering: {
        requests: peeringRequests,
        budget: 2 * groups + Math.ceil(first.censusRows / 1000) + 10,
      },
      perGroupQueries: Object.fromEntries(
        Object.entries(byQuery)
          .filter(([name]) => name !== "peering" && !name.startsWith("peering "))
          .map(([name, count]) => [name, { requests: count, budget: groups + 1 }]),
      ),
    };
    const withinBudgets =
      budgets.peering.requests <= budgets.peering.budget &&
      Object.values(budgets.perGroupQueries).every((q) => q.requests <= q.budget);

    const results = {
      landingZoneSubscriptions: landingZones,
      estate: {
        ...ready.estate,
        spokesPerSubscription: SPOKES_PER_SUBSCRIPTION,
        spokesPerHub: SPOKES_PER_HUB,
        foreignTenants: FOREIGN_TENANTS,
      },
      scans,
      budgets,
      peakRssMb,
      baseline,
      peer,
      ratios: {
        rowsPerCandidate: Math.round((first.resourceGraphRows / candidates) * 100) / 100,
        /** The scan proper (every check) against the full-inventory queries: both without storing anything. */
        wallTimeVsFullInventory: baseline
          ? Math.round((baseline.wallSeconds / first.scanSeconds) * 10) / 10
          : null,
        /** The peering check alone (what the full-inventory queries read) against them. */
        peeringCheckVsFullInventory: baseline
          ? Math.round((baseline.wallSeconds / first.peeringCheckSeconds) * 10) / 10
          : null,
        /** The peer's wall time and ARM requests against our scan proper and its Resource Graph and ARM requests. */
        wallTimeVsPeer: peer ? Math.round((peer.wallSeconds / first.scanSeconds) * 10) / 10 : null,
        requestsVsPeer: peer
          ? Math.round(
              (peer.armRequests /
                (first.resourceGraphRequests + first.armLookups + first.armManagementGroupPages)) *
                10,
            ) / 10
          : null,
        rowsVsFullInventory: baseline
          ? Math.round((baseline.resourceGraphRows / first.resourceGraphRows) * 10) / 10
          : null,
        quotaBound: {
          minimumRequests: minRequests,
          seconds: seconds((minRequests / QUOTA_PER_SECOND) * 1000),
          requestsVsBound: Math.round((first.resourceGraphRequests / minRequests) * 10) / 10,
        },
      },
      checks: {
        rowsWithinBudget: first.resourceGraphRows <= 1.1 * candidates + first.censusRows + 1000,
        requestsWithinBudget:
          ready.estate.subscriptions <= 10_000 ? first.resourceGraphRequests <= 20 : withinBudgets,
        rescanSameRequests:
          scans[1]!.resourceGraphRequests === first.resourceGraphRequests && scans[1]!.tableWrites === 1,
        tenTimesFaster: baseline ? baseline.wallSeconds >= 10 * first.scanSeconds : null,
        peeringCheckTenTimesFaster: baseline ? baseline.wallSeconds >= 10 * first.peeringCheckSeconds : null,
        peakRssWithinBudget: peakRssMb <= (ready.estate.subscriptions > 40_000 ? 400 : 300),
        complete: scans.every((s) => s.complete) && first.crossTenantFound === candidates,
      },
      machine: {
        cpus: (await import("node:os")).cpus().length,
        node: process.version,
        note: "shared 2-core machine; wall times are noisy",
      },
      measuredAt: new Date().toISOString(),
    };
    out(
      `ratios: ${results.ratios.wallTimeVsFullInventory ?? "-"}x less wall time (the peering check alone: ${results.ratios.peeringCheckVsFullInventory ?? "-"}x) and ${results.ratios.rowsVsFullInventory ?? "-"}x fewer rows than the full inventory; ` +
        `${results.ratios.wallTimeVsPeer ?? "-"}x less wall time and ${results.ratios.requestsVsPeer ?? "-"}x fewer requests than the peer's method; ` +
        `${first.resourceGraphRequests} requests against a quota bound of ${minRequests} (${results.ratios.quotaBound.seconds} s at 15 per 5 s), ` +
        `${results.ratios.quotaBound.requestsVsBound}x the bound`,
    );
    out(`budgets: ${JSON.stringify(budgets)}`);
    out(`checks: ${JSON.stringify(results.checks)}`);

    await mkdir("bench", { recursive: true });
    const path = join("bench", "results.json");
    const all = JSON.parse(await readFile(path, "utf8").catch(() => "{}")) as Record<string, unknown>;
    all[`${landingZones}`] = results;
    await writeFile(path, `${JSON.stringify(all, null, 2)}\n`);
    out(`written to ${path}`);
  } finally {
    child.send({ type: "close" });
    await azurite.stop();
  }
}

benchmark().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
