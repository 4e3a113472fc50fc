import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { withId } from "../../src/allowlist/entry";
import { alertCard } from "../../src/alerts/card";
import { ALERTS_QUEUE } from "../../src/alerts/emit";
import type { AlertMessage } from "../../src/findings/alert-message";
import { loadConfig } from "../../src/config";
import { sandboxConnection } from "../../src/sandbox/connection";
import { parseEstate, type Estate } from "../../src/sandbox/estate";
import { SERVICE_DEFAULT_POLICY } from "../../src/sandbox/graph/policies";
import { startSandbox } from "../../src/sandbox/server";
import { runRecordedScan } from "../../src/scan/record-scan";
import type { ScanReport } from "../../src/findings/report";
import { ofKind } from "../../src/scanners/findings";
import type { Storage } from "../../src/store/storage";
import { testStorage, type TestStorage } from "../helpers/azurite";
import { EstateBuilder, guid, vnetId } from "../helpers/estate-builder";
import { sandboxScan } from "../helpers/sandbox";

const HOME = guid(1, "e0");
const OPEN_PARTNER = guid(2, "e0");
const RESTRICTED_PARTNER = guid(3, "e0");
const SUB = guid(1, "e1");
const PARTNER_SUB = guid(2, "e1");

const allowedAll = {
  usersAndGroups: { accessType: "allowed", targets: [{ target: "AllUsers", targetType: "user" }] },
  applications: {
    accessType: "allowed",
    targets: [{ target: "AllApplications", targetType: "application" }],
  },
};
const blockedAll = {
  usersAndGroups: { accessType: "blocked", targets: [{ target: "AllUsers", targetType: "user" }] },
  applications: {
    accessType: "blocked",
    targets: [{ target: "AllApplications", targetType: "application" }],
  },
};

/** A tenant on the service-default policy with one open partner and one restricted partner. */
function policyEstate(entra?: Record<string, unknown>): Estate {
  const json = new EstateBuilder(HOME, "Contoso")
    .tenant(OPEN_PARTNER, "Fabrikam")
    .tenant(RESTRICTED_PARTNER, "Litware")
    .subscription(SUB, HOME)
    .subscription(PARTNER_SUB, OPEN_PARTNER)
    // A peering into the open partner: a finding whose tenant the evidence step asks about.
    .vnet(SUB, HOME, "net-rg", "hub", [
      { name: "to-fabrikam", remote: vnetId(PARTNER_SUB, "f-rg", "f-vnet") },
    ])
    .vnet(PARTNER_SUB, OPEN_PARTNER, "f-rg", "f-vnet")
    .json() as Record<string, unknown>;
  return parseEstate(
    entra === undefined
      ? json
      : {
          ...json,
          entra,
        },
    "test estate",
  );
}

const partners = [
  { tenantId: OPEN_PARTNER, b2bCollaborationInbound: allowedAll, inboundTrust: { isMfaAccepted: true } },
  { tenantId: RESTRICTED_PARTNER, b2bCollaborationInbound: blockedAll, b2bDirectConnectInbound: blockedAll },
];

