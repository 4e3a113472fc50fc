import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { AllowlistEntry } from "../../src/allowlist/entry";
import { loadConfig } from "../../src/config";
import { sandboxConnection } from "../../src/sandbox/connection";
import type { Estate } from "../../src/sandbox/estate";
import { startSandbox, type SandboxOptions } from "../../src/sandbox/server";
import { runRecordedScan } from "../../src/scan/record-scan";
import type { ScanReport } from "../../src/findings/report";
import type { RunningAzurite } from "../../src/store/azurite";
import { FindingsStore } from "../../src/store/findings-store";
import { ScanRunsStore } from "../../src/store/scan-runs";
import type { Storage } from "../../src/store/storage";
import { CROSS_TENANT, crossTenantEstate } from "../helpers/estate-builder";
import { testStorage, writeCounter } from "../helpers/azurite";

const FOREIGN = CROSS_TENANT.foreign;
const estate = crossTenantEstate;

describe("findings kept in Table Storage (Azurite)", () => {
  let azurite: RunningAzurite;
  let storage: Storage;
  const counter = writeCounter();
  const config = loadConfig({ AZURE_MAX_RETRIES: "1" });

  beforeAll(async () => {
    ({ azurite, storage } = await testStorage({
      additionalPolicies: [{ policy: counter.policy, position: "perCall" }],
    }));
  });
  afterAll(() => azurite.stop());

  async function scan(
    e: Estate,
    options: { allowlist?: AllowlistEntry[]; at?: string; sandbox?: Omit<SandboxOptions, "estate"> } = {},
  ): Promise<ScanReport> {
    const sandbox = await startSandbox({ ...options.sandbox, estate: e });
    try {
      const connection = {
        ...sandboxConnection(sandbox, e, config),
        retryOptions: { maxRetries: 1, retryDelayInMs: 10 },
      };
      return await runRecordedScan({
        connection,
        config,
        storage,
        trigger: "cli",
        allowlist: options.allowlist ?? [],
        ...(options.at ? { now: () => new Date(options.at!) } : {}),
      });
    } finally {
      await sandbox.close();
    }
  }

  const store = () => new FindingsStore(storage);
  let first: ScanReport;

  it("first scan: every finding is new", async () => {
    first = await scan(estate(150), { at: "2026-11-01T00:00:00Z" });
    expect(first.findings).toHaveLength(150);
    expect(first.delta!.new.sort()).toEqual(first.findings.map((f) => f.id).sort());
    expect(await store().list()).toHaveLength(150);
  });

  it("an unchanged rescan writes no finding and reports an empty delta", async () => {
    counter.writes.length = 0;
    const again = await scan(estate(150), { at: "2026-11-02T00:00:00Z" });
    expect(again.delta).toEqual({ new: [], resolved: [], reopened: [], changed: [] });
    // The scan run alone: nothing about the findings or their subscriptions changed.
    expect(counter.writes).toEqual([expect.stringMatching(/^PUT .*\/scanruns\(/)]);
  });

  it("a removed peering is resolved exactly once", async () => {
    const gone = first.findings.find((f) => f.resourceId.endsWith("/to-foreign-7"))!;
    const r1 = await scan(estate(150, [7]), { at: "2026-11-03T00:00:00Z" });
    expect(r1.delta!.resolved).toEqual([gone.id]);
    const r2 = await scan(estate(150, [7]), { at: "2026-11-04T00:00:00Z" });
    expect(r2.delta!.resolved).toEqual([]);
    const stored = (await store().list()).find((s) => s.finding.id === gone.id)!;
    expect(stored.state).toBe("resolved");
    // Unchanged rescans write nothing per finding, so the stored sighting is the last one written.
    expect(stored.lastSeen).toBe("2026-11-01T00:00:00.000Z");
  });

  it("a peering that comes back is reopened with its first sighting kept", async () => {
    const back = await scan(estate(150), { at: "2026-11-05T00:00:00Z" });
    expect(back.delta!.reopened).toHaveLength(1);
    const stored = (await store().list()).find((s) => s.finding.id === back.delta!.reopened[0])!;
    expect(stored).toMatchObject({ state: "open", firstSeen: "2026-11-01T00:00:00.000Z" });
    expect(stored.history.map((h) => h.event)).toEqual(["new", "resolved", "reopened"]);
  });

  it("an allowlisted finding becomes allowed, then expired-exception when its entry lapses", async () => {
    const entry: AllowlistEntry = {
      id: "foreign",
      tenantId: FOREIGN,
      expiresOn: "2026-11-10",
      owner: "o",
      reason: "r",
    };
    const allowed = await scan(estate(150), { allowlist: [entry], at: "2026-11-06T00:00:00Z" });
    expect(allowed.delta!.changed).toHaveLength(150);
    expect(new Set((await store().list()).map((s) => s.state))).toEqual(new Set(["allowed"]));
    const lapsed = await scan(estate(150), { allowlist: [entry], at: "2026-11-11T00:00:00Z" });
    expect(lapsed.delta!.changed).toHaveLength(150);
    expect(new Set((await store().list()).map((s) => s.state))).toEqual(new Set(["expired-exception"]));
  });

  it("an incomplete scan resolves nothing", async () => {
    const broken = await scan(estate(150), {
      at: "2026-11-12T00:00:00Z",
      sandbox: { resourceGraphFault: (n) => (n >= 3 ? { status: 500 } : undefined) },
    });
    expect(broken.complete).toBe(false);
    expect(broken.delta!.resolved).toEqual([]);
    expect((await store().list()).filter((s) => s.state === "resolved")).toHaveLength(0);
  });

  it("records every run with its trigger, counts and delta", async () => {
    const runs = await new ScanRunsStore(storage).latest(20);
    expect(runs[0]).toMatchObject({
      trigger: "cli",
      scope: { managementGroups: [], subscriptions: [] },
      complete: false,
      startedAt: "2026-11-12T00:00:00.000Z",
    });
    expect(runs.map((r) => r.deltaCounts.new)).toContain(150);
    expect(runs).toHaveLength(8);
  });

  it("two scans racing on the same findings lose no update", async () => {
    const current = (await store().list()).map((s) => s.finding);
    const target = current[0]!;
    const changed = { ...target, peeringState: "Disconnected" as const, severity: "low" as const };
    const facts = (scanId: string) => ({ scanId, at: "2026-11-13T00:00:00.000Z", complete: true });
    // Both read the same stored state, then write: one must find its ETag stale and redo its partition.
    const [a, b] = await Promise.all([
      store().save([changed, ...current.slice(1)], facts("race-a")),
      store().save(current.slice(1), facts("race-b")),
    ]);
    const history = (await store().list())
      .find((s) => s.finding.id === target.id)!
      .history.map((h) => h.scanId);
    expect(history).toEqual(expect.arrayContaining(["race-a", "race-b"]));
    expect(a.writes + b.writes).toBe(2);
  });
});
