import { describe, expect, it } from "@jest/globals";
import { managementGroupDescendants, type Descendant } from "../../src/sandbox/arm/management-groups";
import { EstateBuilder, guid } from "../helpers/estate-builder";

const HOME = guid(1, "d1");
const PARTNER = guid(2, "d1");
const S = (n: number) => guid(n, "d2");
const GROUP = (name: string) => `/providers/Microsoft.Management/managementGroups/${name}`;

/** Each descendant as "name <- parent name", in the order the sandbox lists them. */
const edges = (list: Descendant[] | undefined) =>
  list?.map((d) => `${d.name} <- ${d.properties.parent.id.split("/").at(-1)!}`);

const estate = new EstateBuilder(HOME)
  .tenant(PARTNER, "Partner")
  .subscription(S(1), HOME, { managementGroups: ["corp", "landingzones"] })
  .subscription(S(2), HOME, { managementGroups: ["online", "landingzones"] })
  .subscription(S(3), HOME) // directly under the root group
  .subscription(S(4), HOME, { managementGroups: ["corp"], visibleToScanner: false })
  .subscription(S(5), PARTNER, { managementGroups: ["partner-mg"], visibleToScanner: true })
  .subscription(S(6), HOME, { managementGroups: ["Corp", "platform"] }) // disagrees: corp is under landingzones
  .build();

describe("the sandbox's management-group tree (ARM Get Descendants)", () => {
  it("the root group (the home tenant id) lists every group and visible home subscription, with parents from the chains", () => {
    expect(edges(managementGroupDescendants(estate, HOME))).toEqual([
      `landingzones <- ${HOME}`,
      "corp <- landingzones",
      "online <- landingzones",
      `platform <- ${HOME}`,
      `${S(1)} <- corp`,
      `${S(2)} <- online`,
      `${S(3)} <- ${HOME}`,
      // The second chain put corp under platform; the first subscription's chain wins.
      `${S(6)} <- corp`,
    ]);
  });

  it("leaves out other tenants' subscriptions (even delegated ones) and those the scanner cannot see", () => {
    const names = managementGroupDescendants(estate, HOME)!.map((d) => d.name);
    expect(names).not.toContain(S(4));
    expect(names).not.toContain(S(5));
    expect(names).not.toContain("partner-mg");
    expect(managementGroupDescendants(estate, "partner-mg")).toBeUndefined();
  });

  it("a named group lists its whole subtree but not itself, matched case-insensitively", () => {
    expect(edges(managementGroupDescendants(estate, "LandingZones"))).toEqual([
      "corp <- landingzones",
      "online <- landingzones",
      `${S(1)} <- corp`,
      `${S(2)} <- online`,
      `${S(6)} <- corp`,
    ]);
    expect(managementGroupDescendants(estate, "platform")).toEqual([]);
    expect(managementGroupDescendants(estate, HOME.toUpperCase())).toHaveLength(8);
    expect(managementGroupDescendants(estate, "nowhere")).toBeUndefined();
  });

  it("gives each descendant ARM's id, type and parent shape", () => {
    const list = managementGroupDescendants(estate, "corp")!;
    expect(list[0]).toEqual({
      id: `/subscriptions/${S(1)}`,
      type: "/subscriptions",
      name: S(1),
      properties: { displayName: `sub-${S(1).slice(-4)}`, parent: { id: GROUP("corp") } },
    });
    expect(managementGroupDescendants(estate, "landingzones")![0]).toEqual({
      id: GROUP("corp"),
      type: "Microsoft.Management/managementGroups",
      name: "corp",
      properties: { displayName: "corp", parent: { id: GROUP("landingzones") } },
    });
  });
});
