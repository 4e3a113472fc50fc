import { describe, expect, it } from "@jest/globals";
import { judgeRows, NOBODY, type RemoteTenant } from "../../src/scanners/judge";
import type { ScanContext, ScanError } from "../../src/scanners/scanner";

const LOCAL = "11111111-1111-4111-8111-111111111111";
const FOREIGN = "22222222-2222-4222-8222-222222222222";

/** A context whose resolver knows one subscription's tenant by a lookup, and records what it is asked. */
function contextKnowing(tenants: Record<string, string>) {
  const asked: string[] = [];
  const learnt = new Map<string, string>();
  const context = {
    tenants: {
      learn: (subscription: string, tenant: string) => learnt.set(subscription.toLowerCase(), tenant),
      tenantOfSubscription: async (subscription: string) => {
        asked.push(subscription);
        return learnt.get(subscription) ?? tenants[subscription] ?? null;
      },
      tenantName: async (tenant: string) => (tenant === FOREIGN ? "Contoso" : null),
    },
    allowlist: [],
    config: { MICROSOFT_TENANT_IDS: [], ALLOW_MICROSOFT_MANAGED: false },
    now: new Date("2026-12-05T00:00:00Z"),
  } as unknown as ScanContext;
  return { context, asked };
}

interface Row {
  id: string;
  subscription: string | null;
  remoteTenantId: string;
}

const judge = (seen: [string, RemoteTenant][]) => ({
  source: "test-check",
  remoteSubscriptionOf: (row: Row) => row.subscription,
  classify: (row: Row, remote: RemoteTenant) => {
    if (row.id === "broken") throw new Error("a field the check needs is missing");
    seen.push([row.id, remote]);
    return remote.tenantId === LOCAL ? null : row.id;
  },
  describe: (row: Row) => `Rule ${row.id}`,
});

describe("judgeRows: a windowed check's rows judged against their remote tenants", () => {
  it("resolves each subscription once, ASCII case-insensitively, and keeps a row that fails as an error naming it", async () => {
    const { context, asked } = contextKnowing({ "sub-a": FOREIGN });
    const errors: ScanError[] = [];
    const seen: [string, RemoteTenant][] = [];
    const rows: Row[] = [
      { id: "one", subscription: "SUB-A", remoteTenantId: "" },
      { id: "two", subscription: "sub-a", remoteTenantId: "" },
      { id: "broken", subscription: "sub-a", remoteTenantId: "" },
      // The query's own join already knew this one's tenant: the resolver learns it before it is asked.
      { id: "home", subscription: "sub-b", remoteTenantId: LOCAL },
    ];
    const findings = await judgeRows(rows, context, errors, judge(seen));
    expect(findings).toEqual(["one", "two"]);
    expect(asked.filter((s) => s.toLowerCase() === "sub-a")).toHaveLength(1);
    expect(seen).toContainEqual(["one", { tenantId: FOREIGN, tenantName: "Contoso" }]);
    expect(seen).toContainEqual(["home", { tenantId: LOCAL, tenantName: null }]);
    expect(errors).toEqual([
      { source: "test-check", message: "Rule broken: a field the check needs is missing" },
    ]);
  });

  it("a row that names no subscription is judged against nobody, with no lookup; an unknown one stays unresolved", async () => {
    const { context, asked } = contextKnowing({});
    const errors: ScanError[] = [];
    const seen: [string, RemoteTenant][] = [];
    const rows: Row[] = [
      { id: "everyone", subscription: null, remoteTenantId: "" },
      { id: "unknown", subscription: "sub-c", remoteTenantId: "" },
    ];
    expect(await judgeRows(rows, context, errors, judge(seen))).toEqual(["everyone", "unknown"]);
    expect(asked).toEqual(["sub-c"]);
    expect(seen).toEqual([
      ["everyone", NOBODY],
      ["unknown", { tenantId: null, tenantName: null }],
    ]);
    expect(errors).toEqual([]);
  });
});
