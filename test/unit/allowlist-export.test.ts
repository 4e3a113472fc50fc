import { describe, expect, it } from "@jest/globals";
import { exportAllowlist } from "../../src/allowlist/export";
import { parseAllowlist } from "../../src/allowlist/file";
import type { StoredAllowlistEntry } from "../../src/store/allowlist-store";

const T = "9c8b7a65-4d3e-4f21-8a0b-1c2d3e4f5a6b";
const S = "e5f7a9b1-4d6e-4f80-9b2c-3d4e5f607182";
const VNET = `/subscriptions/${S}/resourceGroups/archive-rg/providers/Microsoft.Network/virtualNetworks/archive-vnet`;
const SCOPE = `/subscriptions/${S}/resourceGroups/hub-rg`;

const CANONICAL_YAML = `schemaVersion: 1
entries:
  - id: alpha
    remoteVnetId: "${VNET}"
    localScope: "${SCOPE}"
    expiresOn: "2027-06-30"
    owner: netops@contoso.com
    reason: Archive replication
    ticket: CHG-1
  - id: beta
    tenantId: "${T}"
    owner: netops@contoso.com
    reason: Managed firewall
`;

describe("allowlist export", () => {
  it("sorts entries by id, lists fields in canonical order and leaves out stored-only fields", () => {
    const stamps = {
      createdAt: "2026-01-01T00:00:00.000Z",
      createdBy: "alice",
      updatedAt: "2026-01-01T00:00:00.000Z",
    };
    const stored: StoredAllowlistEntry[] = [
      { reason: "Managed firewall", owner: "netops@contoso.com", tenantId: T, id: "beta", ...stamps },
      {
        ticket: "CHG-1",
        reason: "Archive replication",
        owner: "netops@contoso.com",
        expiresOn: "2027-06-30",
        localScope: SCOPE,
        remoteVnetId: VNET,
        id: "alpha",
        ...stamps,
      },
    ];
    expect(exportAllowlist(stored)).toBe(CANONICAL_YAML);
    expect(JSON.parse(exportAllowlist(stored, "json")).entries).toEqual(
      parseAllowlist(CANONICAL_YAML, "c.yaml"),
    );
    expect(exportAllowlist(stored, "json")).toMatch(/^\{\n {2}"schemaVersion": 1,\n {2}"entries": \[\n/);
  });

  it("reproduces a file already in canonical form byte for byte", () => {
    expect(exportAllowlist(parseAllowlist(CANONICAL_YAML, "c.yaml"))).toBe(CANONICAL_YAML);
    const json = exportAllowlist(parseAllowlist(CANONICAL_YAML, "c.yaml"), "json");
    expect(exportAllowlist(parseAllowlist(json, "c.json"), "json")).toBe(json);
    expect(exportAllowlist([])).toBe("schemaVersion: 1\nentries: []\n");
  });

  it("round-trips values that YAML would otherwise read as numbers, booleans, comments or mappings", () => {
    const messy = `{"schemaVersion": 1, "entries": [
      {"subscriptionId": "${S.toUpperCase()}", "owner": "  yes ", "reason": "null", "ticket": "0815"},
      {"id": "123", "tenantId": "${T}", "owner": "1e3", "reason": "first line - second: line # not a comment",
       "localScope": "${SCOPE}/"},
      {"id": "z", "tenantId": "${T}", "owner": "o", "reason": "${"a long reason ".repeat(12).trim()}"}
    ]}`;
    const entries = parseAllowlist(messy, "messy.json");
    const once = exportAllowlist(entries);
    expect(parseAllowlist(once, "once.yaml")).toEqual([...entries].sort((a, b) => (a.id < b.id ? -1 : 1)));
    expect(exportAllowlist(parseAllowlist(once, "once.yaml"))).toBe(once);
    expect(once).toContain(`subscriptionId: "${S.toUpperCase()}"`);
    expect(once).toContain(`reason: ${"a long reason ".repeat(12).trim()}\n`);
    expect(once).toContain(`localScope: "${SCOPE}"\n`);
  });
});
