import { describe, expect, it } from "@jest/globals";
import type { EstateSubscription } from "../../src/sandbox/estate";
import {
  authorizationRowInScope,
  type AuthorizationScopeFilter,
} from "../../src/sandbox/resource-graph/authorization-scope";

const SUB = "11111111-1111-4111-8111-111111111111";
const subscription = {
  subscriptionId: SUB,
  tenantId: "22222222-2222-4222-8222-222222222222",
  displayName: "s",
  state: "Enabled",
  managementGroups: ["landing-zones"],
} as EstateSubscription;

const rows = {
  builtInDefinition: {
    id: "/providers/Microsoft.Authorization/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7",
    type: "microsoft.authorization/roledefinitions",
  },
  groupAssignment: {
    id: "/providers/Microsoft.Management/managementGroups/landing-zones/providers/Microsoft.Authorization/roleAssignments/a",
    type: "microsoft.authorization/roleassignments",
    properties: { scope: "/providers/Microsoft.Management/managementGroups/landing-zones" },
  },
  otherGroupAssignment: {
    id: "/providers/Microsoft.Management/managementGroups/sandbox/providers/Microsoft.Authorization/roleAssignments/b",
    type: "microsoft.authorization/roleassignments",
  },
  rootAssignment: {
    id: "/providers/Microsoft.Authorization/roleAssignments/c",
    type: "microsoft.authorization/roleassignments",
    properties: { scope: "/" },
  },
  subscriptionAssignment: {
    id: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments/d`,
    type: "microsoft.authorization/roleassignments",
    subscriptionId: SUB,
    properties: { scope: `/subscriptions/${SUB}` },
  },
  resourceGroupAssignment: {
    id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/e`,
    type: "microsoft.authorization/roleassignments",
    subscriptionId: SUB,
    properties: { scope: `/subscriptions/${SUB}/resourceGroups/rg` },
  },
};

const seen = (scope: "subscription" | "tenant" | "management-group", filter: AuthorizationScopeFilter) =>
  Object.entries(rows)
    .filter(([, row]) =>
      authorizationRowInScope(row, {
        subscriptionScoped: scope === "subscription",
        subscriptions: [subscription],
        managementGroups: scope === "management-group" ? ["landing-zones"] : [],
        filter,
        inScope: (r) => String(r.subscriptionId).toLowerCase() === SUB,
      }),
    )
    .map(([name]) => name);

describe("the sandbox's authorizationresources by scope and authorizationScopeFilter", () => {
  it("a subscription scope returns no built-in definitions and, by default, nothing above it", () => {
    expect(seen("subscription", "AtScopeAndBelow")).toEqual([
      "subscriptionAssignment",
      "resourceGroupAssignment",
    ]);
  });

  it("AtScopeAboveAndBelow adds the assignments of its management groups and the root, not other groups'", () => {
    expect(seen("subscription", "AtScopeAboveAndBelow")).toEqual([
      "groupAssignment",
      "rootAssignment",
      "subscriptionAssignment",
      "resourceGroupAssignment",
    ]);
  });

  it("AtScopeExact keeps assignments on the subscription itself", () => {
    expect(seen("subscription", "AtScopeExact")).toEqual(["subscriptionAssignment"]);
  });

  it("the tenant scope sees everything; a management group its own rows and the tenant's definitions", () => {
    expect(seen("tenant", "AtScopeAndBelow")).toEqual(Object.keys(rows));
    expect(seen("management-group", "AtScopeAndBelow")).toEqual([
      "builtInDefinition",
      "groupAssignment",
      "subscriptionAssignment",
      "resourceGroupAssignment",
    ]);
  });
});

describe("management-group rows with the management-group tree (the root group named by the tenant id)", () => {
  const TENANT = subscription.tenantId;
  // subscription (chain ["landing-zones"]) <- landing-zones <- corp <- root; sandbox <- root.
  const tree: Record<string, string[]> = {
    "landing-zones": ["corp", TENANT],
    corp: [TENANT],
    sandbox: [TENANT],
  };
  const groupAssignment = (group: string) => ({
    id: `/providers/Microsoft.Management/managementGroups/${group}/providers/Microsoft.Authorization/roleAssignments/${group}-a`,
    type: "microsoft.authorization/roleassignments",
  });
  const groups = ["landing-zones", "corp", "sandbox", TENANT];
  const groupsSeen = (requested: string[], filter: AuthorizationScopeFilter) =>
    groups.filter((group) =>
      authorizationRowInScope(groupAssignment(group), {
        subscriptionScoped: requested.length === 0,
        subscriptions: [subscription],
        managementGroups: requested,
        filter,
        inScope: (r) => String(r.subscriptionId).toLowerCase() === SUB,
        groupAncestors: (g) => tree[g.toLowerCase()] ?? [],
        rootGroup: TENANT,
      }),
    );

  it("a group scope sees the assignments of the groups below it; the root group's sees every group's", () => {
    expect(groupsSeen(["corp"], "AtScopeAndBelow")).toEqual(["landing-zones", "corp"]);
    expect(groupsSeen([TENANT], "AtScopeAndBelow")).toEqual(groups);
    expect(groupsSeen(["corp"], "AtScopeExact")).toEqual(["corp"]);
  });

  it("above a group or a subscription lie its ancestors up to the root group, not other branches", () => {
    expect(groupsSeen(["corp"], "AtScopeAndAbove")).toEqual(["corp", TENANT]);
    expect(groupsSeen([], "AtScopeAndAbove")).toEqual(["landing-zones", TENANT]);
  });
});
