import { describe, expect, it } from "@jest/globals";
import { exportedStrings, syntaxErrors } from "../helpers/kusto";
import { runQuery } from "../../src/sandbox/kql";
import { durationMs, timeRange } from "../../src/sandbox/log-analytics/query";
import { creatorQuery, signInsQuery } from "../../src/scanners/log-analytics-evidence/query";

/** Every exported `*_LOGS_KQL` string of the compiled sources: what the scanner sends to Log Analytics. */
const allLogQueries = () => exportedStrings("_LOGS_KQL", ["scanners", "azure"]);

describe("Log Analytics queries", () => {
  const queries = allLogQueries();

  it("are found", () => {
    expect(queries.map(([name]) => name).sort()).toEqual([
      "CREATOR_LOGS_KQL",
      "NON_INTERACTIVE_SIGN_INS_LOGS_KQL",
      "SIGN_INS_LOGS_KQL",
    ]);
  });

  it.each(queries)("%s is valid KQL", (_name, query) => {
    expect(syntaxErrors(query)).toEqual([]);
  });

  it("stay valid for many tenants and resources, and refuse what cannot be quoted", () => {
    const tenants = Array.from(
      { length: 40 },
      (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    );
    expect(syntaxErrors(signInsQuery("AADNonInteractiveUserSignInLogs", tenants))).toEqual([]);
    const ids = tenants.map(
      (t) => `/subscriptions/${t}/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe`,
    );
    expect(syntaxErrors(creatorQuery(ids))).toEqual([]);
    expect(() => signInsQuery("SigninLogs", ["x') or true //"])).toThrow(/not a tenant id/);
    expect(() => creatorQuery(["/subscriptions/x/resourceGroups/a'b"])).toThrow(/cannot be quoted/);
  });
});

describe("the sandbox's KQL engine, as far as the Log Analytics queries need it", () => {
  const t = [
    { k: "a", at: "2026-11-02T00:00:00Z", u: "x" },
    { k: "a", at: "2026-11-01T00:00:00Z", u: "y" },
    { k: "a", at: "2026-11-03T00:00:00Z", u: "x" },
    { k: "b", at: null, u: null },
  ];

  it("summarize takes count(), min(), max() and make_set() together, by columns", () => {
    const rows = runQuery(
      "t | summarize n = count(), first = min(at), last = max(at), users = make_set(u, 10) by k | order by k asc",
      { t },
    ).rows;
    expect(rows).toEqual([
      { k: "a", n: 3, first: "2026-11-01T00:00:00Z", last: "2026-11-03T00:00:00Z", users: ["x", "y"] },
      { k: "b", n: 1, first: null, last: null, users: [] },
    ]);
    expect(runQuery("t | summarize make_set(u, 1), max(at)", { t }).rows).toEqual([
      { set_u: ["x"], max_at: "2026-11-03T00:00:00Z" },
    ]);
  });

  it("the query API's timespans: a duration ending now, or an interval", () => {
    const now = Date.parse("2026-12-05T00:00:00Z");
    expect(durationMs("P30D")).toBe(30 * 86_400_000);
    expect(durationMs("PT12H")).toBe(12 * 3_600_000);
    expect(durationMs("P")).toBeNull();
    expect(timeRange("P1D", now)).toEqual([now - 86_400_000, now]);
    expect(timeRange("2026-12-01T00:00:00Z/P1D", now)).toEqual([
      Date.parse("2026-12-01T00:00:00Z"),
      Date.parse("2026-12-02T00:00:00Z"),
    ]);
    expect(timeRange("yesterday", now)).toBeNull();
  });
});
