import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { entryMatches, withinScope } from "../../src/allowlist/match";
import { parseAllowlist } from "../../src/allowlist/file";
import { alertMessageSchema } from "../../src/findings/alert-message";
import { parseBody } from "../../src/api/http";
import { coverageRowSchema } from "../../src/azure/subscription-coverage";
import { tenantFromWwwAuthenticate } from "../../src/azure/tenants";
import { InputError } from "../../src/errors";
import { parseEstate } from "../../src/sandbox/estate";
import { decideCoverage, nextRecords, type SubscriptionRecord } from "../../src/findings/coverage";
import { parseScanRequest } from "../../src/scan/queued-scan";
import { scanBodySchema } from "../../src/api/scans";
import { allowlistEntryInputSchema } from "../../src/allowlist/entry";
import { reconcile, type StoredFinding } from "../../src/findings/reconcile";
import { peeringRowSchema } from "../../src/scanners/peering/query";
import { findingId } from "../../src/scanners/finding";
import type { PeeringFinding } from "../../src/scanners/peering/finding";

/** Fixed seed and bounded runs: the same cases on every machine, quick enough for `npm test`. */
const RUNS = { seed: 20261129, numRuns: 150 };

const SUBS = [
  "00000000-0000-4000-8000-00000000000a",
  "00000000-0000-4000-8000-00000000000b",
  "00000000-0000-4000-8000-00000000000c",
];
const PEERINGS = Array.from({ length: 6 }, (_, i) => ({ sub: SUBS[i % SUBS.length]!, name: `p${i}` }));

function finding(p: { sub: string; name: string }, state: "Connected" | "Disconnected"): PeeringFinding {
  const resourceId = `/subscriptions/${p.sub}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/virtualNetworkPeerings/${p.name}`;
  return {
    id: findingId("vnet-peering", resourceId),
    kind: "vnet-peering",
    resourceId,
    localVnetId: resourceId.split("/virtualNetworkPeerings/")[0]!,
    localSubscriptionId: p.sub,
    localTenantId: "t",
    remoteVnetId: "/subscriptions/r/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/r",
    remoteSubscriptionId: "r",
    remoteTenantId: "f",
    remoteTenantName: null,
    relation: "cross-tenant",
    peeringState: state,
    peeringSyncLevel: "FullyInSync",
    allowForwardedTraffic: false,
    allowGatewayTransit: false,
    useRemoteGateways: false,
    remoteAddressPrefixes: [],
    status: "violation",
    allowlistEntryId: null,
    severity: state === "Connected" ? "high" : "low",
    riskFactors: [],
    summary: "s",
  };
}

/** One scan of a changing world: which peerings exist, which subscriptions are visible, and how it was asked. */
const scanArb = fc.record({
  exists: fc.array(fc.boolean(), { minLength: PEERINGS.length, maxLength: PEERINGS.length }),
  state: fc.constantFrom("Connected" as const, "Disconnected" as const),
  visible: fc.array(fc.boolean(), { minLength: SUBS.length, maxLength: SUBS.length }),
  scope: fc.option(fc.subarray(SUBS, { minLength: 1 }), { nil: undefined }),
  complete: fc.boolean(),
});

