import { describe, expect, it } from "@jest/globals";
import {
  MAX_AUTHORIZATIONS,
  authorizationsOf,
  type LighthouseAssignmentRow,
} from "../../src/scanners/foreign-principal-network-access/lighthouse-query";

const SUB = "31bdf544-8e8e-4f5b-bb31-3316a05e5581";
const ASSIGNMENT = `/subscriptions/${SUB}/providers/Microsoft.ManagedServices/registrationAssignments/3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c`;
const NOC = "9d4c5b6a-7f8e-4d9c-8baa-4d5e6f708192";
const NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7";

const row = (fields: Partial<LighthouseAssignmentRow>): LighthouseAssignmentRow => ({
  assignmentId: ASSIGNMENT,
  subscriptionId: SUB,
  tenantId: "5f1e4c2a-7b3d-4e8f-9a6b-2c1d0e9f8a7b",
  registrationDefinitionId: `/subscriptions/${SUB}/providers/microsoft.managedservices/registrationdefinitions/6b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e`,
  managedByTenantId: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
  ...fields,
});

describe("the authorizations of a Lighthouse assignment", () => {
  it("marks eligible ones by the array they are in, whether or not they carry a just-in-time policy", () => {
    const { rows, unread } = authorizationsOf(
      row({
        authorizations: [{ principalId: NOC, roleDefinitionId: NETWORK_CONTRIBUTOR }],
        eligibleAuthorizations: [
          { principalId: NOC, roleDefinitionId: NETWORK_CONTRIBUTOR },
          {
            principalId: NOC,
            roleDefinitionId: NETWORK_CONTRIBUTOR,
            justInTimeAccessPolicy: { multiFactorAuthProvider: "Azure" },
          },
        ],
      }),
    );
    expect(unread).toEqual([]);
    expect(rows.map((r) => r.eligible)).toEqual([false, true, true]);
  });

  it("names what it cannot judge: no definition, an item without principal or role GUID, items past the bound", () => {
    expect(authorizationsOf(row({ managedByTenantId: "" })).unread).toEqual([
      expect.stringContaining("returned no registration definition"),
    ]);
    const odd = authorizationsOf(
      row({
        authorizations: [
          { principalId: NOC },
          { principalId: "not-a-guid", roleDefinitionId: NETWORK_CONTRIBUTOR },
          "a string",
          {
            principalId: NOC,
            roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${NETWORK_CONTRIBUTOR}`,
          },
        ],
      }),
    );
    expect(odd.rows).toHaveLength(1);
    expect(odd.unread).toEqual([
      expect.stringContaining("authorizations[0]"),
      expect.stringContaining("authorizations[1]"),
      expect.stringContaining("authorizations[2]"),
    ]);
    const many = authorizationsOf(
      row({
        eligibleAuthorizations: Array.from({ length: MAX_AUTHORIZATIONS + 5 }, () => ({
          principalId: NOC,
          roleDefinitionId: NETWORK_CONTRIBUTOR,
        })),
      }),
    );
    expect(many.rows).toHaveLength(MAX_AUTHORIZATIONS);
    expect(many.unread).toEqual([
      expect.stringContaining(`5 of ${MAX_AUTHORIZATIONS + 5} eligibleAuthorizations`),
    ]);
  });
});
