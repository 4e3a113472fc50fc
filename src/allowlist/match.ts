import { idKey } from "../azure/resource-id";
import { kindsOf, matchKeyOf, type AllowlistEntry } from "./entry";

/** What an allowlist entry is compared with: the finding's kind, its local resource and its other side. */
export interface FindingSides {
  kind: string;
  /** Where `localScope` is compared: the local VNet, private endpoint, resource, or role assignment scope. */
  localResourceId: string;
  remoteTenantId: string | null;
  remoteSubscriptionId: string;
  /** The remote VNet, the other tenant's resource or private endpoint; "" when there is none. */
  remoteResourceId: string;
  /** The principal from another tenant, for role assignment findings. */
  principalId?: string;
}

const same = (a: string | null, b: string) => a !== null && idKey(a) === idKey(b);

/** The local resource lies inside `scope` on a path-segment boundary (`/rg-a` does not cover `/rg-ab`). */
export function withinScope(localResourceId: string, scope: string): boolean {
  const id = idKey(localResourceId);
  const prefix = idKey(scope);
  return id === prefix || id.startsWith(`${prefix}/`);
}

export function entryMatches(entry: AllowlistEntry, sides: FindingSides): boolean {
  if (!kindsOf(entry).includes(sides.kind)) return false;
  const key = matchKeyOf(entry);
  const value = entry[key]!;
  const remote =
    key === "tenantId"
      ? sides.remoteTenantId
      : key === "subscriptionId"
        ? sides.remoteSubscriptionId
        : key === "principalId"
          ? (sides.principalId ?? null)
          : // remoteVnetId is the older name of remoteResourceId.
            sides.remoteResourceId || null;
  return (
    same(remote, value) &&
    (entry.localScope === undefined || withinScope(sides.localResourceId, entry.localScope))
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
  sides: FindingSides,
  now: Date,
): AllowlistVerdict {
  const matching = entries.filter((entry) => entryMatches(entry, sides));
  const active = matching.find((entry) => !isExpired(entry, now));
  return active ? { active } : matching.length > 0 ? { expired: matching[0] } : {};
}
