import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { request as httpsRequest } from "node:https";
import { z } from "zod";
import { getPeering, listVnetPeerings, networkClient, POLL_INTERVAL_MS } from "../../src/azure/arm-network";
import { createResourceGraphClient, resourceGraphQuery } from "../../src/azure/resource-graph";
import type { AzureConnection } from "../../src/azure/connection";
import { loadConfig, type Config } from "../../src/config";
import { sandboxConnection } from "../../src/sandbox/connection";
import { SandboxCredential } from "../../src/sandbox/credential";
import type { Estate } from "../../src/sandbox/estate";
import { startSandbox, type RunningSandbox, type SandboxOptions } from "../../src/sandbox/server";
import { startWebhookSink, type ReceivedPost, type RunningSink } from "../../src/sandbox/webhook-sink";
import { pollPeeringChanges } from "../../src/watch/change-poll";
import { confirmNewViolations, confirmResolutions } from "../../src/scan/confirm";
import { handlePeeringEvent } from "../../src/watch/peering-event";
import { runRecordedScan } from "../../src/scan/record-scan";
import { checkVnets } from "../../src/watch/vnet-check";
import { MemoryTenantCache } from "../../src/azure/tenant-cache";
import { findingId } from "../../src/scanners/finding";
import type { Finding } from "../../src/scanners/findings";
import type { PeeringFinding } from "../../src/scanners/peering/finding";
import type { RunningAzurite } from "../../src/store/azurite";
import { FindingsStore } from "../../src/store/findings-store";
import type { Storage } from "../../src/store/storage";
import { CROSS_TENANT, EstateBuilder, guid, vnetId } from "../helpers/estate-builder";
import { testStorage } from "../helpers/azurite";
import { deliverQueuedAlerts, NO_QUOTA_WAITS } from "../helpers/sandbox";

const { home, foreign, homeSubscription, foreignSubscription } = CROSS_TENANT;
const GUEST = "6f1c0c4e-0000-4000-8000-00000000beef";
const SPOKE = vnetId(homeSubscription, "rg", "spoke");
const HUB = vnetId(homeSubscription, "rg", "hub");
const FOREIGN_VNET = vnetId(foreignSubscription, "f-rg", "f-target");
const NEW_PEERING = `${SPOKE}/virtualNetworkPeerings/to-foreign`;

/** A hub already peered to the foreign tenant, and an empty spoke where the guest adds a peering. */
/** This suite only sees peering findings; anything else is a failure worth naming. */
function peering(finding: Finding | undefined): PeeringFinding {
  if (finding?.kind !== "vnet-peering") throw new Error(`expected a peering finding, got ${finding?.kind}`);
  return finding;
}

function estate(): Estate {
  return new EstateBuilder(home)
    .tenant(foreign, "Foreign Org")
    .subscription(homeSubscription, home)
    .subscription(foreignSubscription, foreign)
    .vnet(homeSubscription, home, "rg", "hub", [
      { name: "hub-to-foreign", remote: vnetId(foreignSubscription, "f-rg", "f-hub") },
    ])
    .vnet(homeSubscription, home, "rg", "spoke")
    .build();
}