describe("cross-tenant access settings, read from Microsoft Graph", () => {
  let report: ScanReport;
  beforeAll(async () => {
    const env = await sandboxScan(policyEstate({ crossTenantAccessPolicy: { partners } }));
    try {
      report = await env.scan();
    } finally {
      await env.close();
    }
  });
  const settings = () => report.findings.filter(ofKind("cross-tenant-access-policy"));

  it("runs, and the service default's inbound B2B collaboration is a high finding (CISA MS.AAD.8.3)", () => {
    expect(report.complete).toBe(true);
    expect(report.checks!.find((c) => c.id === "cross-tenant-access-policy")?.status).toBe("ran");
    expect(
      settings().find((f) => f.setting === "b2bCollaborationInbound.usersAndGroups" && !f.remoteTenantId),
    ).toMatchObject({
      resourceId: "/policies/crossTenantAccessPolicy/default",
      status: "violation",
      severity: "high",
      accessType: "allowed",
      baseline: "CISA MS.AAD.8.3",
      remoteTenantId: null,
    });
  });

  it("names the open partner (medium, with its tenant's name) and says nothing of the restricted one", () => {
    const partnerFindings = settings().filter((f) => f.remoteTenantId !== null);
    expect(partnerFindings.map((f) => [f.remoteTenantId, f.setting, f.severity])).toEqual(
      expect.arrayContaining([
        [OPEN_PARTNER, "b2bCollaborationInbound.usersAndGroups", "medium"],
        [OPEN_PARTNER, "inboundTrust", "low"],
      ]),
    );
    expect(partnerFindings).toHaveLength(2);
    expect(partnerFindings[0]).toMatchObject({
      remoteTenantName: "Fabrikam",
      resourceId: `/policies/crossTenantAccessPolicy/partners/${OPEN_PARTNER}`,
    });
    expect(settings().some((f) => f.remoteTenantId === RESTRICTED_PARTNER)).toBe(false);
  });

  it("holds the service default's other settings to their baselines", () => {
    const bySetting = new Map(
      settings()
        .filter((f) => f.remoteTenantId === null)
        .map((f) => [f.setting, [f.status, f.severity, f.baseline]]),
    );
    expect(Object.fromEntries(bySetting)).toEqual({
      "b2bCollaborationInbound.usersAndGroups": ["violation", "high", "CISA MS.AAD.8.3"],
      "b2bDirectConnectInbound.usersAndGroups": ["allowed", "info", "Entra ID service default"],
      "b2bCollaborationOutbound.usersAndGroups": ["violation", "low", "Zero Trust assessment 21790"],
      "b2bDirectConnectOutbound.usersAndGroups": ["allowed", "info", "Zero Trust assessment 21790"],
      "tenantRestrictions.usersAndGroups": ["allowed", "info", "Zero Trust assessment 21793"],
      inboundTrust: ["allowed", "info", "Entra ID service default"],
      allowInvitesFrom: ["violation", "medium", "CISA MS.AAD.8.2"],
      guestUserRoleId: ["allowed", "info", "CISA MS.AAD.8.1"],
    });
    expect(settings().find((f) => f.setting === "allowInvitesFrom")?.expected).toMatch(
      /^adminsAndGuestInviters/,
    );
  });

  it("an allowlist entry for the partner's tenant (kind cross-tenant-access-policy) allows its findings", async () => {
    const env = await sandboxScan(policyEstate({ crossTenantAccessPolicy: { partners } }));
    try {
      const allowed = await env.scan({
        allowlist: [
          withId({
            tenantId: OPEN_PARTNER.toUpperCase(),
            kinds: ["cross-tenant-access-policy"],
            owner: "idm@contoso.com",
            reason: "Fabrikam runs our service desk",
          }),
        ],
      });
      const partner = allowed.findings
        .filter(ofKind("cross-tenant-access-policy"))
        .filter((f) => f.remoteTenantId === OPEN_PARTNER);
      expect(partner.map((f) => [f.status, f.severity])).toEqual([
        ["allowed", "info"],
        ["allowed", "info"],
      ]);
    } finally {
      await env.close();
    }
  });

  it("keeps hostile partner data out: a partner id that is not a GUID is refused and named", async () => {
    const estate = policyEstate({ crossTenantAccessPolicy: { partners } });
    const env = await sandboxScan(estate);
    try {
      // The estate schema refuses such a partner, so it is slipped in after parsing, as Graph could send it.
      estate.entra!.crossTenantAccessPolicy!.partners.push({
        tenantId: "../../subscriptions/x' or 1==1",
        b2bCollaborationInbound: allowedAll,
      } as never);
      const hostile = await env.scan();
      expect(hostile.findings.some((f) => f.resourceId.includes(".."))).toBe(false);
      expect(hostile.errors).toEqual([
        expect.objectContaining({
          source: "cross-tenant-access-policy",
          message: expect.stringMatching(/is not a GUID/),
        }),
      ]);
    } finally {
      await env.close();
    }
  });

  it("without Policy.Read.All (no entra in the estate: Graph answers 403) the check is skipped, the scan complete", async () => {
    const env = await sandboxScan(policyEstate());
    try {
      const skipped = await env.scan();
      expect(skipped.complete).toBe(true);
      expect(skipped.checks!.find((c) => c.id === "cross-tenant-access-policy")).toMatchObject({
        status: "skipped",
        reason: expect.stringMatching(/403.*Policy\.Read\.All/),
      });
      expect(skipped.findings.filter(ofKind("cross-tenant-access-policy"))).toEqual([]);
    } finally {
      await env.close();
    }
  });
});

