import { describe, expect, it } from "@jest/globals";
import { formatReport } from "../../src/cli/format";
import type { ScanReport } from "../../src/findings/report";
import { parseAllowlist } from "../../src/allowlist/file";
import { entryMatches, type FindingSides } from "../../src/allowlist/match";
import { withId } from "../../src/allowlist/entry";
import { connectionSeverity } from "../../src/scanners/judge";
import { grantingActions } from "../../src/scanners/foreign-principal-network-access/permissions";
import { principalSeverity, scopeLevel } from "../../src/scanners/foreign-principal-network-access/scanner";
import {
  domainOfExternalUpn,
  principalVerdict,
} from "../../src/scanners/foreign-principal-network-access/principal";
import { roleAssignmentCandidatesQuery } from "../../src/scanners/foreign-principal-network-access/query";
import { CHECKS } from "../../src/scanners/findings";
import { FINDING_KINDS } from "../../src/scanners/finding";

const HOME = "11111111-1111-4111-8111-111111111111";
const OTHER = "22222222-2222-4222-8222-222222222222";

describe("which roles grant peering", () => {
  it("grants through the exact actions and through wildcards, in any case", () => {
    expect(grantingActions([{ actions: ["Microsoft.Network/*"] }])).toEqual(["Microsoft.Network/*"]);
    expect(grantingActions([{ actions: ["*"] }])).toEqual(["*"]);
    expect(grantingActions([{ actions: ["microsoft.network/virtualnetworks/*"] }])).toEqual([
      "microsoft.network/virtualnetworks/*",
    ]);
    expect(grantingActions([{ actions: ["Microsoft.Network/virtualNetworks/peer/action"] }])).toEqual([
      "Microsoft.Network/virtualNetworks/peer/action",
    ]);
    expect(
      grantingActions([{ actions: ["Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write"] }]),
    ).toEqual(["Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write"]);
  });

  it("does not grant through read-only or unrelated actions", () => {
    expect(grantingActions([{ actions: ["*/read"] }])).toEqual([]);
    expect(grantingActions([{ actions: ["Microsoft.Network/virtualNetworks/read"] }])).toEqual([]);
    expect(grantingActions([{ actions: ["Microsoft.Storage/*"] }])).toEqual([]);
    expect(grantingActions([])).toEqual([]);
  });

  it("honours notActions within the same permission block, and adds blocks up", () => {
    const blocked = { actions: ["Microsoft.Network/*"], notActions: ["Microsoft.Network/virtualNetworks/*"] };
    expect(grantingActions([blocked])).toEqual([]);
    // Only one of the two actions blocked: the other still lets the principal do half a peering.
    const half = {
      actions: ["Microsoft.Network/*"],
      notActions: ["Microsoft.Network/virtualNetworks/peer/action"],
    };
    expect(grantingActions([half])).toEqual(["Microsoft.Network/*"]);
    // notActions subtract from their own block only.
    expect(
      grantingActions([blocked, { actions: ["Microsoft.Network/virtualNetworks/peer/action"] }]),
    ).toEqual(["Microsoft.Network/virtualNetworks/peer/action"]);
  });
});

