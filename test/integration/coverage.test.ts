import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { alertMessageSchema, type AlertMessage } from "../../src/findings/alert-message";
import { loadConfig } from "../../src/config";
import { sandboxConnection } from "../../src/sandbox/connection";
import type { Estate } from "../../src/sandbox/estate";
import { startSandbox } from "../../src/sandbox/server";
import { dryScan, runRecordedScan } from "../../src/scan/record-scan";
import type { ScanReport } from "../../src/findings/report";
import { FindingsStore } from "../../src/store/findings-store";
import { ScanRunsStore } from "../../src/store/scan-runs";
import { listFindings } from "../../src/scan/findings-view";
import { FINDING_COLUMNS } from "../../src/cli/findings-command";
import { renderTable } from "../../src/cli/table";
import { EstateBuilder, guid, vnetId } from "../helpers/estate-builder";
import { testStorage, type TestStorage } from "../helpers/azurite";

const HOME = guid(1, "a1");
const FOREIGN = guid(2, "a1");
const SUB = { a: guid(11, "b1"), b: guid(12, "b1"), c: guid(13, "b1"), f: guid(20, "b1") };
const GROUP = "mg-prod";

interface World {
  /** Peerings left out, as "<sub letter><index>" (e.g. "b1"). */
  deleted?: string[];
  invisible?: ("a" | "b" | "c")[];
  /** Subscriptions moved out of mg-prod. */
  outOfGroup?: ("a" | "b")[];
}

/** Subscriptions a and b under mg-prod, c outside it; each home VNet peers with the foreign tenant. */
function estate(world: World = {}): Estate {
  const builder = new EstateBuilder(HOME).tenant(FOREIGN, "Foreign Org");
  for (const key of ["a", "b", "c"] as const) {
    const groups = key !== "c" && !world.outOfGroup?.includes(key) ? [GROUP] : [];
    builder.subscription(SUB[key], HOME, {
      managementGroups: groups,
      ...(world.invisible?.includes(key) ? { visibleToScanner: false } : {}),
    });
  }
  builder.subscription(SUB.f, FOREIGN);
  const peerings = { a: 2, b: 2, c: 1 };
  for (const [key, count] of Object.entries(peerings) as ["a" | "b" | "c", number][]) {
    for (let i = 0; i < count; i++) {
      if (world.deleted?.includes(`${key}${i}`)) continue;
      builder.vnet(SUB[key], HOME, "rg", `${key}${i}`, [
        { name: `peer-${key}${i}`, remote: vnetId(SUB.f, "f-rg", `f-${key}${i}`) },
      ]);
    }
  }
  return builder.build();
}

