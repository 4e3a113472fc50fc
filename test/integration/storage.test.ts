import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { testStorage, type TestStorage } from "../helpers/azurite";

describe("storage on Azurite", () => {
  let env: TestStorage;
  beforeAll(async () => {
    env = await testStorage();
  });
  afterAll(() => env.stop());

  it("creates a table on first use and reuses it", async () => {
    const table = await env.storage.table("probe");
    await table.createEntity({ partitionKey: "p", rowKey: "r", value: 1 });
    const again = await env.storage.table("probe");
    expect((await again.getEntity<{ value: number }>("p", "r")).value).toBe(1);
  });
});
