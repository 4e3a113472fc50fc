import { describe, expect, it } from "@jest/globals";
import { candidateRemotes, censusRowSchema, filterLists, packByFanOut } from "../../src/scanners/census";

describe("census of remote subscriptions", () => {
  it("cuts a group where its rows are: hubs packed by their own census rows, the spokes together", () => {
    const group = ["h1", "s1", "h2", "s2", "h3", "h4", "s3"];
    const fanOuts = new Map([
      ["h1", 500],
      ["h2", 300],
      ["h3", 700],
      ["h4", 50],
    ]);
    expect(packByFanOut(group, fanOuts, 800)).toEqual([
      ["h1", "h2"],
      ["h3", "h4"],
      ["s1", "s2", "s3"],
    ]);
  });

  it("a remote subscription known to be in the local tenant is not a candidate; foreign and unknown ones are", async () => {
    const known = new Map([
      ["same", "t1"],
      ["other", "t2"],
    ]);
    const tenants = { tenantIfKnown: async (id: string) => known.get(id) };
    const row = (remotes: string[], localTenantId = "t1") => ({ remotes, localTenantId, items: 1 });
    const context = { tenants } as unknown as Parameters<typeof candidateRemotes>[1];
    expect(
      await candidateRemotes(
        [row(["same", "other"]), row(["unknown", ""]), row(["other", "Same"], "t2")],
        context,
      ),
    ).toEqual(["", "other", "same", "unknown"]);
  });

  it("a census row without its set of remote subscriptions is unreadable, never an empty census", () => {
    expect(censusRowSchema.safeParse({ localTenantId: "t1", remotes: ["a"], items: 1 }).success).toBe(true);
    expect(censusRowSchema.safeParse({ localTenantId: "t1", items: 3 }).success).toBe(false);
    expect(censusRowSchema.safeParse({ localTenantId: "t1", remotes: null, items: 3 }).success).toBe(false);
  });

  it("splits a filter list that would make the query text too long", () => {
    const ids = Array.from(
      { length: 1000 },
      (_, i) => `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`,
    );
    const lists = filterLists(ids, 4000);
    expect(lists.length).toBeGreaterThanOrEqual(10);
    expect(lists.every((l) => l.length <= 4000)).toBe(true);
    expect(lists.join(", ").split(", ")).toHaveLength(1000);
    expect(filterLists(["a'b"])).toEqual(["'ab'"]);
  });
});
