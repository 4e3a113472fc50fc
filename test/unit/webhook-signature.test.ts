import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";
import { loadConfig } from "../../src/config";
import {
  destinationsOf,
  requestFor,
  SIGNATURE_HEADER,
  SIGNATURE_TIMESTAMP_HEADER,
} from "../../src/alerts/dispatch";
import { violationAlert } from "../helpers/alert-samples";

type Verify = (input: {
  secret: string | Buffer;
  body: string | Buffer;
  signature: unknown;
  timestamp: unknown;
  now?: number;
  maxAgeSeconds?: number;
}) => boolean;

// The verifier the README shows receivers, exactly as it ships in examples/.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { verifyWebhookSignature } = require(
  join(__dirname, "../../../examples/verify-webhook-signature.js"),
) as {
  verifyWebhookSignature: Verify;
};

/** The signed request the dispatcher would send to WEBHOOK_URL at `at`, with `secret`. */
function signed(secret: string, at = new Date("2026-11-29T10:00:00Z")) {
  const config = loadConfig({
    WEBHOOK_URL: "https://hooks.example.com/alerts",
    ALERT_ALLOWED_HOSTS: "hooks.example.com",
    WEBHOOK_SECRET: secret,
  });
  const destination = destinationsOf(config).find((d) => d.name === "webhook")!;
  const { body, headers } = requestFor(violationAlert(), destination, config, at);
  return {
    body,
    signature: headers[SIGNATURE_HEADER],
    timestamp: headers[SIGNATURE_TIMESTAMP_HEADER],
    now: Math.floor(at.getTime() / 1000),
  };
}

describe("signed webhooks and the receivers' verifier (examples/verify-webhook-signature.js)", () => {
  it("accepts what the dispatcher signs, with the secret taken byte for byte", () => {
    const secret = "  spaced secret\t";
    const request = signed(secret);
    expect(request.timestamp).toBe("1795946400");
    expect(verifyWebhookSignature({ secret, ...request })).toBe(true);
    expect(verifyWebhookSignature({ secret: secret.trim(), ...request })).toBe(false);
  });

  it("refuses a changed body, a changed timestamp or another secret", () => {
    const request = signed("s3cret");
    expect(verifyWebhookSignature({ secret: "s3cret", ...request, body: `${request.body} ` })).toBe(false);
    expect(verifyWebhookSignature({ secret: "s3cret", ...request, timestamp: String(request.now + 1) })).toBe(
      false,
    );
    expect(verifyWebhookSignature({ secret: "other", ...request })).toBe(false);
  });

  it("refuses timestamps more than five minutes away", () => {
    const request = signed("s3cret");
    expect(verifyWebhookSignature({ secret: "s3cret", ...request, now: request.now + 300 })).toBe(true);
    expect(verifyWebhookSignature({ secret: "s3cret", ...request, now: request.now + 301 })).toBe(false);
    expect(verifyWebhookSignature({ secret: "s3cret", ...request, now: request.now - 301 })).toBe(false);
  });

  it("answers false, never throws, on missing, short, long, repeated or malformed headers", () => {
    const request = signed("s3cret");
    const bad: [unknown, unknown][] = [
      [undefined, request.timestamp],
      [request.signature, undefined],
      ["", request.timestamp],
      ["sha256=", request.timestamp],
      ["sha256=abc", request.timestamp],
      [`${request.signature}00`, request.timestamp],
      [String(request.signature).toUpperCase(), request.timestamp],
      [[request.signature, request.signature], request.timestamp],
      [request.signature, "1e9"],
      [request.signature, ""],
      [request.signature, [request.timestamp]],
    ];
    for (const [signature, timestamp] of bad) {
      expect(
        verifyWebhookSignature({
          secret: "s3cret",
          body: request.body,
          signature,
          timestamp,
          now: request.now,
        }),
      ).toBe(false);
    }
  });
});
