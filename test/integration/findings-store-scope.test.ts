import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { ALERTS_QUEUE } from "../../src/alerts/emit";
import { idKey } from "../../src/azure/resource-id";
import { loadConfig } from "../../src/config";
import { sandboxConnection } from "../../src/sandbox/connection";
import { startSandbox, type RunningSandbox } from "../../src/sandbox/server";
import { runRecordedScan } from "../../src/scan/record-scan";
import { listFindingsPage } from "../../src/scan/findings-view";
import { checkVnets } from "../../src/watch/vnet-check";
import { findingId } from "../../src/scanners/finding";
import { FindingsStore, partitionOf } from "../../src/store/findings-store";
import type { Storage } from "../../src/store/storage";
import { testStorage, type TestStorage } from "../helpers/azurite";
import { CROSS_TENANT, crossTenantEstate, vnetId } from "../helpers/estate-builder";

/** Counts the finding entities Table Storage returns to queries and point reads of the findings table. */
function entityCounter() {
  const count = { entities: 0, queries: 0 };
  const policy: PipelinePolicy = {
    name: "count-finding-entities",
    sendRequest: async (request, next) => {
      const response = await next(request);
      const path = new URL(request.url).pathname;
      if (
        request.method === "GET" &&
        path.includes("/findings") &&
        response.status === 200 &&
        response.bodyAsText
      ) {
        const body = JSON.parse(response.bodyAsText) as { value?: unknown[] };
        count.entities += Array.isArray(body.value) ? body.value.length : 1;
        if (Array.isArray(body.value)) count.queries += 1;
      }
      return response;
    },
  };
  return { count, policy };
}

const SUB = CROSS_TENANT.homeSubscription;
const vnet = (i: number) => vnetId(SUB, "rg", `vnet-${i}`);
const peeringId = (i: number) => `${vnet(i)}/virtualNetworkPeerings/to-foreign-${i}`;

