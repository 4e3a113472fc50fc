import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { loadConfig } from "../../src/config";
import { azureGetter, type AzureGet } from "../../src/azure/http";
import { createResourceGraphClient } from "../../src/azure/resource-graph";
import { sandboxConnection } from "../../src/sandbox/connection";
import { startSandbox, type RunningSandbox } from "../../src/sandbox/server";
import { EstateBuilder, guid } from "../helpers/estate-builder";

const HOME = guid(1, "d3");
const PARTNER = guid(2, "d3");
const S = (n: number) => guid(n, "d4");
const API = "api-version=2020-05-01";
const descendants = (group: string) =>
  `/providers/Microsoft.Management/managementGroups/${group}/descendants?${API}`;

const estate = new EstateBuilder(HOME)
  .tenant(PARTNER, "Partner")
  .subscription(S(1), HOME, { managementGroups: ["corp", "landingzones"] })
  .subscription(S(2), HOME, { managementGroups: ["corp", "landingzones"] })
  .subscription(S(3), HOME, { managementGroups: ["online", "landingzones"] })
  .subscription(S(4), HOME, { managementGroups: ["connectivity", "platform"] })
  .subscription(S(5), HOME)
  // Delegated through Lighthouse: visible to Resource Graph's tenant scope, but not in the home tree.
  .subscription(S(6), PARTNER, { visibleToScanner: true })
  .build();
const HOME_SUBSCRIPTIONS = [1, 2, 3, 4, 5].map(S);

let sandbox: RunningSandbox;
let get: AzureGet;
const scope = () => ({ scope: `${sandbox.url}/.default` });
const json = async (url: string, anonymous = false) => {
  const auth = anonymous ? undefined : scope();
  const response = await get(url.startsWith("https:") ? url : `${sandbox.url}${url}`, auth);
  return {
    status: response.status,
    body: JSON.parse(response.bodyAsText ?? "null") as Record<string, unknown>,
  };
};

beforeAll(async () => {
  sandbox = await startSandbox({ estate, descendantsPageSize: 3 });
  get = azureGetter(sandboxConnection(sandbox, estate, loadConfig({ AZURE_MAX_RETRIES: "0" })));
});
afterAll(() => sandbox.close());

describe("ARM's management-group descendants in the sandbox", () => {
  it("pages the root group's tree with $top=2 through nextLink to the end", async () => {
    const pages: Record<string, unknown>[][] = [];
    let next: string | undefined = `${descendants(HOME)}&$top=2`;
    const before = sandbox.counters.managementGroupDescendantsRequests;
    while (next) {
      const { status, body } = await json(next);
      expect(status).toBe(200);
      pages.push(body.value as Record<string, unknown>[]);
      next = body.nextLink as string | undefined;
      if (next) expect(next).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/providers\/.*\$top=2.*\$skiptoken=/i);
    }
    // 5 groups and 5 subscriptions, two a page; the delegated subscription is not in the tree.
    expect(pages.map((p) => p.length)).toEqual([2, 2, 2, 2, 2]);
    expect(sandbox.counters.managementGroupDescendantsRequests - before).toBe(5);
    const all = pages.flat() as { name: string; type: string; properties: { parent: { id: string } } }[];
    const parentOf = (name: string) =>
      all
        .find((d) => d.name === name)
        ?.properties.parent.id.split("/")
        .at(-1);
    expect(all.filter((d) => d.type === "/subscriptions").map((d) => d.name)).toEqual(HOME_SUBSCRIPTIONS);
    expect(parentOf("landingzones")).toBe(HOME);
    expect(parentOf("corp")).toBe("landingzones");
    expect(parentOf(S(1))).toBe("corp");
    expect(parentOf(S(5))).toBe(HOME);
  });

  it("uses the default page size without $top, and a named group holds only its subtree", async () => {
    const first = await json(descendants("LANDINGZONES"));
    expect(first.status).toBe(200);
    expect((first.body.value as unknown[]).length).toBe(3);
    const second = await json(first.body.nextLink as string);
    expect((second.body.value as { name: string }[]).map((d) => d.name)).toEqual([S(2), S(3)]);
    expect(second.body.nextLink).toBeUndefined();
  });

  it("answers 404 for an unknown group and 401 without a token", async () => {
    const missing = await json(descendants("no-such-group"));
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({
      code: "NotFound",
      message: expect.stringMatching(/no-such-group/),
    });
    expect((await json(descendants(HOME), true)).status).toBe(401);
  });

  it("answers 403 AuthorizationFailed when the scanner may not read management groups", async () => {
    const refusing = await startSandbox({ estate, managementGroupsReadable: false });
    try {
      const response = await azureGetter(sandboxConnection(refusing, estate, loadConfig({})))(
        `${refusing.url}${descendants(HOME)}`,
        { scope: `${refusing.url}/.default` },
      );
      expect(response.status).toBe(403);
      expect(JSON.parse(response.bodyAsText!)).toMatchObject({
        error: {
          code: "AuthorizationFailed",
          message: expect.stringContaining(
            `'Microsoft.Management/managementGroups/descendants/read' over scope '/providers/Microsoft.Management/managementGroups/${HOME}'`,
          ),
        },
      });
    } finally {
      await refusing.close();
    }
  });
});

describe("Resource Graph scoped to management groups", () => {
  const subscriptionsSeen = async (managementGroups: string[]) => {
    const client = createResourceGraphClient(sandboxConnection(sandbox, estate, loadConfig({})));
    const result = await client.resources({
      query: "resourcecontainers | project subscriptionId | order by subscriptionId asc",
      managementGroups,
    });
    return (result.data as { subscriptionId: string }[]).map((r) => r.subscriptionId);
  };

  it("the tenant root group (the home tenant id) covers every home subscription, not delegated ones", async () => {
    expect(await subscriptionsSeen([HOME])).toEqual(HOME_SUBSCRIPTIONS);
    expect(await subscriptionsSeen([HOME.toUpperCase()])).toEqual(HOME_SUBSCRIPTIONS);
  });

  it("a named group covers only its subtree", async () => {
    expect(await subscriptionsSeen(["landingzones"])).toEqual([S(1), S(2), S(3)]);
    expect(await subscriptionsSeen(["Corp"])).toEqual([S(1), S(2)]);
  });
});