describe("minutes, not hours: change poller, Event Grid and confirmation against ARM", () => {
  let azurite: RunningAzurite;
  let storage: Storage;
  let sink: RunningSink;
  let config: Config;
  let sandbox: RunningSandbox | undefined;
  let receiver: Server | undefined;

  beforeAll(async () => {
    sink = await startWebhookSink(() => ({ status: 202 }));
  });
  afterAll(() => sink.close());
  afterEach(async () => {
    await azurite?.stop();
    await sandbox?.network.settled();
    await sandbox?.close();
    sandbox = undefined;
    await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
    receiver = undefined;
  });

  let tests = 0;
  /** Fresh storage per test: each test is its own app. */
  async function fresh(e: Estate, options: Omit<SandboxOptions, "estate"> = {}) {
    tests += 1;
    ({ azurite, storage } = await testStorage());
    const prefix = `t${tests}`;
    config = loadConfig({
      TEAMS_WEBHOOK_URL: `${sink.url}/teams${prefix}`,
      ALERT_ALLOWED_HOSTS: "127.0.0.1",
      // The local sink listens on 127.0.0.1, which the send-time guard refuses otherwise.
      ALERT_ALLOW_PRIVATE_ADDRESSES: "true",
      AZURE_MAX_RETRIES: "1",
    });
    sandbox = await startSandbox({ ...options, estate: e });
    const connection: AzureConnection = {
      ...sandboxConnection(sandbox, e, config),
      retryOptions: { maxRetries: 1, retryDelayInMs: 10 },
    };
    // The guest writes with its own identity, as a user with Network Contributor on the spoke would.
    const guest: AzureConnection = { ...connection, credential: new SandboxCredential(home, GUEST) };
    return { connection, guest, path: `/teams${prefix}` };
  }

  /** Runs the alert dispatcher over the queue; answers the posts it made. */
  async function drain(): Promise<ReceivedPost[]> {
    const before = sink.delivered().length;
    await deliverQueuedAlerts(storage, config, sink.agent);
    return sink.delivered().slice(before);
  }

  const createPeering = (guest: AzureConnection) =>
    networkClient(guest, homeSubscription)
      .virtualNetworkPeerings.createOrUpdate(
        "rg",
        "spoke",
        "to-foreign",
        { remoteVirtualNetwork: { id: FOREIGN_VNET }, allowForwardedTraffic: true },
        { updateIntervalInMs: POLL_INTERVAL_MS },
      )
      .pollUntilDone();
  const deletePeering = (guest: AzureConnection) =>
    networkClient(guest, homeSubscription)
      .virtualNetworkPeerings.delete("rg", "spoke", "to-foreign", { updateIntervalInMs: POLL_INTERVAL_MS })
      .pollUntilDone();

  const stored = async (resourceId: string) =>
    (await new FindingsStore(storage).list()).find(
      (s) => s.finding.id === findingId("vnet-peering", resourceId),
    );

  it("the poller alerts a peering created through ARM in the one poll after its change record appears, and resolves it after the delete", async () => {
    const { connection, guest, path } = await fresh(estate(), { network: { changeLagSeconds: 1 } });
    const deps = { connection, config, storage };
    await runRecordedScan({ ...deps, trigger: "timer", allowlist: [] });
    await drain();
    const hubFinding = await stored(`${HUB}/virtualNetworkPeerings/hub-to-foreign`);
    expect(hubFinding?.state).toBe("open");
    expect((await pollPeeringChanges(deps)).ran).toBe(true);

    const created = await createPeering(guest);
    expect(created.peeringState).toBe("Initiated");
    // Before the change record exists, a poll sees nothing and alerts nothing.
    const early = await pollPeeringChanges(deps);
    expect(early).toMatchObject({ ran: true, changes: 0 });
    expect(await drain()).toHaveLength(0);

    await new Promise((resolve) => setTimeout(resolve, 1100));
    const seen = await pollPeeringChanges(deps);
    expect(seen).toMatchObject({ ran: true, changes: 1, advanced: true });
    const newId = findingId("vnet-peering", NEW_PEERING);
    if (!seen.ran) throw new Error("the poll did not run");
    expect(seen.check?.delta.new).toEqual([newId]);
    const alerts = await drain();
    expect(alerts).toHaveLength(1);
    expect(sink.delivered(path).at(-1)!.body).toContain("New cross-tenant peering");
    expect(sink.delivered(path).at(-1)!.body).toContain("Peering 'to-foreign'");

    // The overlap reads the same record again: nothing changes, nothing is sent twice.
    const again = await pollPeeringChanges(deps);
    expect(again).toMatchObject({ ran: true, changes: 1 });
    expect(await drain()).toHaveLength(0);

    await deletePeering(guest);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const gone = await pollPeeringChanges(deps);
    if (!gone.ran) throw new Error("the poll did not run");
    expect(gone.check?.delta.resolved).toEqual([newId]);
    expect(await drain()).toHaveLength(1);
    expect(sink.delivered(path).at(-1)!.body).toContain("Cross-tenant peering resolved");
    // Only the spoke was reconciled: the hub's finding, never re-read, is as it was.
    expect((await stored(`${HUB}/virtualNetworkPeerings/hub-to-foreign`))?.lastScanId).toBe(
      hubFinding!.lastScanId,
    );
    // Under the cut-off no poll lists subscriptions through ARM.
    expect(sandbox!.counters.subscriptionListRequests).toBe(0);
  });

  it("without change-feed rights it logs once, not at every poll", async () => {
    const { connection } = await fresh(estate(), {
      resourceGraphFault: () => ({ status: 403, message: "The client does not have authorization." }),
    });
    const logged: string[] = [];
    const log = (_level: string, event: string) => void logged.push(event);
    const deps = { connection: { ...connection, retryOptions: { maxRetries: 0 } }, config, storage, log };
    await pollPeeringChanges(deps);
    await pollPeeringChanges(deps);
    expect(logged.filter((e) => e === "change-feed-unavailable")).toHaveLength(1);
  });

  it("past Resource Graph's subscription cut-off the poller lists subscriptions through ARM and still sees changes", async () => {
    // A cut-off at one subscription leaves out the spoke's, which sorts after another one, as
    // subscriptions past the first 10,000 are left out in Azure.
    const e = estate();
    e.subscriptions.push({
      ...e.subscriptions.find((s) => s.subscriptionId === homeSubscription)!,
      subscriptionId: "000000d0-0000-4000-8000-000000000000",
    });
    const { connection, guest } = await fresh(e, {
      tenantSubscriptionLimit: 1,
      network: { changeLagSeconds: 0 },
    });
    const logged: string[] = [];
    const deps = { connection, config, storage, log: (_l: string, event: string) => void logged.push(event) };
    await pollPeeringChanges(deps);
    await createPeering(guest);
    const seen = await pollPeeringChanges(deps);
    expect(logged).not.toContain("change-feed-unavailable");
    expect(seen).toMatchObject({ ran: true, changes: 1, advanced: true });
    if (!seen.ran) throw new Error("the poll did not run");
    expect(seen.check?.delta.new).toEqual([findingId("vnet-peering", NEW_PEERING)]);
    expect(sandbox!.counters.subscriptionListRequests).toBeGreaterThan(0);
  });

  it("past the cut-off a changed hub's spokes in other groups are classified from ARM's subscription list: only the foreign remote is looked up", async () => {
    // 30 spokes, each in its own subscription, peered with a hub whose subscription sorts last:
    // in groups of 10 past a cut-off of 10, the hub sits in another group than every spoke.
    const hubSub = guid(999, "ff");
    const hub = vnetId(hubSub, "hub-rg", "hub");
    const b = new EstateBuilder(home)
      .tenant(foreign, "Foreign Org")
      .subscription(foreignSubscription, foreign);
    const spokes: { name: string; remote: string }[] = [];
    for (let i = 1; i <= 30; i++) {
      const sub = guid(i, "a7");
      b.subscription(sub, home).vnet(sub, home, "rg", `spoke-${i}`, [{ name: "to-hub", remote: hub }]);
      spokes.push({ name: `to-spoke-${i}`, remote: vnetId(sub, "rg", `spoke-${i}`) });
    }
    b.subscription(hubSub, home).vnet(hubSub, home, "hub-rg", "hub", spokes);
    let lookupsDown = false;
    const { connection, guest, path } = await fresh(b.build(), {
      tenantSubscriptionLimit: 10,
      ...NO_QUOTA_WAITS,
      network: { changeLagSeconds: 0 },
      subscriptionLookupFault: () => (lookupsDown ? { status: 500 } : undefined),
    });
    const deps = { connection, config: { ...config, SUBSCRIPTION_GROUP_SIZE: 10 }, storage };
    // The first poll meets the cut-off at tenant scope, then asks each group of 10 (31
    // subscriptions, 4 groups), after one page of ARM's subscription list.
    const first = sandbox!.counters.resourceGraphRequests;
    await pollPeeringChanges(deps);
    expect(sandbox!.counters.resourceGraphRequests - first).toBe(1 + 4);
    const toForeign = `${hub}/virtualNetworkPeerings/to-foreign`;
    await networkClient(guest, hubSub)
      .virtualNetworkPeerings.createOrUpdate(
        "hub-rg",
        "hub",
        "to-foreign",
        { remoteVirtualNetwork: { id: FOREIGN_VNET } },
        { updateIntervalInMs: POLL_INTERVAL_MS },
      )
      .pollUntilDone();

    // While the foreign subscription's tenant cannot be looked up, the hub is left as it was.
    lookupsDown = true;
    const failed = await pollPeeringChanges(deps);
    lookupsDown = false;
    expect(failed).toMatchObject({ ran: true, changes: 1, advanced: false });
    if (!failed.ran) throw new Error("the poll did not run");
    expect(failed.check?.failed.map((f) => f.vnetId)).toEqual([hub]);
    expect(failed.check?.findings).toEqual([]);
    expect(await stored(toForeign)).toBeUndefined();

    const lookups = sandbox!.counters.subscriptionLookups;
    const lists = sandbox!.counters.subscriptionListRequests;
    const requests = sandbox!.counters.resourceGraphRequests;
    const seen = await pollPeeringChanges(deps);
    if (!seen.ran) throw new Error("the poll did not run");
    expect(seen).toMatchObject({ changes: 1, advanced: true });
    expect(seen.check?.failed).toEqual([]);
    expect(seen.check?.checked).toEqual([hub]);
    // The foreign peering is the one finding; the 30 same-tenant spokes are none.
    expect(seen.check?.findings.map((f) => f.resourceId)).toEqual([toForeign]);
    expect(seen.check?.delta.new).toEqual([findingId("vnet-peering", toForeign)]);
    // One tenant lookup, the foreign subscription's, which ARM's list does not show; not one per spoke.
    expect(sandbox!.counters.subscriptionLookups - lookups).toBe(1);
    // What the poll cost otherwise: one page of ARM's subscription list and one Resource Graph
    // request per group; the cut-off the first poll met is not met again.
    expect(sandbox!.counters.subscriptionListRequests - lists).toBe(1);
    expect(sandbox!.counters.resourceGraphRequests - requests).toBe(4);
    const alerts = await drain();
    expect(alerts).toHaveLength(1);
    expect(sink.delivered(path).at(-1)!.body).toContain("Peering 'to-foreign'");

    // A day later a poll asks over the whole scope again (an estate can shrink under the cut-off).
    const later = sandbox!.counters.resourceGraphRequests;
    const dayLater = await pollPeeringChanges({ ...deps, now: () => new Date(Date.now() + 25 * 3600_000) });
    expect(dayLater).toMatchObject({ ran: true, advanced: true });
    expect(sandbox!.counters.resourceGraphRequests - later).toBe(1 + 4);

    // That poll wrote a time the clock has not reached yet (skew): no hint, the whole scope again.
    const skewed = sandbox!.counters.resourceGraphRequests;
    await pollPeeringChanges(deps);
    expect(sandbox!.counters.resourceGraphRequests - skewed).toBe(1 + 4);
  });

  it("Event Grid: a peering write alerts once under duplicate delivery and names who created it", async () => {
    const handled: Promise<unknown>[] = [];
    // The function app the events reach; its connection exists once the sandbox runs.
    const functionApp: { connection?: AzureConnection } = {};
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const events = JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown[];
        for (const event of events)
          handled.push(handlePeeringEvent(event, { connection: functionApp.connection!, config, storage }));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver!.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/runtime/webhooks/eventgrid`;
    const { connection, guest, path } = await fresh(estate(), {
      network: { eventGridUrl: url, eventGridCopies: 2 },
    });
    functionApp.connection = connection;

    await createPeering(guest);
    await sandbox!.network.settled();
    await Promise.all(handled);
    expect(handled).toHaveLength(2);
    const alerts = await drain();
    expect(alerts).toHaveLength(1);
    const card = sink.delivered(path).at(-1)!.body;
    expect(card).toContain(`created by ${GUEST} at`);
    expect(peering((await stored(NEW_PEERING))?.finding).createdBy?.principalId).toBe(GUEST);

    // A delete, then a late copy of the old write event: ARM's present state wins.
    const writeEvent = {
      id: "late-copy",
      eventType: "Microsoft.Resources.ResourceWriteSuccess",
      subject: NEW_PEERING,
      eventTime: new Date(0).toISOString(),
      data: {
        operationName: "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write",
        authorization: { evidence: { principalId: GUEST } },
      },
    };
    await deletePeering(guest);
    await sandbox!.network.settled();
    await Promise.all(handled);
    await handlePeeringEvent(writeEvent, { connection, config, storage });
    expect((await stored(NEW_PEERING))?.state).toBe("resolved");
    expect(await drain()).toHaveLength(1);
  });

  it("Event Grid: a burst of 40 deliveries of one write, 30% duplicates, handled at once in random order, alerts once", async () => {
    const { connection, guest } = await fresh(estate());
    await createPeering(guest);
    await sandbox!.network.settled();
    const event = (id: string) => ({
      id,
      eventType: "Microsoft.Resources.ResourceWriteSuccess",
      subject: NEW_PEERING,
      eventTime: new Date().toISOString(),
      data: {
        operationName: "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write",
        authorization: { evidence: { principalId: GUEST } },
      },
    });
    // 28 distinct deliveries (Event Grid retries and the VNet's own write) and 12 exact duplicates.
    const distinct = Array.from({ length: 28 }, (_, i) => event(`burst-${i}`));
    const burst = [...distinct, ...distinct.slice(0, 12)];
    let seed = 22;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = burst.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [burst[i], burst[j]] = [burst[j]!, burst[i]!];
    }
    const outcomes = await Promise.allSettled(
      burst.map((e) => handlePeeringEvent(e, { connection, config, storage })),
    );
    // A handler that lost a storage race fails, so Event Grid delivers it again: do as Event Grid does.
    for (const [i, outcome] of outcomes.entries())
      if (outcome.status === "rejected") await handlePeeringEvent(burst[i], { connection, config, storage });
    expect((await stored(NEW_PEERING))?.state).toBe("open");
    expect(await drain()).toHaveLength(1);
  });

  it("Event Grid: an event whose VNet ARM could not read fails, so Event Grid delivers it again", async () => {
    const { connection, guest } = await fresh(estate());
    await createPeering(guest);
    const event = {
      id: "unread",
      eventType: "Microsoft.Resources.ResourceWriteSuccess",
      subject: NEW_PEERING,
      eventTime: new Date().toISOString(),
      data: { operationName: "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write" },
    };
    const unreachable: AzureConnection = {
      ...connection,
      armEndpoint: "https://127.0.0.1:1",
      retryOptions: { maxRetries: 0 },
    };
    await expect(handlePeeringEvent(event, { connection: unreachable, config, storage })).rejects.toThrow(
      `ARM could not be read for ${SPOKE}`,
    );
    expect(await stored(NEW_PEERING)).toBeUndefined();
    // The redelivery, with ARM back, handles it.
    const redelivered = await handlePeeringEvent(event, { connection, config, storage });
    expect(redelivered?.delta.new).toEqual([findingId("vnet-peering", NEW_PEERING)]);
  });

  it("a full scan whose Resource Graph view still shows a peering deleted in ARM sends no violation-new for it", async () => {
    const e = estate();
    e.resources.find((r) => r.id === SPOKE)!.properties.virtualNetworkPeerings = [
      {
        name: "to-foreign",
        properties: {
          remoteVirtualNetwork: { id: FOREIGN_VNET },
          peeringState: "Connected",
          allowVirtualNetworkAccess: true,
          allowForwardedTraffic: false,
          allowGatewayTransit: false,
          useRemoteGateways: false,
          provisioningState: "Succeeded",
        },
      },
    ];
    const logged: { event: string; fields: Record<string, unknown> }[] = [];
    const { connection, guest } = await fresh(e, { network: { resourceGraphLagSeconds: 600 } });
    await deletePeering(guest);
    const readsBefore = sandbox!.network.counters.peeringReads;
    const report = await runRecordedScan({
      connection,
      config,
      storage,
      trigger: "timer",
      allowlist: [],
      log: (_l, event, fields = {}) => void logged.push({ event, fields }),
    });
    const deleted = findingId("vnet-peering", NEW_PEERING);
    expect(report.findings.map((f) => f.id)).not.toContain(deleted);
    expect(report.findings).toHaveLength(1);
    expect(report.delta?.new).toHaveLength(1);
    expect(logged.find((l) => l.event === "finding-corrected")?.fields.findingId).toBe(deleted);
    // One ARM read per new violation Resource Graph showed (the deleted one's answered 404), as the
    // scale benchmark counts them.
    expect(sandbox!.network.counters.peeringReads - readsBefore).toBe(2);
    const alerts = await drain();
    expect(alerts).toHaveLength(1);
    expect(sink.delivered().at(-1)!.body).not.toContain("Peering 'to-foreign'");
  });

  it("a full scan whose Resource Graph view lags ARM does not resolve a peering ARM still has, and resolves it once ARM says it is gone", async () => {
    const { connection, guest } = await fresh(estate(), { network: { resourceGraphLagSeconds: 600 } });
    const logged: { event: string; fields: Record<string, unknown> }[] = [];
    const log = (_l: string, event: string, fields: Record<string, unknown> = {}) =>
      void logged.push({ event, fields });
    await createPeering(guest);
    // The change poller or Event Grid read it from ARM: an open finding.
    await checkVnets([SPOKE], { connection, config, storage, scanId: "changes-1" });
    const id = findingId("vnet-peering", NEW_PEERING);
    expect((await stored(NEW_PEERING))?.state).toBe("open");
    await drain();

    const lagging = await runRecordedScan({
      connection,
      config,
      storage,
      trigger: "timer",
      allowlist: [],
      log,
    });
    expect(lagging.findings.map((f) => f.id)).not.toContain(id);
    expect(lagging.delta?.resolved).toEqual([]);
    expect((await stored(NEW_PEERING))?.state).toBe("open");
    expect(logged.find((l) => l.event === "resolution-withheld")?.fields.findingId).toBe(id);
    // The hub's peering is new to this first full scan; the spoke's gets no resolved card.
    expect((await drain()).map((p) => p.body).join()).not.toContain("resolved");

    await deletePeering(guest);
    const gone = await runRecordedScan({ connection, config, storage, trigger: "timer", allowlist: [] });
    expect(gone.delta?.resolved).toEqual([id]);
    expect((await stored(NEW_PEERING))?.state).toBe("resolved");
  });

  it("the sandbox's ARM writes leave documented resourcechanges rows, and ARM's refusals", async () => {
    const { connection, guest } = await fresh(estate());
    await createPeering(guest);
    const { queryAll } = resourceGraphQuery(
      createResourceGraphClient(connection),
      { managementGroups: [], subscriptions: [] },
      { pageSize: 100, subscriptionGroupSize: 100 },
    );
    const { rows } = await queryAll(
      "changes",
      "resourcechanges | project id, properties",
      z.object({ id: z.string(), properties: z.record(z.string(), z.unknown()) }),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.properties).toMatchObject({
      targetResourceId: SPOKE,
      targetResourceType: "microsoft.network/virtualnetworks",
      changeType: "Update",
      changeAttributes: { changedBy: GUEST, timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
      changes: { "properties.virtualNetworkPeerings.to-foreign": { propertyChangeType: "Insert" } },
    });
    expect(await listVnetPeerings(connection, vnetId(homeSubscription, "rg", "no-such-vnet"))).toEqual({
      exists: false,
    });
    expect(await getPeering(connection, `${HUB}/virtualNetworkPeerings/no-such-peering`)).toBeNull();
    const bare = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest(
        `${sandbox!.url}${SPOKE}/virtualNetworkPeerings`,
        { ca: sandbox!.ca, headers: { authorization: "Bearer x" } },
        (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(bare.status).toBe(400);
    expect(bare.body).toContain("MissingApiVersionParameter");
  });

  it("a full scan corrects a new violation from ARM's answer when the peering now points elsewhere", async () => {
    const { connection, guest } = await fresh(estate(), { network: { resourceGraphLagSeconds: 600 } });
    // Resource Graph still shows the hub peered to f-hub; ARM has it pointing at f-target now.
    await networkClient(guest, homeSubscription)
      .virtualNetworkPeerings.createOrUpdate(
        "rg",
        "hub",
        "hub-to-foreign",
        { remoteVirtualNetwork: { id: FOREIGN_VNET } },
        { updateIntervalInMs: POLL_INTERVAL_MS },
      )
      .pollUntilDone();
    const report = await runRecordedScan({ connection, config, storage, trigger: "timer", allowlist: [] });
    expect(report.findings.map((f) => peering(f).remoteVnetId)).toEqual([FOREIGN_VNET]);
    expect(peering(report.findings[0]).peeringState).toBe("Initiated");
  });

  it("a VNet that no longer exists has no peerings: its findings are resolved, no other", async () => {
    const e = estate();
    const { connection } = await fresh(e);
    await runRecordedScan({ connection, config, storage, trigger: "timer", allowlist: [] });
    await createPeering({ ...connection, credential: new SandboxCredential(home, GUEST) });
    await checkVnets([SPOKE], { connection, config, storage, scanId: "changes-1" });
    e.resources.splice(
      e.resources.findIndex((r) => r.id === HUB),
      1,
    );
    const readsBefore = sandbox!.network.counters.peeringReads;
    const result = await checkVnets([HUB], { connection, config, storage, scanId: "changes-2" });
    // ARM's 404 for the missing VNet's peerings is counted like any other read.
    expect(sandbox!.network.counters.peeringReads - readsBefore).toBe(1);
    expect(result.checked).toEqual([HUB]);
    expect(result.delta.resolved).toEqual([
      findingId("vnet-peering", `${HUB}/virtualNetworkPeerings/hub-to-foreign`),
    ]);
    expect((await stored(NEW_PEERING))?.state).toBe("open");
  });

  it("a VNet whose remote tenant could not be looked up is left as it was, not stored as an unresolved peering", async () => {
    let armDown = true;
    const { connection } = await fresh(estate(), {
      subscriptionLookupFault: (id) =>
        armDown && id.toLowerCase() === foreignSubscription.toLowerCase() ? { status: 503 } : undefined,
    });
    const hubPeering = `${HUB}/virtualNetworkPeerings/hub-to-foreign`;
    const failing = await checkVnets([HUB], { connection, config, storage, scanId: "changes-1" });
    expect(failing.checked).toEqual([]);
    expect(failing.failed.map((f) => f.vnetId)).toEqual([HUB]);
    expect(failing.failed[0]!.message).toContain("the tenant of a remote network could not be looked up");
    expect(await stored(hubPeering)).toBeUndefined();

    armDown = false;
    const later = await checkVnets([HUB], { connection, config, storage, scanId: "changes-2" });
    expect(later.failed).toEqual([]);
    expect(peering((await stored(hubPeering))?.finding)).toMatchObject({
      relation: "cross-tenant",
      remoteTenantId: foreign,
    });
  });

  it("a full scan resolves no peering finding ARM could not be asked about", async () => {
    const { connection } = await fresh(estate());
    await runRecordedScan({ connection, config, storage, trigger: "cli", allowlist: [] });
    const finding = (await new FindingsStore(storage).list())[0]!.finding;
    const unreachable: AzureConnection = {
      ...connection,
      armEndpoint: "https://127.0.0.1:1",
      retryOptions: { maxRetries: 0 },
    };
    const logged: string[] = [];
    const gone = await confirmResolutions([finding], {
      connection: unreachable,
      log: (_l, event) => void logged.push(event),
    });
    expect(gone.size).toBe(0);
    expect(logged).toEqual(["resolution-unconfirmed"]);
  });

  it("a confirmation that fails alerts anyway, marked unconfirmed", async () => {
    const { connection } = await fresh(estate());
    await runRecordedScan({ connection, config, storage, trigger: "cli", allowlist: [] });
    const unreachable: AzureConnection = {
      ...connection,
      armEndpoint: "https://127.0.0.1:1",
      retryOptions: { maxRetries: 0 },
    };
    const finding = (await new FindingsStore(storage).list())[0]?.finding;
    expect(finding).toBeDefined();
    const out = await confirmNewViolations([{ ...finding!, id: "not-stored" }], new Map(), {
      connection: unreachable,
      config,
      allowlist: [],
      tenantCache: new MemoryTenantCache(60_000),
      now: new Date(),
      log: () => {},
    });
    expect(out).toHaveLength(1);
    expect(peering(out[0]).confirmation).toBe("unconfirmed");
  });
});