describe("a VNet re-check (Event Grid, change poller) costs its VNet's findings, not the table's", () => {
  let state: TestStorage;
  let sandbox: RunningSandbox;
  let storage: Storage;
  const counter = entityCounter();
  const estate = crossTenantEstate(40);
  const config = loadConfig({ AZURE_MAX_RETRIES: "1" });
  const deps = () => ({
    connection: {
      ...sandboxConnection(sandbox, estate, config),
      retryOptions: { maxRetries: 1, retryDelayInMs: 10 },
    },
    config,
    storage,
  });

  beforeAll(async () => {
    sandbox = await startSandbox({ estate, quota: { requests: 1000, windowMs: 5000 } });
    state = await testStorage({ additionalPolicies: [{ policy: counter.policy, position: "perCall" }] });
    storage = state.storage;
    await runRecordedScan({ ...deps(), trigger: "timer", allowlist: [] });
  });
  afterAll(async () => {
    await sandbox.close();
    await state.stop();
  });

  const stored = async (i: number) =>
    (await new FindingsStore(storage).list()).find(
      (s) => s.finding.id === findingId("vnet-peering", peeringId(i)),
    );

  it("an event about one VNet reads that VNet's finding only, and resolves its deleted peering", async () => {
    const read = estate.resources.find((r) => r.id === vnet(3))!;
    const peerings = read.properties.virtualNetworkPeerings;
    read.properties.virtualNetworkPeerings = [];
    counter.count.entities = 0;
    const result = await checkVnets([vnet(3).toUpperCase()], {
      ...deps(),
      scanId: "event-1",
      ownAlertsOnly: true,
    });
    const entitiesRead = counter.count.entities;
    read.properties.virtualNetworkPeerings = peerings;
    expect(result.delta.resolved).toEqual([findingId("vnet-peering", peeringId(3))]);
    // Of 40 stored findings: the VNet's own one, and once more by key for the ETag its write gave
    // it (its alert goes out without a read of the table for pending alerts).
    expect(entitiesRead).toBe(2);
    expect((await stored(3))?.state).toBe("resolved");
  });

  it("an alert left pending by a re-check that stopped before sending it goes out with the redelivered event's", async () => {
    const read = estate.resources.find((r) => r.id === vnet(8))!;
    const peerings = read.properties.virtualNetworkPeerings;
    read.properties.virtualNetworkPeerings = [];
    // The first delivery resolved the finding and stopped before putting its alert on the queue.
    await new FindingsStore(storage).save([], {
      scanId: "changes-crashed",
      at: new Date().toISOString(),
      complete: true,
      vnets: new Set([idKey(vnet(8))]),
    });
    const queue = await storage.queue(ALERTS_QUEUE);
    await queue.clearMessages();
    const again = await checkVnets([vnet(8)], {
      ...deps(),
      scanId: "event-redelivered",
      ownAlertsOnly: true,
    });
    read.properties.virtualNetworkPeerings = peerings;
    expect(again.delta.resolved).toEqual([]);
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
    const sent = receivedMessageItems.map(
      (m) =>
        JSON.parse(Buffer.from(m.messageText, "base64").toString("utf8")) as {
          kind: string;
          finding?: { id: string };
        },
    );
    expect(sent.map((m) => [m.kind, m.finding?.id])).toEqual([
      ["finding-resolved", findingId("vnet-peering", peeringId(8))],
    ]);
    expect((await stored(8))?.pendingAlerts).toEqual([]);
  });

  it("findings stored before the VNet column existed: an unchanged one is found by key, and a full scan adds the column", async () => {
    const table = await storage.table("findings");
    // As stored by the previous version: the same entities without localVnetKey.
    for await (const entity of table.listEntities<Record<string, unknown>>()) {
      const { localVnetKey: _dropped, etag: _etag, timestamp: _t, ...older } = entity;
      await table.upsertEntity(older as { partitionKey: string; rowKey: string }, "Replace");
    }
    const before = await stored(5);
    const recheck = await checkVnets([vnet(5)], { ...deps(), scanId: "changes-2" });
    expect(recheck.delta).toEqual({ new: [], resolved: [], reopened: [], changed: [] });
    expect((await stored(5))?.history).toEqual(before?.history);

    // The next full scan writes no finding anew, but gives every older one its column...
    await runRecordedScan({ ...deps(), trigger: "timer", allowlist: [] });
    const columns: unknown[] = [];
    for await (const entity of table.listEntities<Record<string, unknown>>())
      columns.push(entity.localVnetKey);
    expect(columns.every((c) => typeof c === "string" && c.length > 0)).toBe(true);
    // ...so a re-check can resolve them again.
    const read = estate.resources.find((r) => r.id === vnet(6))!;
    const peerings = read.properties.virtualNetworkPeerings;
    read.properties.virtualNetworkPeerings = [];
    const gone = await checkVnets([vnet(6)], { ...deps(), scanId: "changes-3" });
    read.properties.virtualNetworkPeerings = peerings;
    expect(gone.delta.resolved).toEqual([findingId("vnet-peering", peeringId(6))]);
  });

  it("identical page requests while one is being read share that read; nothing is kept after", async () => {
    counter.count.queries = 0;
    const pages = await Promise.all(Array.from({ length: 20 }, () => listFindingsPage(storage, {}, 10)));
    expect(counter.count.queries).toBe(1);
    expect(new Set(pages.map((p) => JSON.stringify(p))).size).toBe(1);
    expect(pages[0]!.findings).toHaveLength(10);
    await Promise.all([
      listFindingsPage(storage, { state: "resolved" }, 10),
      listFindingsPage(storage, {}, 10),
    ]);
    expect(counter.count.queries).toBe(3);
  });

  it("pending alerts are marked sent in transactions; a finding written meanwhile keeps its own", async () => {
    const store = new FindingsStore(storage);
    const all = await store.list();
    const partition = partitionOf(
      all.find((a) => all.filter((b) => partitionOf(b.finding.id) === partitionOf(a.finding.id)).length > 1)!
        .finding.id,
    );
    const same = all.filter((s) => partitionOf(s.finding.id) === partition).slice(0, 2);
    expect(same).toHaveLength(2);
    const table = await storage.table("findings");
    // Only the ETags matter here; the marker stands for alerts written with the findings.
    const raw = (id: string) => table.getEntity<{ pendingAlerts: string }>(partition, id);
    const pending = "[pending]";
    for (const s of same)
      await table.updateEntity(
        { partitionKey: partition, rowKey: s.finding.id, pendingAlerts: pending },
        "Merge",
      );
    const read = await Promise.all(same.map(async (s) => ({ ...s, etag: (await raw(s.finding.id)).etag })));
    // The second one is written again after it was read: its ETag no longer matches.
    await table.updateEntity(
      { partitionKey: partition, rowKey: same[1]!.finding.id, pendingAlerts: pending },
      "Merge",
    );
    await store.clearPendingAlerts(read);
    expect((await raw(same[0]!.finding.id)).pendingAlerts).toBe("");
    expect((await raw(same[1]!.finding.id)).pendingAlerts).toBe(pending);
  });
});
