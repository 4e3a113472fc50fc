import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { networkClient } from "../../src/azure/arm-network";
import { loadConfig } from "../../src/config";
import { sandboxConnection } from "../../src/sandbox/connection";
import { startSandbox, type RunningSandbox } from "../../src/sandbox/server";
import { EstateBuilder, guid, vnetId } from "../helpers/estate-builder";

const HOME = guid(1, "e8");
const SUB = guid(1, "f8");
const HIDDEN = guid(2, "f8");

describe("the sandbox's ARM VNet list (the peer's method reads it through @azure/arm-network)", () => {
  const estate = new EstateBuilder(HOME)
    .subscription(SUB, HOME)
    .subscription(HIDDEN, HOME, { visibleToScanner: false })
    .vnet(SUB, HOME, "rg", "a", [{ name: "to-b", remote: vnetId(SUB, "rg", "b") }])
    .vnet(SUB, HOME, "rg", "b", [])
    .build();
  let sandbox: RunningSandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ estate });
  });
  afterAll(() => sandbox.close());

  it("lists a subscription's VNets with their peerings, and refuses one the caller cannot read", async () => {
    const connection = sandboxConnection(sandbox, estate, loadConfig({ AZURE_MAX_RETRIES: "0" }));
    const vnets = [];
    for await (const vnet of networkClient(connection, SUB).virtualNetworks.listAll()) vnets.push(vnet);
    expect(vnets.map((v) => v.name).sort()).toEqual(["a", "b"]);
    expect(vnets.find((v) => v.name === "a")?.virtualNetworkPeerings?.[0]?.remoteVirtualNetwork?.id).toBe(
      vnetId(SUB, "rg", "b"),
    );
    const hidden = networkClient(connection, HIDDEN).virtualNetworks.listAll();
    await expect(hidden.next()).rejects.toMatchObject({ statusCode: 403 });
    expect(sandbox.network.counters.vnetListRequests).toBe(2);
  });

  it("keeps ARM's read limits: a burst past 250 reads of one subscription is refused with 429 and Retry-After", async () => {
    const connection = sandboxConnection(sandbox, estate, loadConfig({ AZURE_MAX_RETRIES: "0" }));
    const client = networkClient(connection, SUB);
    const list = () => client.virtualNetworks.listAll().next();
    // 250 in the bucket, refilled 25 a second: a burst of 350 outruns it, the first 250 do not.
    const answers = await Promise.allSettled(Array.from({ length: 350 }, list));
    const refused = answers.filter((a) => a.status === "rejected");
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.length).toBeLessThanOrEqual(100);
    expect(refused[0]).toMatchObject({ reason: { statusCode: 429 } });
    const reason = (refused[0] as PromiseRejectedResult).reason as {
      response?: { headers: { get(name: string): string | undefined } };
    };
    expect(Number(reason.response?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(sandbox.network.counters.armThrottled).toBe(refused.length);
  });
});
