import { describe, expect, it } from "@jest/globals";
import { createHttpHeaders, type PipelineResponse } from "@azure/core-rest-pipeline";
import type { AzureConnection } from "../../src/azure/connection";
import type { AzureGet } from "../../src/azure/http";
import { listDescendants } from "../../src/azure/management-groups";

const ARM = "https://127.0.0.1:9";
const connection = { armEndpoint: ARM } as AzureConnection;
const MG = (name: string) => `/providers/Microsoft.Management/managementGroups/${name}`;
const SUB = "7C1A2B3D-0000-4000-8000-000000000001";

/** ARM answering each URL in turn with the given status and body. */
function armAnswering(pages: [number, unknown][]) {
  const asked: string[] = [];
  const get: AzureGet = async (url) => {
    asked.push(url);
    const [status, body] = pages[asked.length - 1]!;
    return { status, bodyAsText: JSON.stringify(body), headers: createHttpHeaders() } as PipelineResponse;
  };
  return { get, asked };
}

describe("ARM's management group descendants", () => {
  it("follows nextLink, places groups and subscriptions under their parents, and leaves out what it cannot place", async () => {
    const { get, asked } = armAnswering([
      [
        200,
        {
          value: [
            {
              id: MG("Corp"),
              type: "Microsoft.Management/managementGroups",
              name: "Corp",
              properties: { parent: { id: MG("tenant-root") } },
            },
            {
              id: `/subscriptions/${SUB}`,
              type: "/subscriptions",
              name: SUB,
              properties: { parent: { id: MG("Corp") } },
            },
            // A name ARM would not allow, a subscription that is not a GUID, an unknown type: left out.
            {
              id: MG("bad name'<x>"),
              type: "Microsoft.Management/managementGroups",
              name: "x",
              properties: { parent: { id: MG("Corp") } },
            },
            {
              id: "/subscriptions/nope",
              type: "/subscriptions",
              name: "nope",
              properties: { parent: { id: MG("Corp") } },
            },
            { id: "/x", type: "Microsoft.Something/else", name: "x" },
          ],
          nextLink: `${ARM}/providers/Microsoft.Management/managementGroups/tenant-root/descendants?api-version=2020-05-01&$skiptoken=2`,
        },
      ],
      [
        200,
        {
          value: [
            {
              id: MG("Online"),
              type: "Microsoft.Management/managementGroups",
              name: "Online",
              properties: {},
            },
          ],
        },
      ],
    ]);
    expect(await listDescendants(connection, get, "tenant-root")).toEqual([
      { kind: "group", name: "corp", parent: "tenant-root" },
      { kind: "subscription", name: SUB.toLowerCase(), parent: "corp" },
      // No parent said: kept, but nothing places it under a root.
      { kind: "group", name: "online", parent: null },
    ]);
    expect(asked).toHaveLength(2);
  });

  it("throws, naming the answer, when ARM refuses or points the next page elsewhere", async () => {
    await expect(
      listDescendants(
        connection,
        armAnswering([[403, { error: { code: "AuthorizationFailed" } }]]).get,
        "root",
      ),
    ).rejects.toThrow(/answered 403 when asked for the descendants of management group root/);
    const self = `${ARM}/providers/Microsoft.Management/managementGroups/root/descendants?api-version=2020-05-01&$skiptoken=1`;
    const loop = armAnswering([
      [200, { value: [], nextLink: self }],
      [200, { value: [], nextLink: self }],
    ]);
    await expect(listDescendants(connection, loop.get, "root")).rejects.toThrow(/do not end/);
    expect(loop.asked).toHaveLength(2);
    const offHost = armAnswering([[200, { value: [], nextLink: "https://evil.example/next" }]]);
    await expect(listDescendants(connection, offHost.get, "root")).rejects.toThrow(/next page off/);
    expect(offHost.asked).toHaveLength(1);
  });
});
