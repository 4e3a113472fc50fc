import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { PipelineResponse } from "@azure/core-rest-pipeline";
import { createHttpHeaders } from "@azure/core-rest-pipeline";
import type { AzureConnection } from "../../src/azure/connection";
import { TenantResolver } from "../../src/azure/tenants";
import { TableTenantCache } from "../../src/store/tenant-cache-table";
import { MAX_NAME_LENGTH, PRINTABLE } from "../../src/text";
import { testStorage, type TestStorage } from "../helpers/azurite";

const TENANT = "31ca78c2-d833-433a-9977-88e160bd4ac0";

let state: TestStorage;
beforeAll(async () => {
  state = await testStorage();
});
afterAll(() => state.stop());

/** A resolver whose Graph answers every tenant-name lookup with `displayName`. */
function resolver(displayName: string, asked: string[] = []) {
  const answer = (url: string): PipelineResponse => {
    asked.push(url);
    return {
      status: 200,
      headers: createHttpHeaders(),
      bodyAsText: JSON.stringify({ tenantId: TENANT, displayName }),
      request: {} as PipelineResponse["request"],
    };
  };
  return new TenantResolver({
    connection: {
      graphEndpoint: "https://graph.invalid",
      armEndpoint: "https://arm.invalid",
    } as AzureConnection,
    get: async (url) => answer(url),
    cache: new TableTenantCache(state.storage, 3600_000),
    known: new Map(),
    namesFromGraph: true,
    log: () => {},
  });
}

describe("tenant names from Graph are cleaned and bounded before they are cached", () => {
  it("a 40,000-character name with escape characters is stored short and inert, and read back the same", async () => {
    const hostile = `\u001b[2J${"Contoso\u200D".repeat(5000)}`;
    const name = await resolver(hostile).tenantName(TENANT);
    expect(name!.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
    expect(name).toMatch(PRINTABLE);
    // A second resolver reads the cached entry: what was stored is the cleaned name.
    const asked: string[] = [];
    expect(await resolver("other", asked).tenantName(TENANT)).toBe(name);
    expect(asked).toEqual([]);
  });

  it("a tenant id that is not a GUID is never put in a Graph URL or a cache key", async () => {
    const asked: string[] = [];
    for (const id of ["a/b", `${TENANT}')/../x`, "t#1"])
      expect(await resolver("n", asked).tenantName(id)).toBeNull();
    expect(asked).toEqual([]);
  });
});