describe("foreign principals", () => {
  const MICROSOFT_APPS = ["f8cdef31-a31e-4b4a-93e4-5f571e91255a"];
  const kindOf = (type: string, object: Record<string, unknown> | undefined) =>
    principalVerdict(type, "p", object as never, HOME, MICROSOFT_APPS);
  const user = (fields: Record<string, unknown>) => ({
    "@odata.type": "#microsoft.graph.user",
    id: "u",
    ...fields,
  });

  it("tells guests, external members, other tenants' apps and foreign groups from our own principals", () => {
    expect(kindOf("User", user({ userType: "Guest" }))).toMatchObject({ kind: "guest-user", missing: null });
    const answered = { externalUserState: null, creationType: null, identities: [] };
    expect(
      kindOf("User", user({ userType: "Member", userPrincipalName: "nina@contoso.com", ...answered })),
    ).toBeNull();
    // Cross-tenant synchronization makes Members whose UPN still carries #EXT#.
    expect(
      kindOf(
        "User",
        user({ userType: "Member", userPrincipalName: "sam_fabrikam.com#EXT#@contoso.onmicrosoft.com" }),
      ),
    ).toMatchObject({ kind: "external-member", homeDomain: "fabrikam.com" });
    expect(kindOf("User", user({ userType: "Member", creationType: "Invitation" }))).toMatchObject({
      kind: "external-member",
    });
    expect(kindOf("User", user({ userType: "Member", externalUserState: "Accepted" }))).toMatchObject({
      kind: "external-member",
    });
    expect(
      kindOf(
        "User",
        user({ userType: "Member", identities: [{ signInType: "federated", issuer: "fabrikam.com" }] }),
      ),
    ).toMatchObject({ kind: "external-member", homeDomain: "fabrikam.com" });
    const sp = (owner: string | null | undefined) => ({
      "@odata.type": "#microsoft.graph.servicePrincipal",
      id: "s",
      ...(owner === undefined ? {} : { appOwnerOrganizationId: owner }),
    });
    expect(kindOf("ServicePrincipal", sp(OTHER))).toMatchObject({
      kind: "foreign-service-principal",
      homeTenantId: OTHER,
      microsoftApp: false,
    });
    expect(kindOf("ServicePrincipal", sp(MICROSOFT_APPS[0]!.toUpperCase()))).toMatchObject({
      microsoftApp: true,
    });
    expect(kindOf("ServicePrincipal", sp(HOME.toUpperCase()))).toBeNull();
    // Managed identities have no owning organisation (returned as null): ours.
    expect(kindOf("ServicePrincipal", sp(null))).toBeNull();
    expect(kindOf("ForeignGroup", undefined)).toMatchObject({ kind: "foreign-group" });
  });

  it("a missing deciding field is undecided (unknown), never 'ours'", () => {
    expect(kindOf("User", user({ userPrincipalName: "nina@contoso.com" }))).toMatchObject({
      kind: "unknown",
      missing: expect.stringMatching(/no userType/),
    });
    // A Member whose UPN (or any other deciding field) was left out may be a synced external user.
    expect(
      kindOf(
        "User",
        user({ userType: "Member", externalUserState: null, creationType: null, identities: [] }),
      ),
    ).toMatchObject({
      kind: "unknown",
      missing: expect.stringMatching(/no userPrincipalName/),
    });
    expect(
      kindOf("ServicePrincipal", { "@odata.type": "#microsoft.graph.servicePrincipal", id: "s" }),
    ).toMatchObject({
      kind: "unknown",
      missing: expect.stringMatching(/appOwnerOrganizationId/),
    });
    expect(kindOf("User", undefined)).toMatchObject({
      kind: "unknown",
      missing: expect.stringMatching(/did not return/),
    });
  });

  it("reads the home domain out of an #EXT# UPN", () => {
    expect(domainOfExternalUpn("mallory_tenanta.onmicrosoft.com#EXT#@contoso.onmicrosoft.com")).toBe(
      "tenanta.onmicrosoft.com",
    );
    expect(domainOfExternalUpn("first_last_fabrikam.com#EXT#@contoso.com")).toBe("fabrikam.com");
    expect(domainOfExternalUpn("nina@contoso.com")).toBeNull();
  });

  it("rates the scope: management group and subscription high, resource group medium, a VNet low", () => {
    const cases: [string, string | null][] = [
      ["/providers/Microsoft.Management/managementGroups/landing-zones", "high"],
      [`/subscriptions/${HOME}`, "high"],
      [`/subscriptions/${HOME}/resourceGroups/net-rg`, "medium"],
      [`/subscriptions/${HOME}/resourceGroups/net-rg/providers/Microsoft.Network/virtualNetworks/hub`, "low"],
      // No peering can be made on a storage account: not a scope this check reports.
      [`/subscriptions/${HOME}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa`, null],
    ];
    for (const [scope, severity] of cases) {
      const level = scopeLevel(scope);
      expect(level ? principalSeverity("violation", level) : null).toBe(severity);
    }
    expect(principalSeverity("allowed", "subscription")).toBe("info");
  });

  it("puts only role GUIDs into the assignment query", () => {
    expect(() => roleAssignmentCandidatesQuery(["x') or true //"])).toThrow(/not a role definition GUID/);
  });
});

describe("private endpoint severity", () => {
  it("is high when Approved, medium when Pending, low otherwise, info when allowed", () => {
    expect(connectionSeverity("violation", "Approved")).toBe("high");
    expect(connectionSeverity("violation", "Pending")).toBe("medium");
    expect(connectionSeverity("violation", "Rejected")).toBe("low");
    expect(connectionSeverity("violation", "Disconnected")).toBe("low");
    expect(connectionSeverity("expired-exception", "approved")).toBe("high");
    expect(connectionSeverity("allowed", "Approved")).toBe("info");
  });
});

