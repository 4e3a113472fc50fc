import { describe, expect, it } from "@jest/globals";
import type { z } from "zod";
import {
  ARRAY_SUMMARY_QUERY,
  CENSUS_AND_SUMMARY_QUERY,
  censusBesideSummary,
  countArray,
} from "../../src/scanners/array-summary";
import {
  LOCALS_MAX,
  candidateRemotes,
  candidateScopes,
  censusOf,
  censusRowSchema,
  filterLists,
  packByFanOut,
} from "../../src/scanners/census";
import type { ScanContext } from "../../src/scanners/scanner";

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

  it("reads candidates only where a census row points at one, packed across groups; a row that does not name its locals brings its whole part", () => {
    const row = (remotes: string[], locals?: string[]) => ({
      localTenantId: "t1",
      remotes,
      items: 1,
      ...(locals ? { locals } : {}),
    });
    const censuses = [
      // Group 1: two spokes point at a same-tenant hub, one also at a foreign subscription.
      { rows: [row(["HUB"], ["s1", "s2"]), row(["Foreign-A"], ["S2"])], subscriptions: ["s1", "s2", "s3"] },
      // Group 2: a hub's row names the foreign subscription among spokes (its bucket), a row left
      // without its locals names nothing, so its whole part may point there.
      {
        rows: [row(["s1", "foreign-a"], ["hub"]), row(["foreign-b"])],
        subscriptions: ["hub", "x1", "x2"],
      },
    ];
    expect(candidateScopes(censuses, ["foreign-a", "foreign-b"], 3)).toEqual([
      { subscriptions: ["S2", "hub", "x1"], remotes: ["foreign-a", "foreign-b"] },
      { subscriptions: ["x2"], remotes: ["foreign-b"] },
    ]);
    // Locals that name no one, a subscription outside the part, or reach the bound (maybe cut)
    // are not trusted: the whole part.
    for (const locals of [[], ["s1", "elsewhere"]])
      expect(
        candidateScopes(
          [{ rows: [row(["foreign-a"], locals)], subscriptions: ["s1", "s2"] }],
          ["foreign-a"],
          10,
        ),
      ).toEqual([{ subscriptions: ["s1", "s2"], remotes: ["foreign-a"] }]);
    const many = Array.from({ length: LOCALS_MAX }, (_, i) => `s${i}`);
    const part = [...many, "left-out"];
    expect(
      candidateScopes([{ rows: [row(["foreign-a"], many)], subscriptions: part }], ["foreign-a"], 1000),
    ).toEqual([{ subscriptions: part, remotes: ["foreign-a"] }]);
    // No candidate, no read; the same-tenant hub's spokes are never a scope.
    expect(candidateScopes(censuses, [], 3)).toEqual([]);
    // Every subscription that points at a candidate is in a scope with it.
    const scopes = candidateScopes(censuses, ["foreign-a", "foreign-b"], 1000);
    expect(scopes).toEqual([
      { subscriptions: ["S2", "hub", "x1", "x2"], remotes: ["foreign-a", "foreign-b"] },
    ]);
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

describe("past the cut-off, a group's peering census and array summary in one request", () => {
  const group = ["s1", "s2"];
  const summary: Record<string, unknown> = {
    part: "summary",
    vnets: 2,
    ...Object.fromEntries(
      ["peerings", "automatic", "manual", "inbound", "rules", "entries"].flatMap((a) =>
        ["Containers", "Items", "Most"].map((f) => [`${a}${f}`, a === "peerings" ? 3 : 0]),
      ),
    ),
  };
  const census = { part: "census", localTenantId: "t1", remotes: ["r1"], items: 3, more: 0 };

  /** A scan context whose Resource Graph answers each query with raw rows, read as the scanner reads them. */
  function contextAnswering(answers: Map<string, unknown[] | Error>) {
    const asked: string[] = [];
    const queryAll = async (_name: string, query: string, schema: z.ZodType<unknown>) => {
      asked.push(query);
      const answer = answers.get(query);
      if (answer instanceof Error) throw answer;
      const rows: unknown[] = [];
      const unreadable: { id: string; message: string }[] = [];
      for (const raw of answer ?? []) {
        const read = schema.safeParse(raw);
        if (read.success) rows.push(read.data);
        else unreadable.push({ id: "row", message: `unreadable: ${read.error.issues[0]?.message}` });
      }
      return { rows, unreadable };
    };
    const context = {
      queryAll,
      subscriptionGroups: () => [group],
      config: { RESOURCE_GRAPH_PAGE_SIZE: 1000 },
    } as unknown as ScanContext;
    return { context, asked };
  }

  it("the summary comes from the census's request, never asked again", async () => {
    const { context, asked } = contextAnswering(new Map([[CENSUS_AND_SUMMARY_QUERY, [census, summary]]]));
    const errors: { source: string; message: string }[] = [];
    expect(await censusBesideSummary(context, 5000, group)).toEqual({
      rows: [{ localTenantId: "t1", remotes: ["r1"], items: 3, more: 0 }],
      unreadable: [],
    });
    expect(await countArray(context, "check", "peerings", "peerings", errors)).toEqual({
      containers: 2,
      items: 3,
      windows: 1,
    });
    expect(errors).toEqual([]);
    expect(asked.filter((q) => q === ARRAY_SUMMARY_QUERY)).toEqual([]);
  });

  it("a summary left out or unreadable is asked on its own; rows stripped of their part are read by their columns", async () => {
    for (const union of [[census], [census, { ...summary, peeringsMost: null }]]) {
      const { context, asked } = contextAnswering(
        new Map<string, unknown[]>([
          [CENSUS_AND_SUMMARY_QUERY, union],
          [ARRAY_SUMMARY_QUERY, [summary]],
        ]),
      );
      const errors: { source: string; message: string }[] = [];
      expect(await countArray(context, "check", "peerings", "peerings", errors)).toMatchObject({ items: 3 });
      expect(errors).toEqual([]);
      expect(asked.filter((q) => q === ARRAY_SUMMARY_QUERY)).toHaveLength(1);
    }
    // Without their part, the summary (every summary column there) and the census row still read as
    // what they are: nothing asked again, nothing unreadable.
    const { part: _s, ...unnamedSummary } = summary;
    const { part: _c, ...unnamedCensus } = census;
    const { context, asked } = contextAnswering(
      new Map([[CENSUS_AND_SUMMARY_QUERY, [unnamedCensus, unnamedSummary]]]),
    );
    expect(await censusBesideSummary(context, 5000, group)).toEqual({
      rows: [{ localTenantId: "t1", remotes: ["r1"], items: 3, more: 0 }],
      unreadable: [],
    });
    expect(await countArray(context, "check", "peerings", "peerings", [])).toMatchObject({ items: 3 });
    expect(asked).toEqual([CENSUS_AND_SUMMARY_QUERY, CENSUS_AND_SUMMARY_QUERY]);
    // A census row missing its set of remote subscriptions is unreadable, never an empty census.
    const { remotes: _r, ...noRemotes } = census;
    const { context: stripped } = contextAnswering(
      new Map([[CENSUS_AND_SUMMARY_QUERY, [noRemotes, summary]]]),
    );
    expect((await censusBesideSummary(stripped, 5000, group)).unreadable).toEqual([
      expect.stringMatching(/peering census row that cannot be read: remotes/),
      expect.stringMatching(/left out its rows while the group holds 3 peerings/),
    ]);
  });

  it("a summary that cannot be read on its own either, or is not there, fails the count, never counts zero", async () => {
    const { rulesMost: _rules, ...withoutColumn } = summary;
    for (const own of [[withoutColumn], []]) {
      const { context } = contextAnswering(
        new Map<string, unknown[] | Error>([
          [CENSUS_AND_SUMMARY_QUERY, new Error("throttled")],
          [ARRAY_SUMMARY_QUERY, own],
        ]),
      );
      const errors: { source: string; message: string }[] = [];
      expect(await countArray(context, "check", "rules", "rules", errors)).toBeNull();
      expect(errors.at(-1)).toEqual({
        source: "check",
        message: expect.stringMatching(/Counting rules failed: .*0 array summary rows/),
      });
    }
  });

  it("the census is asked on its own when the request it shares fails; a census left out beside a summary counting peerings is unreadable", async () => {
    const { context, asked } = contextAnswering(
      new Map<string, unknown[] | Error>([
        [CENSUS_AND_SUMMARY_QUERY, new Error("refused")],
        ["CENSUS", [census]],
      ]),
    );
    const queries = {
      name: "peering census",
      census: () => "CENSUS",
      fanOut: "FAN-OUT",
      first: {
        read: (setMax: number, whole: string[]) => censusBesideSummary(context, setMax, whole),
      },
    };
    const unreadable: string[] = [];
    const read = await censusOf(context, queries, group, unreadable);
    expect(read.rows).toEqual([{ localTenantId: "t1", remotes: ["r1"], items: 3, more: 0 }]);
    expect(unreadable).toEqual([]);
    expect(asked).toEqual([CENSUS_AND_SUMMARY_QUERY, "CENSUS"]);

    const { context: leftOut } = contextAnswering(new Map([[CENSUS_AND_SUMMARY_QUERY, [summary]]]));
    expect((await censusBesideSummary(leftOut, 5000, group)).unreadable).toEqual([
      expect.stringMatching(/left out its rows while the group holds 3 peerings/),
    ]);
  });
});
