import { request, type Agent } from "node:https";
import type { LookupAddress } from "node:dns";
import { checkedAddress, type SendGuard } from "./webhook-guard";

export interface PostResult {
  status: number;
  /** From Retry-After (seconds or an HTTP date), when the receiver sent one. */
  retryAfterMs?: number;
}

export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The most of a receiver's answer read: only its status counts, the body is dropped. */
export const MAX_ANSWER_BYTES = 4096;

/**
 * POSTs JSON over https and reports the answer. The host and the address it resolves to are
 * checked first (`guard`, see webhook-guard.ts) and the connection goes to that checked address.
 * Redirects are not followed (a 3xx is just an answer); the URL never appears in errors, since
 * webhook URLs carry their own credentials. `timeoutMs` is a deadline for the whole exchange
 * (connect, send, answer), not an idle timeout: a receiver that answers a byte at a time cannot
 * hold a dispatch longer, and no more than MAX_ANSWER_BYTES of its answer are read.
 */
export async function postJson(
  url: string,
  body: string,
  options: { headers?: Record<string, string>; timeoutMs: number; agent?: Agent; guard: SendGuard },
): Promise<PostResult> {
  const target = new URL(url);
  if (target.protocol !== "https:") throw new Error("Webhook URLs must use https.");
  const { address, family } = await checkedAddress(target, options.guard);
  // Connect to the address just checked, not to whatever a second DNS lookup would say.
  const pinned = (
    _host: string,
    lookupOptions: { all?: boolean },
    callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
  ) => (lookupOptions.all ? callback(null, [{ address, family }]) : callback(null, address, family));
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      outcome();
    };
    const req = request(
      target,
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          ...options.headers,
        },
        lookup: pinned as never,
        ...(options.agent ? { agent: options.agent } : {}),
      },
      (res) => {
        const retryAfterMs = parseRetryAfter(res.headers["retry-after"]);
        const answer = () =>
          finish(() =>
            resolve({ status: res.statusCode ?? 0, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) }),
          );
        let read = 0;
        res.on("data", (chunk: Buffer) => {
          read += chunk.length;
          // Enough read: the status is all that counts, so stop reading and let go of the socket.
          if (read >= MAX_ANSWER_BYTES) {
            answer();
            res.destroy();
          }
        });
        res.on("end", answer);
        res.on("error", () =>
          finish(() => reject(new Error(`The webhook at ${target.host} broke off its answer.`))),
        );
      },
    );
    const deadline = setTimeout(() => {
      const error = new Error(`The webhook at ${target.host} did not answer within ${options.timeoutMs} ms.`);
      finish(() => reject(error));
      req.destroy(error);
    }, options.timeoutMs);
    // Node's network errors name host and port, never the path that holds the webhook's key.
    req.on("error", (error) => finish(() => reject(new Error(`${error.message} (${target.host})`))));
    req.end(body);
  });
}