describe("coverage: a scan resolves only what it looked at", () => {
  let state: TestStorage;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    state = await testStorage();
  });
  afterAll(() => state.stop());

  async function scan(
    e: Estate,
    at: string,
    options: { env?: Record<string, string>; dryRun?: boolean } = {},
  ): Promise<ScanReport> {
    const config = loadConfig({ AZURE_MAX_RETRIES: "1", ...options.env });
    const sandbox = await startSandbox({ estate: e });
    try {
      const run = options.dryRun ? dryScan : runRecordedScan;
      return await run({
        connection: {
          ...sandboxConnection(sandbox, e, config),
          retryOptions: { maxRetries: 1, retryDelayInMs: 10 },
        },
        config,
        storage: state.storage,
        trigger: "cli",
        allowlist: [],
        now: () => new Date(at),
      });
    } finally {
      await sandbox.close();
    }
  }

  const stored = async () =>
    new Map((await new FindingsStore(state.storage).list()).map((s) => [s.finding.id, s]));
  const byName = async (name: string) =>
    [...(await stored()).values()].find((s) => s.finding.resourceId.endsWith(`/peer-${name}`))!;

  /** Every alert on the queue so far (the queue keeps them: nothing dispatches in this test). */
  async function alerts(): Promise<AlertMessage[]> {
    const queue = await state.storage.queue("alerts");
    const { peekedMessageItems } = await queue.peekMessages({ numberOfMessages: 32 });
    expect(peekedMessageItems.length).toBeLessThan(32);
    return peekedMessageItems.map((m) =>
      alertMessageSchema.parse(JSON.parse(Buffer.from(m.messageText, "base64").toString("utf8"))),
    );
  }
  const coverageLost = async () => (await alerts()).filter((a) => a.kind === "coverage-lost");

  it("a full scan records every finding and its subscriptions", async () => {
    const report = await scan(estate(), "2026-11-01T00:00:00Z");
    expect(report.findings).toHaveLength(5);
    for (const f of report.findings) ids[f.resourceId.split("/peer-")[1]!] = f.id;
    expect(report.coverage).toMatchObject({ lostSubscriptions: [] });
    expect(report.coverage!.subscriptions).toEqual([SUB.a, SUB.b, SUB.c].sort());
  });

  it("a scan narrowed to one subscription resolves nothing outside it, even a peering deleted there", async () => {
    const report = await scan(estate({ deleted: ["b1"] }), "2026-11-02T00:00:00Z", {
      env: { SCAN_SUBSCRIPTIONS: SUB.a },
    });
    expect(report.complete).toBe(true);
    expect(report.findings.map((f) => f.localSubscriptionId)).toEqual([SUB.a, SUB.a]);
    expect(report.delta).toEqual({ new: [], resolved: [], reopened: [], changed: [] });
    expect(report.coverage).toMatchObject({ subscriptions: [SUB.a], lostSubscriptions: [] });
    const b1 = await byName("b1");
    expect(b1.state).toBe("open");
    expect(b1.coverage).toBeUndefined();
    expect(await coverageLost()).toEqual([]);
  });

  it("a subscription that became invisible is named, alerted once, and its findings turn stale, not resolved", async () => {
    const lost = await scan(estate({ deleted: ["b1"], invisible: ["b"] }), "2026-11-03T00:00:00Z");
    expect(lost.complete).toBe(true);
    expect(lost.delta!.resolved).toEqual([]);
    expect(lost.coverage!.lostSubscriptions).toEqual([SUB.b]);
    for (const name of ["b0", "b1"]) {
      expect(await byName(name)).toMatchObject({
        state: "open",
        coverage: { state: "stale", lastVerified: "2026-11-01T00:00:00.000Z" },
      });
    }
    const [run] = await new ScanRunsStore(state.storage).latest(1);
    expect(run!.lostSubscriptions).toEqual([SUB.b]);

    const again = await scan(estate({ deleted: ["b1"], invisible: ["b"] }), "2026-11-04T00:00:00Z");
    expect(again.coverage!.lostSubscriptions).toEqual([SUB.b]);
    expect(again.delta).toEqual({ new: [], resolved: [], reopened: [], changed: [] });
    const alerted = await coverageLost();
    expect(alerted).toHaveLength(1);
    expect(alerted[0]).toMatchObject({
      severity: "medium",
      coverage: { subscriptionId: SUB.b, findings: 2, lastVerified: "2026-11-01T00:00:00.000Z" },
    });
    const listed = await listFindings(state.storage);
    expect(listed.find((s) => s.finding.id === ids.b0)).toMatchObject({
      coverage: { state: "stale" },
      lastSeen: "2026-11-01T00:00:00.000Z",
    });
    const table = renderTable(listed, FINDING_COLUMNS, false).join("\n");
    expect(table.split("\n").filter((line) => line.includes("open (stale)"))).toHaveLength(2);
  });

  it("a dry run answers what it saw and touches nothing", async () => {
    const before = await stored();
    const report = await scan(estate({ deleted: ["b1", "c0"] }), "2026-11-05T00:00:00Z", { dryRun: true });
    expect(report.findings).toHaveLength(3);
    expect(report.delta).toBeUndefined();
    const after = await stored();
    expect([...after.values()].map((s) => [s.finding.id, s.etag])).toEqual(
      [...before.values()].map((s) => [s.finding.id, s.etag]),
    );
  });

  it("when the subscription comes back, its findings are verified again and a deleted peering is resolved", async () => {
    const report = await scan(estate({ deleted: ["b1"] }), "2026-11-06T00:00:00Z");
    expect(report.coverage!.lostSubscriptions).toEqual([]);
    expect(report.delta).toEqual({ new: [], resolved: [ids.b1], reopened: [], changed: [] });
    expect((await byName("b0")).coverage).toBeUndefined();
    expect((await byName("b0")).history.map((h) => h.event)).toEqual(["new", "stale", "verified"]);
    expect((await byName("b1")).state).toBe("resolved");
    expect(await coverageLost()).toHaveLength(1);
    const kinds = (await alerts()).map((a) => a.kind);
    expect(kinds).not.toContain("violation-reopened");
    expect(kinds.filter((k) => k === "finding-resolved")).toHaveLength(1);
  });

  it("under a management-group scope, a subscription moved out of the group is lost, not resolved", async () => {
    const under = await scan(estate({ deleted: ["b1"] }), "2026-11-07T00:00:00Z", {
      env: { SCAN_MANAGEMENT_GROUPS: GROUP },
    });
    expect(under.coverage).toMatchObject({ subscriptions: [SUB.a, SUB.b], lostSubscriptions: [] });
    // c is not under the group and was never seen under it: outside this scope, not lost.
    expect(under.delta).toEqual({ new: [], resolved: [], reopened: [], changed: [] });
    const report = await scan(estate({ deleted: ["b1"], outOfGroup: ["a"] }), "2026-11-08T00:00:00Z", {
      env: { SCAN_MANAGEMENT_GROUPS: GROUP },
    });
    expect(report.complete).toBe(true);
    expect(report.coverage).toMatchObject({ subscriptions: [SUB.b], lostSubscriptions: [SUB.a] });
    expect(report.delta!.resolved).toEqual([]);
    expect((await byName("a0")).coverage).toMatchObject({ state: "stale" });
    // c was never under the group: outside the scope, untouched.
    expect((await byName("c0")).coverage).toBeUndefined();
    expect((await coverageLost()).map((a) => a.coverage!.subscriptionId).sort()).toEqual(
      [SUB.a, SUB.b].sort(),
    );
  });
});