describe("drift of the settings between kept scans (Azurite)", () => {
  let state: TestStorage;
  let storage: Storage;
  // A workspace is named, so the evidence step asks for it (and is refused where the estate has none).
  const config = loadConfig({ AZURE_MAX_RETRIES: "1", LOG_ANALYTICS_WORKSPACE_ID: guid(9, "e9") });
  beforeAll(async () => {
    state = await testStorage();
    storage = state.storage;
  });
  afterAll(() => state.stop());

  async function scan(estate: Estate, at: string): Promise<ScanReport> {
    const running = await startSandbox({ estate });
    try {
      return await runRecordedScan({
        connection: { ...sandboxConnection(running, estate, config), retryOptions: { maxRetries: 1 } },
        config,
        storage,
        trigger: "cli",
        allowlist: [],
        now: () => new Date(at),
      });
    } finally {
      await running.close();
    }
  }

  /** Takes every alert off the queue. */
  async function alerts(): Promise<AlertMessage[]> {
    const queue = await storage.queue(ALERTS_QUEUE);
    const out: AlertMessage[] = [];
    for (;;) {
      const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
      if (receivedMessageItems.length === 0) return out;
      for (const item of receivedMessageItems) {
        out.push(JSON.parse(Buffer.from(item.messageText, "base64").toString("utf8")) as AlertMessage);
        await queue.deleteMessage(item.messageId, item.popReceipt);
      }
    }
  }

  it("setting the default's inbound B2B collaboration to blocked is a changed delta with its own alert and card", async () => {
    const first = await scan(policyEstate({ crossTenantAccessPolicy: { partners } }), "2026-12-01T00:00:00Z");
    const inbound = first.findings
      .filter(ofKind("cross-tenant-access-policy"))
      .find((f) => f.setting === "b2bCollaborationInbound.usersAndGroups" && f.remoteTenantId === null)!;
    expect(first.delta!.new).toContain(inbound.id);
    await alerts();

    const blocked = await scan(
      policyEstate({
        crossTenantAccessPolicy: {
          default: {
            ...SERVICE_DEFAULT_POLICY,
            isServiceDefault: false,
            b2bCollaborationInbound: blockedAll,
          },
          partners,
        },
      }),
      "2026-12-02T00:00:00Z",
    );
    expect(blocked.delta!.changed).toEqual([inbound.id]);
    expect(blocked.delta!.resolved).toEqual([]);
    const after = blocked.findings.find((f) => f.id === inbound.id)!;
    expect(after).toMatchObject({ status: "allowed", severity: "info", accessType: "blocked" });

    const sent = await alerts();
    expect(sent.map((a) => [a.kind, a.finding?.id])).toEqual([["setting-changed", inbound.id]]);
    expect(sent[0]!.title).toMatch(
      /^Inbound B2B collaboration was closed in the default cross-tenant access policy/,
    );
    const card = JSON.stringify(alertCard(sent[0]!, { portalUrl: "https://portal.azure.com" }));
    expect(card).toContain("Cross-tenant access setting changed");
    expect(card).toContain("CISA MS.AAD.8.3");

    // And back: opening it again is the alert the issue names.
    const reopened = await scan(
      policyEstate({ crossTenantAccessPolicy: { partners } }),
      "2026-12-03T00:00:00Z",
    );
    expect(reopened.delta!.changed).toEqual([inbound.id]);
    const again = await alerts();
    expect(again.map((a) => [a.kind, a.severity])).toEqual([["setting-changed", "high"]]);
    expect(again[0]!.title).toMatch(
      /^Inbound B2B collaboration was opened in the default cross-tenant access policy/,
    );
  });

  it("without entra and logAnalytics both parts are skipped, the scan complete, the settings kept, and no alert raised", async () => {
    const skipped = await scan(policyEstate(), "2026-12-04T00:00:00Z");
    expect(skipped.complete).toBe(true);
    expect(
      skipped.checks!.filter((c) => c.status !== "ran").map((c) => [c.id, c.status, c.reason?.slice(0, 40)]),
    ).toEqual([
      ["cross-tenant-access-policy", "skipped", "Microsoft Graph answered 403 to /policie"],
      ["log-analytics-evidence", "skipped", "Log Analytics answered 403 to a query of"],
    ]);
    expect(skipped.errors).toEqual([]);
    expect(skipped.delta).toEqual({ new: [], resolved: [], reopened: [], changed: [] });
    expect(await alerts()).toEqual([]);
  });

  it("a partner's settings that stop letting it in are resolved, once the check looked", async () => {
    const stored = await scan(
      policyEstate({ crossTenantAccessPolicy: { partners } }),
      "2026-12-05T00:00:00Z",
    );
    const partnerIds = stored.findings
      .filter((f) => f.remoteTenantId === OPEN_PARTNER && f.kind !== "vnet-peering")
      .map((f) => f.id);
    expect(partnerIds).toHaveLength(2);
    await alerts();
    const gone = await scan(
      policyEstate({
        crossTenantAccessPolicy: {
          partners: [{ tenantId: OPEN_PARTNER, b2bCollaborationInbound: blockedAll }],
        },
      }),
      "2026-12-06T00:00:00Z",
    );
    expect(gone.complete).toBe(true);
    expect([...gone.delta!.resolved].sort()).toEqual([...partnerIds].sort());
    expect((await alerts()).map((a) => a.kind)).toEqual(["finding-resolved", "finding-resolved"]);
  });
});
