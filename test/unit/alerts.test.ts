import { describe, expect, it } from "@jest/globals";
import { forDestination, signature } from "../../src/alerts/dispatch";
import { digestOf, queueMessages, scanAlerts } from "../../src/alerts/emit";
import type { AlertMessage } from "../../src/findings/alert-message";
import { parseRetryAfter } from "../../src/alerts/post";
import { alertKindOf } from "../../src/findings/transitions";
import { hostAllowed, loadConfig } from "../../src/config";
import { InputError } from "../../src/errors";
import type { FindingState, HistoryEvent, StoredFinding } from "../../src/findings/reconcile";
import type { ScanReport } from "../../src/findings/report";

const alert = (n: number, over: Partial<AlertMessage> = {}): AlertMessage => ({
  schemaVersion: 1,
  kind: "violation-new",
  idempotencyKey: `f${n}:violation-new:s1`,
  scanId: "s1",
  createdAt: "2026-11-29T00:00:00Z",
  severity: n % 2 ? "high" : "low",
  title: `alert ${n}`,
  ...over,
});

const withHistory = (...steps: [HistoryEvent["event"], FindingState][]) =>
  ({
    history: steps.map(([event, state]) => ({ at: "", scanId: "s", event, state })),
  }) as unknown as StoredFinding;

describe("which changes raise alerts", () => {
  it.each([
    [[["new", "open"]], "violation-new"],
    [[["new", "allowed"]], undefined],
    [[["new", "expired-exception"]], "exception-expired"],
    [
      [
        ["new", "open"],
        ["resolved", "resolved"],
      ],
      "finding-resolved",
    ],
    [
      [
        ["new", "allowed"],
        ["resolved", "resolved"],
      ],
      undefined,
    ],
    [
      [
        ["new", "open"],
        ["resolved", "resolved"],
        ["reopened", "open"],
      ],
      "violation-reopened",
    ],
    [
      [
        ["new", "allowed"],
        ["changed", "expired-exception"],
      ],
      "exception-expired",
    ],
    [
      [
        ["new", "allowed"],
        ["changed", "open"],
      ],
      "violation-new",
    ],
    [
      [
        ["new", "open"],
        ["changed", "allowed"],
      ],
      undefined,
    ],
    [
      [
        ["new", "open"],
        ["changed", "open"],
      ],
      undefined,
    ],
  ] as [[HistoryEvent["event"], FindingState][], string | undefined][])("%j -> %s", (steps, kind) => {
    expect(alertKindOf(withHistory(...steps))).toBe(kind);
  });
});

describe("queue messages", () => {
  it("sends alerts one by one below the digest threshold and one digest per scan from it on", () => {
    expect(queueMessages([alert(1), alert(2)], 3)).toHaveLength(2);
    const many = Array.from({ length: 120 }, (_, i) => alert(i));
    const messages = queueMessages([...many, alert(999, { scanId: "s2", idempotencyKey: "other" })], 50);
    expect(messages.map((m) => m.kind)).toEqual(["digest", "violation-new"]);
    expect(messages[0]!.digest).toMatchObject({ total: 120, counts: { "violation-new": 120 } });
    expect(messages[0]!.digest!.items).toHaveLength(50);
    expect(messages[0]!.digest!.items[0]!.severity).toBe("high");
    expect(Buffer.from(JSON.stringify(messages[0])).toString("base64").length).toBeLessThan(64 * 1024);
  });

  it("gives the same digest key to the same alerts, whatever their order", () => {
    const a = [alert(1), alert(2), alert(3)];
    expect(digestOf("s1", a).idempotencyKey).toBe(digestOf("s1", [...a].reverse()).idempotencyKey);
    expect(digestOf("s1", a).idempotencyKey).not.toBe(digestOf("s1", a.slice(1)).idempotencyKey);
  });

  it("warns of allowlist entries about to expire, once per entry and date, and of incomplete scans", () => {
    const report = {
      scanId: "s9",
      startedAt: "2026-11-29T10:00:00Z",
      finishedAt: "2026-11-29T10:01:00Z",
      complete: false,
      errors: [{ source: "x", message: "y" }],
      stats: {},
    } as unknown as ScanReport;
    const entries = [
      { id: "soon", tenantId: "t", owner: "o", reason: "r", expiresOn: "2026-12-05" },
      { id: "later", tenantId: "t", owner: "o", reason: "r", expiresOn: "2027-06-01" },
      { id: "gone", tenantId: "t", owner: "o", reason: "r", expiresOn: "2026-11-01" },
      { id: "never", tenantId: "t", owner: "o", reason: "r" },
    ];
    const alerts = scanAlerts(report, entries, loadConfig({}));
    expect(alerts.map((a) => [a.kind, a.idempotencyKey])).toEqual([
      ["scan-incomplete", "scan-incomplete:s9"],
      ["exception-expiring", "exception-expiring:soon:2026-12-05"],
    ]);
    expect(alerts[1]!.title).toMatch(/expires on 2026-12-05, in 7 day\(s\)/);
  });
});

describe("delivery rules", () => {
  it("filters by each destination's minimum severity, digest items included", () => {
    const teams = { name: "teams" as const, url: "https://x", minSeverity: "medium" as const };
    expect(forDestination(alert(1), teams)).toBeDefined();
    expect(forDestination(alert(2), teams)).toBeUndefined();
    const digest = digestOf("s1", [alert(1), alert(2), alert(3)]);
    expect(forDestination(digest, teams)!.digest!.items.map((i) => i.severity)).toEqual(["high", "high"]);
    expect(forDestination(digestOf("s1", [alert(2)]), teams)).toBeUndefined();
  });

  it("signs the timestamp and the exact body with HMAC-SHA256", () => {
    // openssl dgst -sha256 -hmac key <<< "1764410400.The quick brown fox jumps over the lazy dog" (no newline)
    expect(signature("key", "1764410400", "The quick brown fox jumps over the lazy dog")).toBe(
      "sha256=ddef8ca513119279f7b8b65125e1e40d69a5d7231b65d1709bdc70fb553302cc",
    );
  });

  it("reads Retry-After in seconds or as a date", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter("Sun, 29 Nov 2026 10:00:05 GMT", Date.parse("2026-11-29T10:00:00Z"))).toBe(5000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it("accepts webhook hosts only from the allowed patterns and never echoes a webhook URL", () => {
    expect(hostAllowed("https://prod-12.westeurope.logic.azure.com/workflows/x", ["*.logic.azure.com"])).toBe(
      true,
    );
    expect(hostAllowed("https://logic.azure.com.evil.example/x", ["*.logic.azure.com"])).toBe(false);
    expect(hostAllowed("https://evil-logic.azure.com/x", ["*.logic.azure.com"])).toBe(false);
    expect(hostAllowed("https://127.0.0.1:8443/teams", ["127.0.0.1"])).toBe(true);
    const secretUrl = "https://hooks.example.org/services/T000/B000/SECRETTOKEN";
    let message = "";
    try {
      loadConfig({ WEBHOOK_URL: secretUrl });
    } catch (error) {
      message = (error as InputError).message;
    }
    expect(message).toMatch(/WEBHOOK_URL: its host is not in ALERT_ALLOWED_HOSTS/);
    expect(message).not.toContain("SECRETTOKEN");
    try {
      loadConfig({ TEAMS_WEBHOOK_URL: "http://x.webhook.office.com/a?sig=SIGNATURE" });
    } catch (error) {
      message = (error as InputError).message;
    }
    expect(message).toMatch(/TEAMS_WEBHOOK_URL: must be an https URL \(or empty\)/);
    expect(message).not.toContain("SIGNATURE");
  });
});
