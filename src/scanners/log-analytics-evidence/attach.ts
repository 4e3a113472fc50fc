import { cleanText, MAX_NAME_LENGTH } from "../../text";
import { GUID_PATTERN } from "../../validation";
import type { Evidence, SignInSummary } from "../finding";
import type { Finding } from "../findings";
import { MAX_USERS, type CreatorRow, type SignInRow } from "./query";

export type Creator = NonNullable<Evidence["createdBy"]>;

/** `https://sts.windows.net/{tenantId}/`: the issuer a guest's claims name as their home. */
const STS_ISSUER = /^https:\/\/sts\.windows\.net\/([0-9a-f-]{36})\/?$/i;

/**
 * Who made a write, as the Activity log's claims say it. The caller's home tenant is the
 * `identityprovider` claim's tenant where it names one (a guest signs in to our tenant, `tenantid`,
 * but comes from theirs), else `tenantid`. Every value was written by someone else: cleaned and bound.
 */
export function creatorOf(row: CreatorRow): Creator | null {
  const at = Date.parse(row.TimeGenerated);
  if (Number.isNaN(at)) return null;
  const issuer = row.IdentityProvider.match(STS_ISSUER)?.[1];
  const home = issuer ?? (GUID_PATTERN.test(row.CallerTenantId) ? row.CallerTenantId : null);
  const principalId = GUID_PATTERN.test(row.CallerObjectId) ? row.CallerObjectId : row.Caller;
  if (!principalId) return null;
  const name = row.CallerName || row.Caller;
  return {
    principalId: cleanText(principalId.toLowerCase(), MAX_NAME_LENGTH),
    principalName: name ? cleanText(name, MAX_NAME_LENGTH) : null,
    homeTenantId: home ? home.toLowerCase() : null,
    at: new Date(at).toISOString(),
    source: "activity-log",
  };
}

/** The earlier of two records of who created something: the first write is the creation. */
export function earliestCreator(
  a: Creator | null | undefined,
  b: Creator | null | undefined,
): Creator | null {
  if (!a) return b ?? null;
  if (!b) return a;
  return Date.parse(b.at) < Date.parse(a.at) ? b : a;
}

/** Resource (lower-case) -> the first write's creator, from rows in any order. */
export function firstWrites(rows: readonly CreatorRow[]): Map<string, Creator> {
  const first = new Map<string, Creator>();
  for (const row of rows) {
    const creator = creatorOf(row);
    if (!creator) continue;
    const key = row.ResourceId.toLowerCase();
    first.set(key, earliestCreator(first.get(key), creator)!);
  }
  return first;
}

/** `direction|tenant` -> the sign-ins of every table added up. */
export function signInSummaries(rows: readonly SignInRow[], window: string): Map<string, SignInSummary> {
  const out = new Map<string, SignInSummary>();
  for (const row of rows) {
    const key = `${row.Direction}|${row.ForeignTenantId.toLowerCase()}`;
    const sum = out.get(key) ?? { window, count: 0, first: null, last: null, users: [] };
    const iso = (s: string | null | undefined) =>
      s && !Number.isNaN(Date.parse(s)) ? new Date(s).toISOString() : null;
    const first = iso(row.First);
    const last = iso(row.Last);
    out.set(key, {
      window,
      count: sum.count + row.SignIns,
      first: first && (!sum.first || first < sum.first) ? first : sum.first,
      last: last && (!sum.last || last > sum.last) ? last : sum.last,
      users: [...new Set([...sum.users, ...row.Users.map((u) => cleanText(u, MAX_NAME_LENGTH))])].slice(
        0,
        MAX_USERS,
      ),
    });
  }
  return out;
}

/** The resource whose first write created what the finding is about, where the Activity log can say. */
export function createdResourceOf(finding: Finding): string | null {
  if (finding.kind === "vnet-peering") return finding.resourceId;
  if (finding.kind === "private-endpoint-outbound") return finding.privateEndpointId;
  return null;
}

export interface Looked {
  /** Null when the sign-ins could not be read: the finding then says nothing of them. */
  signIns: Map<string, SignInSummary> | null;
  /** The tenants (lower-case) the sign-in queries asked about: only these may say "none". */
  tenants: ReadonlySet<string>;
  /** Null when the Activity log could not be read. */
  creators: Map<string, Creator> | null;
  window: string;
}

/**
 * Each finding with the evidence found for it. A tenant with no sign-ins in the window gets a count
 * of 0 (we looked), a resource with no write in the Activity log a null creator; where a source
 * could not be read, the finding carries no claim from it. An Event Grid creator already on a
 * peering competes with the Activity log's: the earliest record wins.
 */
export function withEvidence(findings: readonly Finding[], looked: Looked): Finding[] {
  return findings.map((finding) => {
    const remote = finding.remoteTenantId?.toLowerCase() ?? null;
    const tenant = remote !== null && looked.tenants.has(remote) ? remote : null;
    const resource = createdResourceOf(finding);
    const none = { window: looked.window, count: 0, first: null, last: null, users: [] };
    const signIns = looked.signIns && tenant ? (looked.signIns.get(`inbound|${tenant}`) ?? none) : null;
    const outbound = looked.signIns && tenant ? (looked.signIns.get(`outbound|${tenant}`) ?? none) : null;
    const eventGrid: Creator | null =
      finding.kind === "vnet-peering" && finding.createdBy
        ? {
            principalId: finding.createdBy.principalId,
            principalName: null,
            homeTenantId: null,
            at: finding.createdBy.at,
            source: "event-grid",
          }
        : null;
    const logged = looked.creators && resource ? (looked.creators.get(resource.toLowerCase()) ?? null) : null;
    const createdBy = earliestCreator(logged, eventGrid);
    if (!signIns && !createdBy && !(looked.creators && resource)) return finding;
    const evidence: Evidence = { createdBy, signIns, ...(outbound ? { outboundSignIns: outbound } : {}) };
    return { ...finding, evidence };
  });
}
