// Checks the signature cross-tenant-scanner puts on each alert it posts to WEBHOOK_URL.
// Copy it into your receiver. It needs only Node's crypto module.
//
//   X-Signature-Timestamp: <Unix time in seconds when the alert was signed>
//   X-Signature-256:       sha256=<hex HMAC-SHA256 of `${timestamp}.${rawBody}` with WEBHOOK_SECRET>
//
// Sign over the raw body bytes as received, before any JSON parsing. The timestamp is signed
// with the body, so a captured request cannot be replayed after `maxAgeSeconds`.
const { Buffer } = require("node:buffer");
const { createHmac, timingSafeEqual } = require("node:crypto");

const FIVE_MINUTES = 5 * 60;

/**
 * @param {{ secret: string | Buffer, body: string | Buffer, signature: unknown, timestamp: unknown,
 *           now?: number, maxAgeSeconds?: number }} input now: Unix seconds (defaults to the clock)
 * @returns {boolean} true only for a signature made with the secret over this body and a fresh timestamp
 */
function verifyWebhookSignature({ secret, body, signature, timestamp, now, maxAgeSeconds = FIVE_MINUTES }) {
  // Missing, repeated (arrays) or malformed headers are refused, never thrown on.
  if (typeof signature !== "string" || typeof timestamp !== "string") return false;
  if (!/^\d{1,12}$/.test(timestamp) || !/^sha256=[0-9a-f]{64}$/.test(signature)) return false;
  const current = now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(current - Number(timestamp)) > maxAgeSeconds) return false;
  const expected = createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest();
  const given = Buffer.from(signature.slice("sha256=".length), "hex");
  // Both are 32 bytes here (checked above), so the constant-time comparison cannot throw.
  return given.length === expected.length && timingSafeEqual(given, expected);
}

module.exports = { verifyWebhookSignature };
