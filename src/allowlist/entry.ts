import { idKey } from "../azure/resource-id";
import { createHash } from "node:crypto";
import { z } from "zod";
import { FINDING_KINDS } from "../scanners/finding";
import { PRINTABLE, PRINTABLE_MESSAGE, printableText } from "../text";
import { GUID_PATTERN } from "../validation";

const ARM_ID = /^\/subscriptions\/[^/]+(\/.+)?$/i;
/** The Entra ID policies the cross-tenant-access-policy check judges, by their Graph path. */
const POLICY_PATH =
  /^\/policies\/(crossTenantAccessPolicy\/default|crossTenantAccessPolicy\/partners\/[0-9a-f-]{36}|authorizationPolicy)$/i;
const VNET_ID =
  /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Network\/virtualNetworks\/[^/]+$/i;

/**
 * Longest value of each text field, in characters (documented in the README). 100 entries at
 * these lengths stay far below Table Storage's limits: 64 KiB a property, 1 MiB an entity.
 */
export const ENTRY_LIMITS = { owner: 256, reason: 1024, ticket: 128, resourceId: 1024 } as const;

const resourceId = (pattern: RegExp, message: string) =>
  z
    .string()
    .max(ENTRY_LIMITS.resourceId, `must be at most ${ENTRY_LIMITS.resourceId} characters`)
    .regex(PRINTABLE, PRINTABLE_MESSAGE)
    .regex(pattern, message);

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be an ISO date (YYYY-MM-DD)")
  .refine(
    (s) =>
      !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s),
    {
      message: "is not a calendar date",
    },
  );

/** One allowlist entry as written in the allowlist file (CONTRACTS §2). */
export const allowlistEntryInputSchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[a-z0-9-]{1,64}$/, "must be 1-64 characters of a-z, 0-9 and '-'")
      .optional(),
    tenantId: z.string().regex(GUID_PATTERN, "must be a GUID").optional(),
    subscriptionId: z.string().regex(GUID_PATTERN, "must be a GUID").optional(),
    /** Kept for files written before private endpoints: the remote VNet of a peering. */
    remoteVnetId: resourceId(VNET_ID, "must be a virtual network resource id").optional(),
    /** The other side of the finding: a remote VNet, or the resource or private endpoint of another tenant. */
    remoteResourceId: z
      .string()
      .max(ENTRY_LIMITS.resourceId, `must be at most ${ENTRY_LIMITS.resourceId} characters`)
      .regex(PRINTABLE, PRINTABLE_MESSAGE)
      .refine(
        (s) => ARM_ID.test(s) || POLICY_PATH.test(s),
        "must be a resource id starting with /subscriptions/, or an Entra ID policy path such as /policies/crossTenantAccessPolicy/default",
      )
      .optional(),
    /** The object id of a principal from another tenant (foreign-principal-network-access). */
    principalId: z.string().regex(GUID_PATTERN, "must be a GUID").optional(),
    /** The finding kinds the entry covers; without it, vnet-peering only (as before kinds existed). */
    kinds: z
      .array(z.enum(FINDING_KINDS))
      .min(1, "must name at least one finding kind")
      .max(FINDING_KINDS.length)
      .refine((kinds) => new Set(kinds).size === kinds.length, "must not name a kind twice")
      .optional(),
    localScope: resourceId(ARM_ID, "must be a resource id prefix starting with /subscriptions/")
      .transform((s) => s.replace(/\/+$/, ""))
      .optional(),
    expiresOn: isoDate.optional(),
    owner: printableText(ENTRY_LIMITS.owner),
    reason: printableText(ENTRY_LIMITS.reason),
    ticket: printableText(ENTRY_LIMITS.ticket).optional(),
  })
  .superRefine((entry, ctx) => {
    const keys = MATCH_KEYS.filter((key) => entry[key] !== undefined);
    if (keys.length !== 1) {
      ctx.addIssue({
        code: "custom",
        path: keys.length === 0 ? [] : [keys[1]!],
        message: `needs exactly one of tenantId, subscriptionId or remoteVnetId, remoteResourceId or principalId (has ${keys.length === 0 ? "none" : keys.join(" and ")})`,
      });
    }
  });

export const MATCH_KEYS = [
  "tenantId",
  "subscriptionId",
  "remoteVnetId",
  "remoteResourceId",
  "principalId",
] as const;
export type MatchKey = (typeof MATCH_KEYS)[number];

/** Kinds an entry without `kinds` covers: only peerings, so files written before other checks keep their meaning. */
export const DEFAULT_ENTRY_KINDS = ["vnet-peering"] as const;

export function kindsOf(entry: Pick<AllowlistEntry, "kinds">): readonly string[] {
  return entry.kinds ?? DEFAULT_ENTRY_KINDS;
}

export type AllowlistEntry = Omit<z.output<typeof allowlistEntryInputSchema>, "id"> & { id: string };

export function matchKeyOf(entry: AllowlistEntry): MatchKey {
  return MATCH_KEYS.find((key) => entry[key] !== undefined)!;
}

/** An entry without an id gets one derived from what it matches, so re-importing the same file keeps ids stable. */
export function withId(entry: z.output<typeof allowlistEntryInputSchema>): AllowlistEntry {
  if (entry.id) return { ...entry, id: entry.id };
  const key = MATCH_KEYS.find((k) => entry[k] !== undefined)!;
  const digest = createHash("sha256")
    .update(`${key}|${idKey(entry[key]!)}|${idKey(entry.localScope ?? "")}`)
    .digest("hex")
    .slice(0, 12);
  return { ...entry, id: `${key.replace(/Id$/, "").toLowerCase()}-${digest}` };
}
