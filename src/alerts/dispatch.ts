import { createHash, createHmac } from "node:crypto";
import type { Agent } from "node:https";
import type { Config } from "../config";
import { errorMessage } from "../errors";
import type { Logger } from "../log";
import { AlertDeliveries } from "../store/alert-deliveries";
import type { Storage } from "../store/storage";
import type { Severity } from "../scanners/finding";
import { alertCard, teamsPayload } from "./card";
import { POISON_QUEUE } from "./emit";
import { alertMessageSchema, atLeast, type AlertMessage } from "../findings/alert-message";
import { postJson } from "./post";
import { WebhookRefusedError } from "./webhook-guard";

export interface Destination {
  name: "teams" | "webhook";
  url: string;
  minSeverity: Severity;
  secret?: string;
}

/** The configured destinations: a Teams Workflows webhook and a generic JSON webhook, each optional. */
export function destinationsOf(config: Config): Destination[] {
  const destinations: Destination[] = [];
  if (config.TEAMS_WEBHOOK_URL) {
    destinations.push({
      name: "teams",
      url: config.TEAMS_WEBHOOK_URL,
      minSeverity: config.TEAMS_MIN_SEVERITY,
    });
  }
  if (config.WEBHOOK_URL) {
    destinations.push({
      name: "webhook",
      url: config.WEBHOOK_URL,
      minSeverity: config.WEBHOOK_MIN_SEVERITY,
      ...(config.WEBHOOK_SECRET ? { secret: config.WEBHOOK_SECRET } : {}),
    });
  }
  return destinations;
}

/** The alert as a destination wants it: below its minimum severity nothing, a digest only its own items. */
export function forDestination(alert: AlertMessage, destination: Destination): AlertMessage | undefined {
  if (!alert.digest) return atLeast(alert.severity, destination.minSeverity) ? alert : undefined;
  const items = alert.digest.items.filter((item) => atLeast(item.severity, destination.minSeverity));
  return items.length > 0 ? { ...alert, digest: { ...alert.digest, items } } : undefined;
}

export const SIGNATURE_HEADER = "x-signature-256";
export const SIGNATURE_TIMESTAMP_HEADER = "x-signature-timestamp";

/**
 * HMAC-SHA256 of `${timestamp}.${body}`, as `sha256=<hex>`: receivers recompute it with the shared
 * secret (examples/verify-webhook-signature.js) and refuse old timestamps, so a captured request
 * cannot be replayed later. `timestamp` is Unix time in seconds.
 */
export const signature = (secret: string, timestamp: string, body: string) =>
  `sha256=${createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex")}`;

/**
 * The key as an HTTP header value: as it is when it is plain visible ASCII (every key we make),
 * else its SHA-256, so a key that a queued message carries with a control character or non-ASCII
 * text cannot make Node refuse the header (and the alert end in poison after every retry).
 */
export const idempotencyHeader = (key: string): string =>
  /^[\x21-\x7E]+$/.test(key) ? key : `sha256-${createHash("sha256").update(key).digest("hex")}`;

/** Where `GET /api/report` answers, under the app's public address. */
export const reportUrlOf = (publicBaseUrl: string): string =>
  `${publicBaseUrl.replace(/\/+$/, "")}/api/report`;

export function requestFor(
  alert: AlertMessage,
  destination: Destination,
  config: Config,
  now: Date = new Date(),
): { body: string; headers: Record<string, string> } {
  if (destination.name === "teams") {
    return {
      body: JSON.stringify(
        teamsPayload(
          alertCard(alert, {
            portalUrl: config.AZURE_PORTAL_URL,
            ...(config.PUBLIC_BASE_URL ? { reportUrl: reportUrlOf(config.PUBLIC_BASE_URL) } : {}),
          }),
        ),
      ),
      headers: {},
    };
  }
  const body = JSON.stringify(alert);
  const timestamp = String(Math.floor(now.getTime() / 1000));
  return {
    body,
    headers: {
      "x-alert-kind": alert.kind,
      "x-idempotency-key": idempotencyHeader(alert.idempotencyKey),
      ...(destination.secret
        ? {
            [SIGNATURE_TIMESTAMP_HEADER]: timestamp,
            [SIGNATURE_HEADER]: signature(destination.secret, timestamp, body),
          }
        : {}),
    },
  };
}

/** The queue should offer the message again later (the host moves it to alerts-poison after maxDequeueCount). */
export class TransientDeliveryError extends Error {
  override name = "TransientDeliveryError";
}

export interface DispatchDeps {
  storage: Storage;
  config: Config;
  log: Logger;
  /** The https agent for webhook requests (tests and the demo trust their local sink through it). */
  agent?: Agent;
  sleep?: (ms: number) => Promise<void>;
  /** First wait between tries when the receiver gives no Retry-After; doubles each try. */
  backoffMs?: number;
  /** Resolves webhook host names (tests stand in for DNS). */
  resolve?: (host: string) => Promise<string[]>;
}

export interface DispatchResult {
  delivered: string[];
  skipped: string[];
  /** Why the message went to alerts-poison, when it did. */
  poisoned?: string;
}

