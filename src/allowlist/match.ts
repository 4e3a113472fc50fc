import { matchKeyOf, type AllowlistEntry } from "./entry";

/** What an allowlist entry is compared with: the remote side of a peering and its local VNet. */
export interface PeeringSides {
  localVnetId: string;
  remoteTenantId: string | null;
  remoteSubscriptionId: string;
  remoteVnetId: string;
}

const same = (a: string | null, b: string) => a !== null && a.toLowerCase() === b.toLowerCase();

/** The local VNet lies inside `scope` on a path-segment boundary (`/rg-a` does not cover `/rg-ab`). */
export function withinScope(localVnetId: string, scope: string): boolean {
  const id = localVnetId.toLowerCase();
  const prefix = scope.toLowerCase();
  return id === prefix || id.startsWith(`${prefix}/`);
}

export function entryMatches(entry: AllowlistEntry, peering: PeeringSides): boolean {
  const key = matchKeyOf(entry);
  const value = entry[key]!;
  const remote =
    key === "tenantId"
      ? peering.remoteTenantId
      : key === "subscriptionId"
        ? peering.remoteSubscriptionId
        : peering.remoteVnetId;
  return (
    same(remote, value) &&
    (entry.localScope === undefined || withinScope(peering.localVnetId, entry.localScope))
  );
}

/** An entry is good through the end of its `expiresOn` day, UTC. */
export function isExpired(entry: AllowlistEntry, now: Date): boolean {
  return entry.expiresOn !== undefined && now.getTime() > Date.parse(`${entry.expiresOn}T23:59:59.999Z`);
}

export interface AllowlistVerdict {
  /** A matching entry still in force, if any. */
  active?: AllowlistEntry;
  /** A matching entry that has expired, when no entry is in force. */
  expired?: AllowlistEntry;
}

export function judgeAgainstAllowlist(
  entries: AllowlistEntry[],
  peering: PeeringSides,
  now: Date,
): AllowlistVerdict {
  const matching = entries.filter((entry) => entryMatches(entry, peering));
  const active = matching.find((entry) => !isExpired(entry, now));
  return active ? { active } : matching.length > 0 ? { expired: matching[0] } : {};
}