describe("allowlist v1 with kinds", () => {
  const sides = (over: Partial<FindingSides>): FindingSides => ({
    kind: "private-endpoint-outbound",
    localResourceId: `/subscriptions/${HOME}/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe`,
    remoteTenantId: OTHER,
    remoteSubscriptionId: OTHER,
    remoteResourceId: `/subscriptions/${OTHER}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa`,
    ...over,
  });

  it("reads kinds, remoteResourceId and principalId from a file; remoteVnetId stays an alias", () => {
    const entries = parseAllowlist(
      `schemaVersion: 1
entries:
  - tenantId: "${OTHER}"
    kinds: [private-endpoint-outbound, private-endpoint-inbound]
    owner: a
    reason: b
  - remoteResourceId: "/subscriptions/${OTHER}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa"
    kinds: [private-endpoint-outbound]
    owner: a
    reason: b
  - principalId: "${OTHER}"
    kinds: [foreign-principal-network-access]
    owner: a
    reason: b
  - remoteVnetId: "/subscriptions/${OTHER}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v"
    owner: a
    reason: b
`,
      "allow.yaml",
    );
    expect(entries.map((e) => e.kinds)).toEqual([
      ["private-endpoint-outbound", "private-endpoint-inbound"],
      ["private-endpoint-outbound"],
      ["foreign-principal-network-access"],
      undefined,
    ]);
    expect(entryMatches(entries[1]!, sides({}))).toBe(true);
    const vnet = entries[3]!;
    expect(
      entryMatches(vnet, sides({ kind: "vnet-peering", remoteResourceId: vnet.remoteVnetId!.toUpperCase() })),
    ).toBe(true);
  });

  it("refuses unknown kinds, an empty list, and two match keys", () => {
    const bad = (body: string) => () =>
      parseAllowlist(`schemaVersion: 1\nentries:\n  - owner: a\n    reason: b\n${body}`, "allow.yaml");
    expect(bad(`    tenantId: "${OTHER}"\n    kinds: [storage]\n`)).toThrow(/kinds/);
    expect(bad(`    tenantId: "${OTHER}"\n    kinds: []\n`)).toThrow(/at least one finding kind/);
    expect(bad(`    tenantId: "${OTHER}"\n    principalId: "${OTHER}"\n`)).toThrow(/exactly one of/);
  });

  it("an entry without kinds covers peerings only; with kinds, only those", () => {
    const plain = withId({ tenantId: OTHER, owner: "a", reason: "b" });
    expect(entryMatches(plain, sides({ kind: "vnet-peering" }))).toBe(true);
    expect(entryMatches(plain, sides({}))).toBe(false);
    const pe = withId({ tenantId: OTHER, kinds: ["private-endpoint-outbound"], owner: "a", reason: "b" });
    expect(entryMatches(pe, sides({}))).toBe(true);
    expect(entryMatches(pe, sides({ kind: "vnet-peering" }))).toBe(false);
    expect(entryMatches(pe, sides({ kind: "private-endpoint-inbound" }))).toBe(false);
  });
});

describe("check metadata", () => {
  it("covers every finding kind, with a remediation guide and a card's facts", () => {
    expect(Object.keys(CHECKS).sort()).toEqual([...FINDING_KINDS].sort());
    for (const check of Object.values(CHECKS)) {
      expect(check.remediation.text.length).toBeGreaterThan(50);
      expect(check.relatedUrl).toMatch(/^https:\/\/learn\.microsoft\.com\//);
    }
  });
});

describe("reports name the checks that did not run", () => {
  const report: ScanReport = {
    schemaVersion: 1,
    scanId: "s",
    startedAt: "2026-11-29T10:00:00.000Z",
    finishedAt: "2026-11-29T10:00:01.000Z",
    homeTenantId: HOME,
    complete: true,
    errors: [],
    stats: {
      subscriptions: 1,
      virtualNetworks: 0,
      peerings: 0,
      findings: 0,
      violations: 0,
      allowed: 0,
      resourceGraphRequests: 4,
      resourceGraphRows: 0,
    },
    checks: [
      { id: "vnet-peering", title: "t", status: "ran" },
      {
        id: "foreign-principal-network-access",
        title: "t",
        status: "skipped",
        reason: "Microsoft Graph answered 403; grant Directory.Read.All",
      },
    ],
    findings: [],
  };

  it("in the table footer and the Markdown, without calling the scan incomplete", () => {
    const table = formatReport(report, "table", false);
    expect(table).toContain(
      "check foreign-principal-network-access skipped: Microsoft Graph answered 403; grant Directory.Read.All",
    );
    expect(table).not.toMatch(/INCOMPLETE/);
    expect(table).not.toMatch(/check vnet-peering/);
    expect(formatReport(report, "markdown", false)).toMatch(
      /## Checks not run\n\n- check foreign-principal-network-access skipped/,
    );
  });
});