/** Waits longer than this belong to the queue, not to a running function. */
const MAX_WAIT_MS = 30_000;

type Outcome = { ok: true } | { ok: false; permanent: boolean; reason: string };

async function post(alert: AlertMessage, destination: Destination, deps: DispatchDeps): Promise<Outcome> {
  const { body, headers } = requestFor(alert, destination, deps.config);
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let reason = "";
  for (let attempt = 1; attempt <= deps.config.ALERT_DELIVERY_ATTEMPTS; attempt++) {
    let wait: number | undefined;
    try {
      const result = await postJson(destination.url, body, {
        headers,
        timeoutMs: deps.config.ALERT_TIMEOUT_SECONDS * 1000,
        ...(deps.agent ? { agent: deps.agent } : {}),
        guard: {
          allowedHosts: deps.config.ALERT_ALLOWED_HOSTS,
          allowPrivateAddresses: deps.config.ALERT_ALLOW_PRIVATE_ADDRESSES,
          ...(deps.resolve ? { resolve: deps.resolve } : {}),
        },
      });
      if (result.status >= 200 && result.status < 300) return { ok: true };
      // The receiver's answer body is not logged: it is the receiver's text, and may echo secrets.
      reason = `HTTP ${result.status}`;
      const retryable = result.status === 408 || result.status === 429 || result.status >= 500;
      if (!retryable) return { ok: false, permanent: true, reason };
      wait = result.retryAfterMs;
    } catch (error) {
      reason = errorMessage(error);
      // A refused host or address is configuration, not an outage: trying again changes nothing.
      if (error instanceof WebhookRefusedError) return { ok: false, permanent: true, reason };
    }
    deps.log("warn", "alert-post-failed", {
      destination: destination.name,
      key: alert.idempotencyKey,
      attempt,
      reason,
    });
    if (attempt === deps.config.ALERT_DELIVERY_ATTEMPTS) break;
    const delay = wait ?? (deps.backoffMs ?? 1000) * 2 ** (attempt - 1);
    if (delay > MAX_WAIT_MS) break;
    await sleep(delay);
  }
  return { ok: false, permanent: false, reason };
}

function parseMessage(raw: unknown): AlertMessage | string {
  let data = raw;
  if (typeof raw === "string") {
    try {
      data = JSON.parse(raw);
    } catch {
      return "the message is not JSON";
    }
  }
  const parsed = alertMessageSchema.safeParse(data);
  return parsed.success
    ? parsed.data
    : `the message is not an alert message v1 (${parsed.error.issues[0]?.message})`;
}

/**
 * Delivers one queue message to every destination that wants it, each at most once. A receiver
 * refusing it for good (4xx other than 408/429) sends the message to alerts-poison at once;
 * one that is down or throttling makes this throw, so the queue offers the message again.
 */
export async function dispatchAlert(raw: unknown, deps: DispatchDeps): Promise<DispatchResult> {
  const result: DispatchResult = { delivered: [], skipped: [] };
  const alert = parseMessage(raw);
  if (typeof alert === "string") {
    await poison(typeof raw === "string" ? raw : JSON.stringify(raw), alert, deps);
    return { ...result, poisoned: alert };
  }
  const deliveries = new AlertDeliveries(deps.storage);
  const permanent: string[] = [];
  const transient: string[] = [];
  for (const destination of destinationsOf(deps.config)) {
    const wanted = forDestination(alert, destination);
    if (!wanted) {
      result.skipped.push(destination.name);
      continue;
    }
    const claim = await deliveries.claim(destination.name, alert.idempotencyKey);
    if (claim === "delivered") {
      result.skipped.push(destination.name);
      continue;
    }
    if (claim === "busy") {
      transient.push(`${destination.name}: another dispatcher is sending this alert`);
      continue;
    }
    const outcome = await post(wanted, destination, deps);
    if (outcome.ok) {
      await deliveries.delivered(destination.name, alert.idempotencyKey);
      result.delivered.push(destination.name);
      deps.log("info", "alert-delivered", {
        destination: destination.name,
        key: alert.idempotencyKey,
        kind: alert.kind,
      });
      continue;
    }
    await deliveries.release(destination.name, alert.idempotencyKey);
    (outcome.permanent ? permanent : transient).push(`${destination.name}: ${outcome.reason}`);
  }
  if (permanent.length > 0) {
    const reason = permanent.join("; ");
    await poison(JSON.stringify(alert), reason, deps);
    return { ...result, poisoned: reason };
  }
  if (transient.length > 0)
    throw new TransientDeliveryError(
      `Alert ${alert.idempotencyKey} not delivered yet: ${transient.join("; ")}`,
    );
  return result;
}

/** Puts the message text on alerts-poison, base64 like every queue message, for `alerts replay-poison`. */
async function poison(text: string, reason: string, deps: DispatchDeps): Promise<void> {
  const queue = await deps.storage.queue(POISON_QUEUE);
  await queue.sendMessage(Buffer.from(text).toString("base64"));
  deps.log("error", "alert-poisoned", { reason });
}
