import { describe, expect, it } from "@jest/globals";
import { alertCard } from "../../src/alerts/card";
import { classifyPeering } from "../../src/scanners/peering/classify";
import type { PeeringRow } from "../../src/scanners/peering/query";
import { demoFinding, PORTAL_URL, violationAlert } from "../helpers/alert-samples";

const LOCAL_VNET =
  "/subscriptions/aaaaaaaa-0000-4000-8000-000000000001/resourceGroups/hub-rg/providers/Microsoft.Network/virtualNetworks/hub";
const REMOTE_VNET =
  "/subscriptions/bbbbbbbb-0000-4000-8000-000000000002/resourceGroups/r-rg/providers/Microsoft.Network/virtualNetworks/remote";

const row = (over: Partial<PeeringRow> = {}): PeeringRow => ({
  vnetId: LOCAL_VNET,
  vnetName: "hub",
  subscriptionId: "aaaaaaaa-0000-4000-8000-000000000001",
  tenantId: "11111111-1111-4111-8111-111111111111",
  peeringCount: 1,
  id: `${LOCAL_VNET}/virtualNetworkPeerings/to-remote`,
  peeringName: "to-remote",
  remoteVnetId: REMOTE_VNET,
  remoteTenantId: "",
  peeringState: "Connected",
  peeringSyncLevel: "FullyInSync",
  allowForwardedTraffic: false,
  allowGatewayTransit: false,
  useRemoteGateways: false,
  remoteAddressPrefixes: ["10.9.1.0/24"],
  ...over,
});
const rules = {
  allowlist: [],
  microsoftTenantIds: [],
  allowMicrosoftManaged: true,
  now: new Date("2026-12-05"),
};
const remote = { tenantId: "22222222-2222-4222-8222-222222222222", tenantName: "Remote Org" };

/** A card's facts, flattened (FactSets sit inside containers). */
function facts(card: unknown): Map<string, unknown> {
  const found = new Map<string, unknown>();
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (typeof node === "object" && node !== null) {
      const n = node as Record<string, unknown>;
      if (typeof n.title === "string" && "value" in n) found.set(n.title, n.value);
      Object.values(n).forEach(walk);
    }
  };
  walk(card);
  return found;
}

describe("subnet peering (peerCompleteVnets false, network API 2025-01-01)", () => {
  it("says on the finding which subnets are connected, not the whole VNet", () => {
    const finding = classifyPeering(
      row({ peerCompleteVnets: false, localSubnetNames: ["app", "data"], remoteSubnetNames: ["partner-in"] }),
      remote,
      rules,
    )!;
    expect(finding).toMatchObject({
      peerCompleteVnets: false,
      localSubnetNames: ["app", "data"],
      remoteSubnetNames: ["partner-in"],
    });
    expect(finding.summary).toContain("(subnets only: 'app', 'data' to 'partner-in')");
  });

  it("a whole-VNet peering carries no subnet fields (stored findings stay as they were)", () => {
    const finding = classifyPeering(row({ peerCompleteVnets: true }), remote, rules)!;
    expect(finding).not.toHaveProperty("peerCompleteVnets");
    expect(finding.summary).not.toContain("subnets only");
  });

  it("says so on the alert card", () => {
    const subnet = demoFinding({
      peerCompleteVnets: false,
      localSubnetNames: ["app"],
      remoteSubnetNames: ["partner-in"],
    });
    const card = facts(alertCard(violationAlert(subnet), { portalUrl: PORTAL_URL }));
    expect(card.get("Connects")).toMatch(/Only the named subnets/);
    expect(String(card.get("Local subnets"))).toContain("app");
    expect(String(card.get("Remote subnets"))).toContain("partner-in");
    expect(facts(alertCard(violationAlert(), { portalUrl: PORTAL_URL })).has("Connects")).toBe(false);
  });
});
