import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "@jest/globals";
import {
  alertCard,
  payloadBytes,
  teamsPayload,
  TEAMS_MAX_BYTES,
  type AdaptiveCard,
  type TeamsPayload,
} from "../../src/alerts/card";
import { requestFor } from "../../src/alerts/dispatch";
import { loadConfig } from "../../src/config";
import { ALERT_KINDS, type AlertKind, type AlertMessage } from "../../src/findings/alert-message";
import { PEERING_CHECK } from "../../src/scanners/peering/metadata";
import { CHECKS } from "../../src/scanners/findings";
import { parseWarnings } from "../../scripts/card-preview";
import {
  alertsOfEveryKind,
  CONTOSO_TENANT,
  demoFinding,
  digestAlert,
  findingAlertsOfEveryCheck,
  LOCAL_VNET_ID,
  PORTAL_URL,
  scanIncompleteAlert,
  SCAN_ID,
  TENANT_A,
  violationAlert,
} from "../helpers/alert-samples";

const cardOf = (alert: AlertMessage) => alertCard(alert, { portalUrl: PORTAL_URL });

/**
 * The cards' HTML pages (cardHtml), made in a plain Node process: jest's module sandbox cannot load
 * jsdom's ES module dependencies before Node 24.9.
 */
function renderOutsideJest(cards: AdaptiveCard[]): string[] {
  const preview = join(__dirname, "..", "..", "scripts", "card-preview.js");
  const program = [
    `const { cardHtml } = require(${JSON.stringify(preview)});`,
    `const cards = JSON.parse(require("node:fs").readFileSync(0, "utf8"));`,
    `process.stdout.write(JSON.stringify(cards.map(cardHtml)));`,
  ].join("\n");
  const output = execFileSync(process.execPath, ["-e", program], {
    input: JSON.stringify(cards),
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(output.toString("utf8")) as string[];
}

/** Every object in the card, depth first. */
function nodes(value: unknown): Record<string, unknown>[] {
  if (Array.isArray(value)) return value.flatMap(nodes);
  if (typeof value !== "object" || value === null) return [];
  const node = value as Record<string, unknown>;
  return [node, ...Object.values(node).flatMap(nodes)];
}

/** What a reader sees: text blocks and facts, one per line. */
function visibleText(card: AdaptiveCard): string {
  return nodes(card.body)
    .flatMap((n) => {
      if (n.type === "TextBlock") return [String(n.text)];
      if (n.type === "RichTextBlock")
        return (n.inlines as { text: string }[]).map((run) => run.text).join("");
      if (n.type !== "FactSet") return [];
      return (n.facts as { title: string; value: string }[]).map((f) => `${f.title}: ${f.value}`);
    })
    .join("\n");
}

function factValue(card: AdaptiveCard, title: string): string | undefined {
  const fact = nodes(card.body).find((n) => "value" in n && n.title === title);
  return fact?.value as string | undefined;
}

function heading(card: AdaptiveCard): Record<string, unknown> {
  return card.body[0] as Record<string, unknown>;
}

function actions(card: AdaptiveCard): { type: string; title: string; url: string }[] {
  return (card.actions ?? []) as { type: string; title: string; url: string }[];
}

const KEY_FACTS: Record<AlertKind, string[]> = {
  "violation-new": [
    "HIGH · New cross-tenant peering",
    "TenantB2TenantA",
    `Tenant A (${TENANT_A})`,
    "10.0.0.0/16",
  ],
  "violation-reopened": ["MEDIUM · Cross-tenant peering is back", "vnet-demo-test", "demo-vnet", "Initiated"],
  "finding-resolved": ["INFO · Cross-tenant peering resolved", "is no longer a cross-tenant finding"],
  "exception-expired": ["HIGH · Allowlist exception expired", "expired-exception (entry tenant-a-pilot)"],
  "exception-expiring": ["northwind-migration", "netops@contoso.com", "CHG-4711", "2026-12-06"],
  "scan-incomplete": ["MEDIUM · Scan incomplete", "Errors (2)", "429 Too Many Requests", "peerings"],
  "scan-failed": ["HIGH · Scan failed", "getaddrinfo ENOTFOUND contososcan.table.core.windows.net"],
  "coverage-lost": [
    "MEDIUM · Subscription out of sight",
    "kept as stale, not resolved",
    "7c1a2b3d-0000-4000-8000-000000000042",
    "contoso-landing-zones",
  ],
  digest: [`200 alerts from scan ${SCAN_ID}`, "spoke001-vnet", "… and 190 more"],
  "setting-changed": [
    "HIGH · Cross-tenant access setting changed",
    "Inbound B2B collaboration was opened",
    "CISA MS.AAD.8.3",
    "usersAndGroups:AllUsers",
  ],
  "scan-degraded": ["HIGH · Scan degraded", "Alerts to Teams are off", "TEAMS_WEBHOOK_URL was not resolved"],
};

/** What each check's card must show: its heading, its own facts, and the other tenant. */
const CHECK_FACTS: Record<keyof ReturnType<typeof findingAlertsOfEveryCheck>, string[]> = {
  "private-endpoint-outbound": [
    "HIGH · New cross-tenant private endpoint",
    "pe-tenanta-storage",
    "to-tenanta-blob (manual)",
    "tenantadata",
    "blob",
    "Approved",
    `Tenant A (${TENANT_A})`,
  ],
  "private-endpoint-inbound": [
    "MEDIUM · New inbound cross-tenant private endpoint",
    "kv-contoso-secrets",
    "nw-to-contoso-kv",
    "Pending",
    "pending-request",
    "Northwind Traders",
  ],
  "foreign-principal-network-access": [
    "HIGH · New foreign principal who can peer",
    "Mallory (Tenant A)",
    "guest-user",
    "Network Contributor",
    "Microsoft.Network/*",
    // The guest's home tenant, found from the domain of the #EXT# UPN.
    "Tenant A (31ca78c2-d833-433a-9977-88e160bd4ac0)",
  ],
  "cross-tenant-access-policy": [
    "HIGH · New cross-tenant access setting",
    "Inbound B2B collaboration (b2bCollaborationInbound.usersAndGroups)",
    "every other tenant",
    "usersAndGroups:AllUsers",
    "CISA MS.AAD.8.3",
  ],
  "service-endpoint-inbound": [
    "HIGH · New cross-tenant service endpoint rule",
    "stcontososhared",
    "properties.networkAcls.virtualNetworkRules",
    "nw-migration-vnet/subnets/workers",
    "Northwind Traders",
  ],
  "private-link-service-exposure": [
    "HIGH · New private link service open to another tenant",
    "pls-contoso-public",
    "autoApproval",
    "any-subscription",
  ],
};

describe("cards of every check", () => {
  const alerts = Object.entries(findingAlertsOfEveryCheck());
  const cards = alerts.map(([, alert]) => cardOf(alert));
  let pages: string[] = [];
  beforeAll(() => {
    pages = renderOutsideJest(cards);
  });

  it.each(alerts.map(([kind], i) => [kind, i] as const))(
    "the %s card is valid Adaptive Card 1.4, renders its check's facts and links its remediation guide",
    (kind, i) => {
      expect(cards[i]!.version).toBe("1.4");
      expect(parseWarnings(cards[i]!)).toEqual([]);
      expect(pages[i]).toContain('class="ac-container ac-adaptiveCard"');
      for (const text of CHECK_FACTS[kind as keyof typeof CHECK_FACTS]) expect(pages[i]).toContain(text);
      const check = CHECKS[kind as keyof typeof CHECKS];
      expect(actions(cards[i]!).map((a) => a.title)).toEqual([
        expect.stringMatching(/in Azure portal$/),
        "How to remediate",
      ]);
      expect(actions(cards[i]!)[1]!.url).toBe(check.relatedUrl);
      // Entra ID settings live on a blade of their own, not under a resource.
      expect(actions(cards[i]!)[0]!.url).toMatch(
        kind === "cross-tenant-access-policy"
          ? new RegExp(`^${PORTAL_URL}/#view/Microsoft_AAD_IAM/`)
          : new RegExp(`^${PORTAL_URL}/#@${CONTOSO_TENANT}/resource/`),
      );
      expect(payloadBytes(cards[i]!)).toBeLessThan(TEAMS_MAX_BYTES);
    },
  );

  it("a tenant-wide setting's card names no subscription: it lives in none", () => {
    const page = pages[alerts.findIndex(([kind]) => kind === "cross-tenant-access-policy")]!;
    expect(page).toContain("every other tenant");
    expect(page).not.toContain("Local subscription");
    expect(page).not.toContain("management group");
    expect(page).not.toContain("Remote tenant");
    // A finding at a management group scope still says so.
    const principal = pages[alerts.findIndex(([kind]) => kind === "foreign-principal-network-access")]!;
    expect(principal).toContain("Local subscription");
  });
});

describe("alert cards", () => {
  const cards = ALERT_KINDS.map((kind) => cardOf(alertsOfEveryKind()[kind]));
  let pages: string[] = [];
  beforeAll(() => {
    pages = renderOutsideJest(cards);
  });

  it.each(ALERT_KINDS.map((kind, i) => [kind, i] as const))(
    "the %s card is valid Adaptive Card 1.4 and renders its key facts",
    (kind, i) => {
      expect(cards[i]!.version).toBe("1.4");
      expect(parseWarnings(cards[i]!)).toEqual([]);
      expect(pages[i]).toContain('class="ac-container ac-adaptiveCard"');
      for (const text of KEY_FACTS[kind]) expect(pages[i]).toContain(text);
    },
  );

  it("uses only Action.OpenUrl, which is all Teams Workflows support", () => {
    for (const alert of Object.values(alertsOfEveryKind())) {
      const types = nodes(cardOf(alert)).flatMap((n) =>
        String(n.type).startsWith("Action.") ? [n.type] : [],
      );
      expect(types.every((type) => type === "Action.OpenUrl")).toBe(true);
    }
  });

  it("colours the title by severity, and a resolved finding as good news", () => {
    const all = alertsOfEveryKind();
    expect(heading(cardOf(all["violation-new"]))).toMatchObject({ color: "attention" });
    expect(heading(cardOf(all["violation-reopened"]))).toMatchObject({ color: "warning" });
    expect(heading(cardOf(all["finding-resolved"]))).toMatchObject({ color: "good" });
  });

  it("links to the local VNet's peerings in the local tenant, and to the remediation guide", () => {
    const expected = `https://portal.azure.com/#@${CONTOSO_TENANT}/resource${LOCAL_VNET_ID}/peerings`;

    expect(actions(cardOf(violationAlert()))).toEqual([
      { type: "Action.OpenUrl", title: "Open peerings in Azure portal", url: expected },
      { type: "Action.OpenUrl", title: "How to remediate", url: PEERING_CHECK.relatedUrl },
    ]);
    const trailingSlash = alertCard(violationAlert(), { portalUrl: "https://portal.azure.com/" });
    expect(actions(trailingSlash)[0]!.url).toBe(expected);
  });

  it("links every card to the HTML report where the app's public address is set, and no card without it", () => {
    const config = loadConfig({ PUBLIC_BASE_URL: "https://cts.azurewebsites.net/" });
    const teams = {
      name: "teams" as const,
      url: "https://x.webhook.office.com/a",
      minSeverity: "info" as const,
    };
    for (const alert of Object.values(alertsOfEveryKind())) {
      const sent = JSON.parse(requestFor(alert, teams, config).body) as TeamsPayload;
      expect(actions(sent.attachments[0].content)).toContainEqual({
        type: "Action.OpenUrl",
        title: "Open the report",
        url: "https://cts.azurewebsites.net/api/report",
      });
      const plain = JSON.parse(requestFor(alert, teams, loadConfig({})).body) as TeamsPayload;
      expect(actions(plain.attachments[0].content).map((a) => a.title)).not.toContain("Open the report");
    }
  });

  it("says a remote tenant nobody could resolve is unresolved, and names a known one", () => {
    const unresolved = cardOf(
      violationAlert(demoFinding({ relation: "unresolved", remoteTenantId: null, remoteTenantName: null })),
    );
    const unnamed = cardOf(violationAlert(demoFinding({ remoteTenantName: null })));

    expect(factValue(cardOf(violationAlert()), "Remote tenant")).toBe(`Tenant A (${TENANT_A})`);
    expect(factValue(unresolved, "Remote tenant")).toBe("unresolved");
    expect(factValue(unnamed, "Remote tenant")).toBe(TENANT_A);
  });

  it("shows the risk factors, prefixes and allowlist status of the finding", () => {
    const finding = demoFinding({
      riskFactors: ["forwarded-traffic", "gateway-transit"],
      remoteAddressPrefixes: ["10.0.0.0/16", "10.1.0.0/16"],
      status: "expired-exception",
      allowlistEntryId: "tenant-a-pilot",
    });
    const card = cardOf(violationAlert(finding));

    expect(factValue(card, "Risk factors")).toBe("forwarded-traffic, gateway-transit");
    expect(factValue(card, "Remote prefixes")).toBe("10.0.0.0/16, 10.1.0.0/16");
    expect(factValue(card, "Allowlist")).toBe("expired-exception (entry tenant-a-pilot)");
    expect(factValue(card, "First seen")).toBe("2026-11-28 06:01 UTC");
  });
});

describe("outside text on cards", () => {
  it("renders a hostile tenant, VNet and reason as text, as Teams would with its markdown", () => {
    const hostile = "[click](https://127.0.0.1/p) **bold** <b>x</b> _it_ www.evil.example a@b.example";
    const finding = demoFinding({
      remoteTenantName: hostile,
      remoteVnetId: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/${hostile}`,
    });
    const entry = {
      id: "e",
      owner: hostile,
      reason: hostile,
      expiresOn: "2026-12-06",
      matches: "tenantId=x",
    };
    const all = alertsOfEveryKind();
    const cards = ALERT_KINDS.map((kind) => {
      const alert = all[kind];
      return cardOf({
        ...alert,
        title: hostile,
        ...(alert.finding ? { finding } : {}),
        ...(alert.entry ? { entry } : {}),
        ...(alert.digest
          ? {
              digest: {
                ...alert.digest,
                items: alert.digest.items.map((item) => ({ ...item, text: hostile })),
              },
            }
          : {}),
      });
    });
    for (const page of renderOutsideJest(cards)) {
      const card = page.slice(page.indexOf('<div id="card">'));
      expect(card).not.toMatch(/<a\b|<strong>|<em>|<b>/);
      expect(card).toContain("[click](https://127.0.0.1/p) **bold** &lt;b&gt;x&lt;/b&gt; _it_");
    }
  });
});

describe("the Teams size limit", () => {
  const fits = (card: AdaptiveCard) => {
    expect(payloadBytes(card)).toBeLessThan(TEAMS_MAX_BYTES);
    expect(Buffer.byteLength(JSON.stringify(teamsPayload(card)))).toBe(payloadBytes(card));
    expect(parseWarnings(card)).toEqual([]);
  };

  it("lists as many prefixes as fit and counts the rest", () => {
    const prefixes = Array.from({ length: 5000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    const card = cardOf(violationAlert(demoFinding({ remoteAddressPrefixes: prefixes })));

    fits(card);
    const shown = factValue(card, "Remote prefixes")!;
    const [, more] = /… and (\d+) more$/.exec(shown)!;
    expect(shown.split(", ").length - 1 + Number(more)).toBe(5000);
    expect(shown.startsWith("10.0.0.0/24, 10.0.1.0/24")).toBe(true);
  });

  it("cuts a very long sentence and says how much was cut", () => {
    const card = cardOf({ ...violationAlert(), title: "x".repeat(200_000) });

    fits(card);
    expect(visibleText(card)).toMatch(/x… \(\d+ more characters\)/);
  });

  it("shows ten of 1000 scan errors and counts the rest", () => {
    const card = cardOf(scanIncompleteAlert(1000));

    fits(card);
    const text = visibleText(card);
    expect(text).toContain("Errors (1000)");
    expect(text.match(/^(resource-graph|tenant-resolution): /gm)).toHaveLength(10);
    expect(text).toContain("… and 990 more");
  });

  it("shows the first ten of 500 digest items, most severe first, and counts the rest", () => {
    const alert = digestAlert(500);
    const card = cardOf(alert);

    fits(card);
    const text = visibleText(card);
    expect(text).toContain(`500 alerts from scan ${SCAN_ID}`);
    expect(text).toContain(alert.digest!.items[0]!.text);
    expect(text).not.toContain(alert.digest!.items[10]!.text);
    expect(text).toContain("… and 490 more");
  });

  it("stays under the limit when every field is huge and expands in JSON", () => {
    // A control character takes six bytes in JSON, so character counts alone cannot keep the size.
    const huge = "\u0001".repeat(60_000);
    const finding = demoFinding({
      resourceId: huge,
      localVnetId: huge,
      localSubscriptionId: huge,
      remoteVnetId: huge,
      remoteSubscriptionId: huge,
      remoteTenantName: huge,
      allowlistEntryId: huge,
      remoteAddressPrefixes: Array.from({ length: 1000 }, () => huge),
    });
    const entry = { id: huge, owner: huge, reason: huge, expiresOn: huge, ticket: huge, matches: huge };
    const errors = Array.from({ length: 1000 }, () => ({ source: huge, message: huge }));
    const items = Array.from({ length: 500 }, () => ({
      kind: "violation-new" as const,
      severity: "high" as const,
      text: huge,
    }));
    const base = { ...violationAlert(finding), scanId: huge, title: huge, entry };

    for (const kind of ALERT_KINDS) {
      const alert: AlertMessage = {
        ...base,
        kind,
        scan: {
          complete: false,
          errors,
          stats: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`${huge}${i}`, i])),
        },
        digest: { total: 500, counts: { "violation-new": 500 }, items },
      };
      fits(cardOf(alert));
    }
  });
});

describe("teamsPayload", () => {
  it("wraps the card in exactly the envelope Teams Workflows expect", () => {
    const card = cardOf(violationAlert());

    expect(JSON.parse(JSON.stringify(teamsPayload(card)))).toStrictEqual({
      type: "message",
      attachments: [
        { contentType: "application/vnd.microsoft.card.adaptive", contentUrl: null, content: card },
      ],
    });
  });
});
