import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";
import { parseEstate } from "../../src/sandbox/estate";
import { runQuery } from "../../src/sandbox/kql";
import { graphTables } from "../../src/sandbox/tables";
import { PEERING_CANDIDATES_QUERY, peeringRowSchema } from "../../src/scanners/peering/query";

/**
 * Fixtures written after the shapes of Microsoft's published REST examples (network spec:
 * VirtualNetworkGetWithPeering, VirtualNetworkPeeringList; Resource Graph: Resources 2024-04-01),
 * with values real Azure can return that the examples do not show: an unknown peeringState, a
 * null remoteAddressSpace, extra properties.
 */
const FIXTURES = join(__dirname, "../../../test/fixtures/azure");
const SUB = "cfbbd179-59d2-4052-aa06-9270a38aa9d6";
const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const fixture = (name: string): unknown =>
  JSON.parse(
    readFileSync(join(FIXTURES, name), "utf8").replaceAll("/subscriptions/subid/", `/subscriptions/${SUB}/`),
  );

const estateOf = (resources: unknown[]) =>
  parseEstate(
    {
      schemaVersion: 1,
      homeTenantId: TENANT,
      tenants: [{ tenantId: TENANT, displayName: "Home" }],
      subscriptions: [{ subscriptionId: SUB, tenantId: TENANT, displayName: "sub" }],
      resources,
    },
    "fixture",
  );

describe("the estate schema takes the shapes real Azure returns", () => {
  it("a Resource Graph resources response: its rows are estate resources, and the scanner reads them", () => {
    const response = fixture("resource-graph-resources-response.json") as { data: unknown[] };
    const estate = estateOf(response.data);
    const { rows } = runQuery(PEERING_CANDIDATES_QUERY, { ...graphTables(estate) });
    expect(rows).toHaveLength(1);
    expect(peeringRowSchema.parse(rows[0])).toMatchObject({
      peeringState: "Reconnecting",
      remoteTenantId: "",
    });
  });

  it("an ARM VirtualNetworks Get with peerings, as Resource Graph adds subscription, group and tenant", () => {
    const vnet = fixture("virtual-network-get-with-peering.json") as Record<string, unknown>;
    const estate = estateOf([{ ...vnet, subscriptionId: SUB, resourceGroup: "rg1", tenantId: TENANT }]);
    const peering = estate.resources[0]!.properties.virtualNetworkPeerings![0]!;
    expect(peering.properties).toMatchObject({
      peeringState: "Initiated",
      remoteBgpCommunities: { virtualNetworkCommunity: "12076:20003" },
    });
  });

  it("an ARM VirtualNetworkPeerings List, including a Virtual WAN peering with a null remoteAddressSpace", () => {
    const list = fixture("virtual-network-peering-list.json") as { value: unknown[] };
    const vnet = {
      id: `/subscriptions/${SUB}/resourceGroups/peerTest/providers/Microsoft.Network/virtualNetworks/vnet1`,
      name: "vnet1",
      type: "Microsoft.Network/virtualNetworks",
      subscriptionId: SUB,
      resourceGroup: "peerTest",
      location: "westus",
      tenantId: TENANT,
      properties: { virtualNetworkPeerings: list.value },
    };
    const estate = estateOf([vnet]);
    const peerings = estate.resources[0]!.properties.virtualNetworkPeerings!;
    expect(peerings.map((p) => p.properties.remoteAddressSpace ?? null)).toEqual([
      { addressPrefixes: ["13.0.0.0/8"] },
      null,
    ]);
    const rows = runQuery(PEERING_CANDIDATES_QUERY, { ...graphTables(estate) }).rows.map((r) =>
      peeringRowSchema.parse(r),
    );
    expect(rows.find((r) => r.peeringName.startsWith("RemoteVnetToHubPeering_"))).toMatchObject({
      remoteAddressPrefixes: null,
      peeringSyncLevel: "LocalAndRemoteNotInSync",
    });
  });
});
