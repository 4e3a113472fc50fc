import { describe, expect, it } from "@jest/globals";
import { planScopes, type Descendant } from "../../src/azure/scope-plan";

const group = (name: string, parent: string): Descendant => ({ kind: "group", name, parent });
const subs = (parent: string, count: number): Descendant[] =>
  Array.from({ length: count }, (_, i) => ({ kind: "subscription", name: `${parent}-${i}`, parent }));
const names = (tree: Descendant[]) => tree.filter((d) => d.kind === "subscription").map((d) => d.name);

/** A CAF-like tenant: the root holds two subscriptions, the platform 3, landing zones 3 units of 5. */
const ROOT = "tenant-root";
const TREE: Descendant[] = [
  group("platform", ROOT),
  group("landingzones", ROOT),
  group("bu0", "landingzones"),
  group("bu1", "landingzones"),
  group("bu2", "landingzones"),
  ...subs(ROOT, 2),
  ...subs("platform", 3),
  ...subs("bu0", 5),
  ...subs("bu1", 5),
  ...subs("bu2", 5),
];

describe("planning request scopes by management group past the cut-off", () => {
  it("takes the largest groups within the limit, packs them into requests of at most the limit, and leaves the rest to subscription groups", () => {
    const listed = [...names(TREE), "not-in-tree"];
    const plan = planScopes([ROOT], TREE, listed, 10);
    // landingzones holds 15, past the limit: its units go one by one; the root's own two and the
    // subscription the tree does not show are left over.
    expect(plan.scopes.map((s) => [s.managementGroups, s.size])).toEqual([
      [["bu0", "bu1"], 10],
      [["bu2", "platform"], 8],
    ]);
    expect(plan.leftover.sort()).toEqual(["not-in-tree", `${ROOT}-0`, `${ROOT}-1`]);
    // Every scanned subscription is read exactly once: by a group or left over.
    const read = [...plan.scopes.flatMap((s) => s.subscriptions), ...plan.leftover].sort();
    expect(read).toEqual([...listed].sort());
  });

  it("a tree within the limit is one request; subscriptions match as ARM ids do", () => {
    const listed = names(TREE).map((id) => id.toUpperCase());
    const plan = planScopes([ROOT], TREE, listed, 100);
    expect(plan.scopes.map((s) => s.managementGroups)).toEqual([[ROOT]]);
    expect(plan.scopes[0]!.subscriptions).toHaveLength(20);
    expect(plan.leftover).toEqual([]);
  });

  it("counts every subscription of the tree against the limit, but reads only the scanned ones; a group with none is not asked", () => {
    // bu0 holds 5, of which the scan covers one; bu1 and bu2 none.
    const plan = planScopes([ROOT], TREE, ["bu0-3"], 10);
    expect(plan.scopes).toEqual([{ managementGroups: ["bu0"], size: 5, subscriptions: ["bu0-3"] }]);
    expect(plan.leftover).toEqual([]);
  });

  it("a subscription under a group past the limit with no smaller group below it is left over", () => {
    const flat = [...subs(ROOT, 30)];
    const plan = planScopes([ROOT], flat, names(flat), 10);
    expect(plan.scopes).toEqual([]);
    expect(plan.leftover).toHaveLength(30);
  });

  it("nested roots (a configured group inside another) count each subscription once", () => {
    // Each root's descendants are listed: bu0's subtree comes twice.
    const under = (root: string) =>
      TREE.filter((d) => d.parent === root || (root === "landingzones" && d.parent?.startsWith("bu")));
    const answer = [...under("landingzones"), ...under("bu0")];
    const plan = planScopes(["landingzones", "bu0"], answer, names(answer), 15);
    expect(plan.scopes.map((s) => [s.managementGroups, s.size, s.subscriptions.length])).toEqual([
      [["landingzones"], 15, 15],
    ]);
  });

  it("overlapping roots and a cycle in the answer read no subscription twice and end", () => {
    const cyclic = [...TREE, group("landingzones", "bu0"), group("bu0", "landingzones")];
    const plan = planScopes([ROOT, "landingzones", "bu0"], cyclic, names(TREE), 10);
    const read = [...plan.scopes.flatMap((s) => s.subscriptions), ...plan.leftover];
    expect(new Set(read).size).toBe(read.length);
    expect(read.sort()).toEqual(names(TREE).sort());
  });
});
