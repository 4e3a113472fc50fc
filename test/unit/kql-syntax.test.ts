import { peeringChangesQuery } from "../../src/watch/change-poll";
import { windowedCensusQuery, windowedFanOutQuery, windowedFilteredQuery } from "../../src/scanners/census";
import { describe, expect, it } from "@jest/globals";
import { exportedStrings, syntaxErrors } from "../helpers/kusto";

/** Every exported `*_QUERY` string of the compiled sources: what the scanner sends to Resource Graph. */
const allQueries = () => exportedStrings("_QUERY", ["scanners", "azure", "doctor"]);

describe("Resource Graph queries", () => {
  const queries = allQueries();

  it("are found", () => {
    expect(queries.map(([name]) => name).sort()).toEqual([
      "ARRAY_SUMMARY_QUERY",
      "BUILT_IN_ROLE_QUERY",
      "CENSUS_AND_SUMMARY_QUERY",
      "INBOUND_CANDIDATES_QUERY",
      "INBOUND_CANDIDATES_WINDOW_QUERY",
      "LIGHTHOUSE_CANDIDATES_QUERY",
      "LIGHTHOUSE_TABLE_QUERY",
      "MANAGEMENT_GROUP_MEMBERS_QUERY",
      "MANUAL_PRIVATE_ENDPOINT_CANDIDATES_WINDOW_QUERY",
      "PEERING_CANDIDATES_QUERY",
      "PEERING_CANDIDATES_WINDOW_QUERY",
      "PEERING_CENSUS_QUERY",
      "PEERING_FAN_OUT_QUERY",
      "PEERING_FILTERED_CANDIDATES_QUERY",
      "PRIVATE_ENDPOINT_CANDIDATES_QUERY",
      "PRIVATE_LINK_SERVICE_CANDIDATES_QUERY",
      "PRIVATE_LINK_SERVICE_CANDIDATES_WINDOW_QUERY",
      "ROLE_ASSIGNMENT_CANDIDATES_QUERY",
      "ROLE_DEFINITIONS_BY_GUID_QUERY",
      "ROLE_DEFINITIONS_QUERY",
      "ROLE_GUIDS_IN_USE_QUERY",
      "SCOPE_MEMBERS_QUERY",
      "SERVICE_ENDPOINT_CANDIDATES_QUERY",
      "SERVICE_ENDPOINT_CANDIDATES_WINDOW_QUERY",
      "SUBSCRIPTIONS_QUERY",
      "SUBSCRIPTION_COUNT_QUERY",
      "SUBSCRIPTION_COVERAGE_QUERY",
      "SUBSCRIPTION_EVENTS_TOPICS_QUERY",
    ]);
  });

  it.each(queries)("%s is valid KQL", (_name, query) => {
    expect(syntaxErrors(query)).toEqual([]);
  });

  it("the checker catches a broken query", () => {
    expect(syntaxErrors("resources | where")).not.toEqual([]);
    expect(syntaxErrors("resources | mv-expand limit 2000 p = properties.x")).not.toEqual([]);
  });

  it("the census, fan-out and filtered forms of every windowed check's query are valid KQL", () => {
    const windowed = queries.filter(([name]) =>
      /^(INBOUND|PRIVATE_ENDPOINT|MANUAL_PRIVATE_ENDPOINT|SERVICE_ENDPOINT|PRIVATE_LINK_SERVICE)_CANDIDATES/.test(
        name,
      ),
    );
    expect(windowed.length).toBeGreaterThanOrEqual(8);
    for (const [name, query] of windowed) {
      expect([name, syntaxErrors(windowedCensusQuery(query, 5000))]).toEqual([name, []]);
      expect([name, syntaxErrors(windowedFanOutQuery(query, 10))]).toEqual([name, []]);
      expect([name, syntaxErrors(windowedFilteredQuery(query, "'a', 'b'"))]).toEqual([name, []]);
    }
  });

  it("the change poller's resourcechanges query is valid KQL and takes only a time", () => {
    expect(syntaxErrors(peeringChangesQuery("2026-11-29T21:00:00.000Z"))).toEqual([]);
    expect(() => peeringChangesQuery("2026') or true //")).toThrow(/not an ISO 8601 UTC time/);
  });
});