describe("properties of the pure core", () => {
  it("reconcile never resolves outside coverage, and a finding seen again is never resolved", () => {
    fc.assert(
      fc.property(fc.array(scanArb, { minLength: 1, maxLength: 8 }), (scans) => {
        let stored = new Map<string, StoredFinding>();
        let known = new Map<string, SubscriptionRecord>();
        scans.forEach((s, n) => {
          const scope = { managementGroups: [], subscriptions: s.scope ?? [] };
          const inScope = (sub: string) => s.scope === undefined || s.scope.includes(sub);
          const visibleSubs = SUBS.filter((sub, i) => s.visible[i] && inScope(sub));
          // An incomplete scan may miss any finding; a complete one sees every existing one it can see.
          const current = PEERINGS.filter((p, i) => s.exists[i] && visibleSubs.includes(p.sub))
            .filter((_, i) => s.complete || i % 2 === 0)
            .map((p) => finding(p, s.state));
          const unresolved = [...stored.values()].filter((x) => x.state !== "resolved");
          const { facts } = decideCoverage({
            scope,
            stored: unresolved.map((x) => x.finding.localSubscriptionId),
            found: current.map((f) => f.localSubscriptionId),
            visible: visibleSubs.map((subscriptionId) => ({ subscriptionId, managementGroups: [] })),
            known,
          });
          const at = new Date(Date.UTC(2026, 10, 1 + n)).toISOString();
          const writes = reconcile(stored, current, {
            scanId: `s${n}`,
            at,
            complete: s.complete,
            coverage: facts,
          });
          for (const w of writes) {
            const sub = w.finding.localSubscriptionId;
            if (w.history.at(-1)!.event === "resolved") {
              expect(s.complete).toBe(true);
              expect(visibleSubs).toContain(sub);
              expect(current.map((f) => f.id)).not.toContain(w.finding.id);
            }
            if (w.coverage) expect(inScope(sub) && !visibleSubs.includes(sub)).toBe(true);
          }
          stored = new Map([...stored, ...writes.map((w) => [w.finding.id, w] as const)]);
          for (const f of current) expect(stored.get(f.id)!.state).not.toBe("resolved");
          for (const f of current) expect(stored.get(f.id)!.coverage).toBeUndefined();
          known = new Map([
            ...known,
            ...nextRecords(
              known,
              visibleSubs.map((subscriptionId) => ({ subscriptionId, managementGroups: [] })),
              facts.unseen,
              {
                scanId: `s${n}`,
                at,
              },
              new Set(unresolved.map((x) => x.finding.localSubscriptionId)),
            ).writes.map((r) => [r.subscriptionId, r] as const),
          ]);
        });
      }),
      RUNS,
    );
  });

  const segment = fc.stringMatching(/^[A-Za-z0-9-]{1,8}$/);

  it("allowlist scopes match regardless of case, and only on a path-segment boundary", () => {
    fc.assert(
      fc.property(
        fc.array(segment, { minLength: 1, maxLength: 5 }),
        segment,
        fc.boolean(),
        (path, extra, upper) => {
          const scope = `/${path.join("/")}`;
          const id = `${scope}/${extra}`;
          const cased = upper ? id.toUpperCase() : id.toLowerCase();
          expect(withinScope(cased, scope)).toBe(true);
          expect(withinScope(id, scope.toUpperCase())).toBe(true);
          // The scope's last segment extended by more characters is another resource group or VNet.
          expect(withinScope(`${scope}${extra}`, scope)).toBe(false);
          const entry = {
            id: "e",
            owner: "o",
            reason: "r",
            remoteVnetId: id.toUpperCase(),
            localScope: scope,
          };
          const sides = {
            kind: "vnet-peering",
            localResourceId: cased,
            remoteTenantId: null,
            remoteSubscriptionId: "x",
            remoteResourceId: id.toLowerCase(),
          };
          expect(entryMatches(entry, sides)).toBe(true);
        },
      ),
      RUNS,
    );
  });

  /** A parser of outside input either answers or refuses with a plain error naming the problem. */
  function parsesOrRefuses(parse: () => unknown): void {
    try {
      parse();
    } catch (error) {
      expect(error).toBeInstanceOf(Error);
      expect([InputError.name, "ApiError", "Error", "ZodError"]).toContain((error as Error).constructor.name);
      expect((error as Error).message.length).toBeGreaterThan(0);
    }
  }

  const json = fc.jsonValue({ maxDepth: 4 });

  it("every parser of outside input parses or fails with a clear error, never crashes", () => {
    fc.assert(
      fc.property(json, fc.string({ maxLength: 200 }), (value, text) => {
        parsesOrRefuses(() => parseEstate(value, "estate"));
        parsesOrRefuses(() => parseAllowlist(text, "allowlist"));
        parsesOrRefuses(() => parseAllowlist(JSON.stringify(value), "allowlist"));
        parsesOrRefuses(() => parseScanRequest(value));
        parsesOrRefuses(() =>
          parseBody(allowlistEntryInputSchema, {
            method: "PUT",
            params: {},
            query: new URLSearchParams(),
            header: () => null,
            body: JSON.stringify(value),
          }),
        );
        parsesOrRefuses(() =>
          parseBody(scanBodySchema, {
            method: "POST",
            params: {},
            query: new URLSearchParams(),
            header: () => null,
            body: text,
          }),
        );
        parsesOrRefuses(() => alertMessageSchema.parse(value));
        parsesOrRefuses(() => peeringRowSchema.parse(value));
        parsesOrRefuses(() => coverageRowSchema.parse(value));
        const tenant = tenantFromWwwAuthenticate(text);
        expect(tenant === null || /^[0-9a-f-]{36}$/.test(tenant)).toBe(true);
      }),
      RUNS,
    );
  });

  it("a WWW-Authenticate header yields the tenant it names, whatever surrounds it", () => {
    fc.assert(
      fc.property(
        fc.uuid(),
        fc.string({ maxLength: 50 }),
        fc.string({ maxLength: 50 }),
        (tenant, before, after) => {
          const header = `Bearer ${before.replace(/"/g, "")} authorization_uri="https://login.windows.net/${tenant.toUpperCase()}", ${after}`;
          expect(tenantFromWwwAuthenticate(header)).toBe(tenant.toLowerCase());
        },
      ),
      RUNS,
    );
  });
});
