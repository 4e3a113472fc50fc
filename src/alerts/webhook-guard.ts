import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { hostAllowed } from "../config";

/**
 * Where a webhook may not point: the app's own machine, its network and the platform's
 * services. A host name in ALERT_ALLOWED_HOSTS can still resolve to any of these (a DNS record
 * is the record owner's choice), so every request checks the addresses it is about to use.
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are checked against the IPv4 ranges.
 */
const BLOCKED = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8], // "this network"
  ["10.0.0.0", 8], // private (RFC 1918)
  ["100.64.0.0", 10], // shared address space (RFC 6598)
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local, including the instance metadata service 169.254.169.254
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, and broadcast
  ["168.63.129.16", 32], // Azure's platform endpoint (WireServer) inside every virtual network
] as const) {
  BLOCKED.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 128], // unspecified
  ["::1", 128], // loopback
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["ff00::", 8], // multicast
  ["64:ff9b::", 96], // NAT64, which reaches IPv4 addresses through the gateway
  ["2002::", 16], // 6to4, likewise
] as const) {
  BLOCKED.addSubnet(network, prefix, "ipv6");
}

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true; // not an address at all: never connect to it
  return BLOCKED.check(address, family === 4 ? "ipv4" : "ipv6");
}

export interface SendGuard {
  /** ALERT_ALLOWED_HOSTS. */
  allowedHosts: readonly string[];
  /** ALERT_ALLOW_PRIVATE_ADDRESSES: tests and the local demo post to a sink on 127.0.0.1. */
  allowPrivateAddresses: boolean;
  /** Resolves a host name to its addresses; tests give their own. */
  resolve?: (host: string) => Promise<string[]>;
}

/** The webhook is not to be called at all (its host or address is refused); retrying will not help. */
export class WebhookRefusedError extends Error {
  override name = "WebhookRefusedError";
}

const resolveAll = async (host: string) => (await lookup(host, { all: true })).map((a) => a.address);

/**
 * The address to connect to for `url`, checked now, at send time: the host must be in
 * ALERT_ALLOWED_HOSTS and every address it resolves to must be public (else an attacker's DNS
 * could answer with a good address at one lookup and a private one at the next). The request
 * then connects to exactly this address. Errors name the host, never the URL's path or query,
 * which hold the webhook's key.
 */
export async function checkedAddress(
  url: URL,
  guard: SendGuard,
): Promise<{ address: string; family: 4 | 6 }> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!hostAllowed(url.href, guard.allowedHosts)) {
    throw new WebhookRefusedError(
      `The webhook host ${host} is not in ALERT_ALLOWED_HOSTS; nothing was sent.`,
    );
  }
  const addresses = isIP(host) ? [host] : await (guard.resolve ?? resolveAll)(host);
  if (addresses.length === 0) throw new Error(`The webhook host ${host} has no address.`);
  if (!guard.allowPrivateAddresses) {
    const blocked = addresses.find(isPrivateAddress);
    if (blocked) {
      throw new WebhookRefusedError(
        `The webhook host ${host} resolves to ${blocked}, a loopback, link-local or private address; nothing was sent.`,
      );
    }
  }
  const address = addresses[0]!;
  return { address, family: isIP(address) === 6 ? 6 : 4 };
}
