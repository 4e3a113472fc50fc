import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { withinScope } from "../../src/allowlist/match";
import { idKey, sameId } from "../../src/azure/resource-id";
import { findingId } from "../../src/scanners/finding";
import { idempotencyHeader, requestFor, destinationsOf } from "../../src/alerts/dispatch";
import { loadConfig } from "../../src/config";
import { eventScanId } from "../../src/watch/peering-event";
import { servicePrincipalVerdict } from "../../src/scanners/foreign-principal-network-access/principal";
import { violationAlert } from "../helpers/alert-samples";

const LOCAL = "11111111-1111-1111-1111-111111111111";

describe("ids from outside never become keys or headers as they are", () => {
  it("an event id with control characters gives a plain, bounded run id", () => {
    const id = eventScanId("evil\u0001\r\nx-injected: 1" + "x".repeat(10_000));
    expect(id).toMatch(/^event-[0-9a-f]{32}$/);
    expect(eventScanId("same")).toBe(eventScanId("same"));
    expect(eventScanId("same")).not.toBe(eventScanId("other"));
  });

  it("a queued alert whose key holds a control character still makes a valid header", () => {
    const config = loadConfig({
      WEBHOOK_URL: "https://hooks.example.com/x",
      ALERT_ALLOWED_HOSTS: "hooks.example.com",
    });
    const [webhook] = destinationsOf(config).filter((d) => d.name === "webhook");
    const alert = { ...violationAlert(), idempotencyKey: "k:\u0001:Ĳ" };
    const header = requestFor(alert, webhook!, config).headers["x-idempotency-key"]!;
    expect(header).toMatch(/^sha256-[0-9a-f]{64}$/);
    expect(() => new Headers({ "x-idempotency-key": header })).not.toThrow();
    // Keys we make ourselves go out as they are, so receivers can match them with the body.
    expect(idempotencyHeader("0123abcd:violation-new:scan-1")).toBe("0123abcd:violation-new:scan-1");
  });

  it("an appOwnerOrganizationId that is not a GUID names no tenant: the principal stays undecided", () => {
    for (const owner of ["a/b", "../../x", "31ca78c2-d833-433a-9977-88e160bd4ac0/extra", "ſ"]) {
      const verdict = servicePrincipalVerdict(
        { "@odata.type": "#microsoft.graph.servicePrincipal", id: "sp-1", appOwnerOrganizationId: owner },
        LOCAL,
        [],
      );
      expect(verdict).toMatchObject({ kind: "unknown", homeTenantId: null });
    }
    const foreign = servicePrincipalVerdict(
      {
        "@odata.type": "#microsoft.graph.servicePrincipal",
        id: "sp-2",
        appOwnerOrganizationId: "31CA78C2-D833-433A-9977-88E160BD4AC0",
      },
      LOCAL,
      [],
    );
    expect(foreign).toMatchObject({
      kind: "foreign-service-principal",
      homeTenantId: "31ca78c2-d833-433a-9977-88e160bd4ac0",
    });
  });
});

describe("Azure ids compared as ARM does: ordinal, case-insensitive on ASCII letters only", () => {
  const REAL =
    "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg-k/providers/Microsoft.Network/virtualNetworks/hub-k";
  const LOOK_ALIKES = { "\u212A": "k", "\u017F": "s", "\u0131": "i", "\u0130": "i" };

  it("a look-alike id with a non-ASCII case pair is another resource, for every key", () => {
    const lookAlike = REAL.replace("rg-k", "rg-\u212A");
    expect(sameId(lookAlike, REAL)).toBe(false);
    expect(findingId("vnet-peering", lookAlike)).not.toBe(findingId("vnet-peering", REAL));
    expect(withinScope(`${lookAlike}/virtualNetworkPeerings/p`, REAL)).toBe(false);
    expect(sameId(REAL.toUpperCase(), REAL)).toBe(true);
  });

  it("holds for any id and any non-ASCII case pair (property, fixed seed)", () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom(
            ..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/_".split(""),
          ),
          minLength: 1,
          maxLength: 40,
        }),
        fc.constantFrom(...Object.entries(LOOK_ALIKES)),
        fc.nat(40),
        (ascii, [odd, plain], at) => {
          const i = at % (ascii.length + 1);
          const real = ascii.slice(0, i) + plain + ascii.slice(i);
          const fake = ascii.slice(0, i) + odd + ascii.slice(i);
          // ASCII ids key exactly as before (stored finding ids do not change) ...
          expect(idKey(real)).toBe(real.toLowerCase());
          expect(sameId(real.toUpperCase(), real)).toBe(true);
          // ... and a non-ASCII letter never meets its ASCII look-alike.
          expect(sameId(fake, real)).toBe(false);
          expect(findingId("k", fake)).not.toBe(findingId("k", real));
        },
      ),
      { seed: 22, numRuns: 300 },
    );
  });
});
