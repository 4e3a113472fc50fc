import { describe, expect, it } from "@jest/globals";
import { alertKindOf } from "../../src/findings/transitions";
import type { StoredFinding } from "../../src/findings/reconcile";
import { SERVICE_DEFAULT_POLICY, DEFAULT_AUTHORIZATION_POLICY } from "../../src/sandbox/graph/policies";
import { classifyPolicies } from "../../src/scanners/cross-tenant-access-policy/classify";
import { driftTitle } from "../../src/scanners/cross-tenant-access-policy/drift";
import { opennessOf, settingOpenness } from "../../src/scanners/cross-tenant-access-policy/settings";

const HOME = "00000000-0000-4000-8000-0000000000aa";
const PARTNER = "00000000-0000-4000-8000-0000000000bb";
const rules = {
  allowlist: [],
  microsoftTenantIds: [],
  allowMicrosoftManaged: true,
  now: new Date("2026-12-05"),
};
const group = (accessType: string, target: string) => ({
  accessType,
  targets: [{ target, targetType: "group" }],
});

describe("how far a setting opens the door (Graph applies accessType to the listed targets only)", () => {
  it("allowed for all is open to all; blocked for all is closed", () => {
    expect(opennessOf({ accessType: "allowed", targets: [{ target: "AllUsers" }] })).toBe("all");
    expect(opennessOf({ accessType: "blocked", targets: [{ target: "AllUsers" }] })).toBe("none");
  });

  it("allowed for one group is open to some; blocked for one group leaves everyone else in", () => {
    expect(opennessOf(group("allowed", "7f0c…group"))).toBe("some");
    expect(opennessOf(group("blocked", "7f0c…group"))).toBe("all");
  });

  it("a setting Graph leaves out, or an access type we do not know, is taken as open", () => {
    expect(opennessOf(undefined)).toBe("all");
    expect(opennessOf({ accessType: "unknownFutureValue", targets: [{ target: "AllUsers" }] })).toBe("all");
  });

  it("nobody comes in when either the users or the applications are blocked for all", () => {
    expect(
      settingOpenness({
        usersAndGroups: { accessType: "allowed", targets: [{ target: "AllUsers" }] },
        applications: { accessType: "blocked", targets: [{ target: "AllApplications" }] },
      }),
    ).toBe("none");
  });
});

describe("classifying the policies", () => {
  const classify = (over: Record<string, unknown> = {}, partners: Record<string, unknown>[] = []) =>
    classifyPolicies({
      policies: {
        default: { ...SERVICE_DEFAULT_POLICY, ...over },
        partners: partners as never,
        authorization: DEFAULT_AUTHORIZATION_POLICY,
        unreadable: [],
      },
      homeTenantId: HOME,
      tenantNames: new Map([[PARTNER, "Fabrikam <script>"]]),
      rules,
    });

  it("a setting missing from Graph's answer is a finding, unresolved, never dropped", () => {
    const { findings } = classify({ b2bCollaborationInbound: null });
    expect(findings.find((f) => f.setting === "b2bCollaborationInbound.usersAndGroups")).toMatchObject({
      relation: "unresolved",
      status: "violation",
      severity: "high",
    });
  });

  it("a partner that inherits the default (null settings) has no finding of its own; one for the home tenant is ignored", () => {
    const { findings } = classify({}, [
      { tenantId: PARTNER, b2bCollaborationInbound: null },
      { tenantId: HOME, b2bCollaborationInbound: SERVICE_DEFAULT_POLICY.b2bCollaborationInbound },
    ]);
    expect(findings.filter((f) => f.remoteTenantId !== null)).toEqual([]);
  });

  it("the finding id is stable per policy and setting, whatever the value", () => {
    const open = classify().findings.find((f) => f.setting === "b2bCollaborationInbound.usersAndGroups")!;
    const closed = classify({
      b2bCollaborationInbound: SERVICE_DEFAULT_POLICY.b2bDirectConnectInbound,
    }).findings.find((f) => f.setting === "b2bCollaborationInbound.usersAndGroups")!;
    expect(closed.id).toBe(open.id);
    expect([open.status, closed.status]).toEqual(["violation", "allowed"]);
  });

  it("the drift title says which way the setting moved", () => {
    const open = classify().findings.find((f) => f.setting === "b2bCollaborationInbound.usersAndGroups")!;
    expect(driftTitle(open, "allowed")).toMatch(/^Inbound B2B collaboration was opened in the default/);
    expect(driftTitle({ ...open, status: "allowed", severity: "info" }, "open")).toMatch(/was closed/);
    expect(driftTitle(open, "open")).toMatch(/^Inbound B2B collaboration changed in the default/);
  });

  it("which changes raise the drift alert", () => {
    const open = classify().findings.find((f) => f.setting === "b2bCollaborationInbound.usersAndGroups")!;
    const partner = classify({}, [
      { tenantId: PARTNER, b2bCollaborationInbound: SERVICE_DEFAULT_POLICY.b2bCollaborationInbound },
    ]).findings.find((f) => f.remoteTenantId === PARTNER)!;
    const write = (finding: typeof open, from: string, to: string) =>
      ({
        finding,
        history: [
          { at: "1", scanId: "a", event: "new", state: from },
          { at: "2", scanId: "b", event: "changed", state: to },
        ],
      }) as unknown as StoredFinding;
    expect(alertKindOf(write(open, "allowed", "open"))).toBe("setting-changed");
    expect(alertKindOf(write({ ...open, status: "allowed", severity: "info" }, "open", "allowed"))).toBe(
      "setting-changed",
    );
    expect(
      alertKindOf(write({ ...open, status: "allowed", allowlistEntryId: "accepted" }, "open", "allowed")),
    ).toBe(undefined);
    // A partner's allowlist entry removed: the partner was open all along, so it is a new violation.
    expect(alertKindOf(write(partner, "allowed", "open"))).toBe("violation-new");
  });
});
