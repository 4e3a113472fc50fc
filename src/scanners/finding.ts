import { idKey } from "../azure/resource-id";
import { createHash } from "node:crypto";
import { z } from "zod";

/** Every kind of finding, one per check (each has its own folder under src/scanners/). */
export const FINDING_KINDS = [
  "vnet-peering",
  "private-endpoint-outbound",
  "private-endpoint-inbound",
  "foreign-principal-network-access",
  "cross-tenant-access-policy",
  "service-endpoint-inbound",
  "private-link-service-exposure",
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

/**
 * Kinds whose check reads the whole tenant at once (Entra ID policies from Microsoft Graph): their
 * findings lie in no subscription, and a complete run of their check covers every one of them.
 */
export const TENANT_WIDE_KINDS: ReadonlySet<string> = new Set<FindingKind>(["cross-tenant-access-policy"]);

export const RELATIONS = ["cross-tenant", "unresolved", "microsoft-managed"] as const;
export const STATUSES = ["violation", "allowed", "expired-exception"] as const;
export const SEVERITIES = ["high", "medium", "low", "info"] as const;

/** Successful sign-ins over a window (ISO 8601 duration): how many, the first and last, and by whom. */
export const signInSummarySchema = z.object({
  window: z.string(),
  count: z.number().int(),
  first: z.string().nullable(),
  last: z.string().nullable(),
  /** User principal names, at most a few dozen. */
  users: z.array(z.string()),
});
export type SignInSummary = z.infer<typeof signInSummarySchema>;

/**
 * Who made the resource of a finding and who of the other tenant signs in (CONTRACTS §5), from
 * Event Grid or the Log Analytics workspace. Optional on every finding; absent when not asked.
 */
export const evidenceSchema = z.object({
  createdBy: z
    .object({
      principalId: z.string(),
      principalName: z.string().nullable(),
      homeTenantId: z.string().nullable(),
      at: z.string(),
      source: z.enum(["event-grid", "activity-log"]),
    })
    .nullable(),
  /** Successful sign-ins of the other tenant's users into this tenant's Azure Resource Manager. */
  signIns: signInSummarySchema.nullable(),
  /** This tenant's users signing in to the other tenant, over the same window. */
  outboundSignIns: signInSummarySchema.nullable().optional(),
});
export type Evidence = z.infer<typeof evidenceSchema>;

/**
 * What every finding has, whatever its kind (report v1, CONTRACTS §3). The store, reconcile,
 * alerts, the API and the CLI work on these; each kind adds its own fields, which are shown
 * through the check's metadata (src/scanners/checks.ts).
 */
export const findingCommonSchema = z.object({
  id: z.string(),
  kind: z.enum(FINDING_KINDS),
  /** What was found: a peering, a private endpoint connection, a role assignment. */
  resourceId: z.string(),
  localSubscriptionId: z.string(),
  localTenantId: z.string(),
  /** Where the other side lives; "" when it is not a subscription (a principal from another tenant). */
  remoteSubscriptionId: z.string(),
  remoteTenantId: z.string().nullable(),
  remoteTenantName: z.string().nullable(),
  relation: z.enum(RELATIONS),
  status: z.enum(STATUSES),
  allowlistEntryId: z.string().nullable(),
  severity: z.enum(SEVERITIES),
  riskFactors: z.array(z.string()),
  /** One sentence saying why this is a finding and how it was judged. */
  summary: z.string(),
  evidence: evidenceSchema.optional(),
});

export type CommonFinding = z.infer<typeof findingCommonSchema>;
export type Relation = CommonFinding["relation"];
export type Status = CommonFinding["status"];
export type Severity = CommonFinding["severity"];

/** Stable across scans and across case changes of the resource id. */
export function findingId(kind: string, resourceId: string): string {
  return createHash("sha256")
    .update(`${kind}|${idKey(resourceId)}`)
    .digest("hex")
    .slice(0, 32);
}

/** One fact a card or a report shows about a finding: our title, the finding's (outside) text or list. */
export type FindingFact = [title: string, value: string | string[]];

/**
 * What a check is, why it matters and how to fix what it finds, and how its kind-specific fields
 * are shown. Every output renders a finding through its check's metadata, never by its kind.
 */
export interface CheckMetadata<F extends CommonFinding = CommonFinding> {
  id: F["kind"];
  title: string;
  /** What one finding is, for alert headings: "cross-tenant peering". */
  noun: string;
  risk: string;
  remediation: { text: string; portal: string };
  relatedUrl: string;
  /** The state column of tables (peering state, connection state, role name). */
  state(finding: F): string;
  /** The local side, short (a VNet, a private endpoint, a scope). */
  local(finding: F): string;
  /** The other side, short (a VNet, a resource, a principal). */
  remote(finding: F): string;
  /** Kind-specific facts for cards, in reading order; the card adds the common ones. */
  facts(finding: F): FindingFact[];
  /**
   * The findings are settings of the tenant itself: in no subscription, and naming the other
   * tenant (or every other tenant) in their own facts, so cards add neither.
   */
  tenantWide?: true;
  /** Where in the Azure portal the finding is fixed. */
  portalLink(finding: F, portalUrl: string): { title: string; url: string };
  /** The Azure CLI command that removes what was found. */
  command(finding: F): string;
  /** The alert title when the finding went away. */
  resolvedTitle(finding: F): string;
  /** Kind-specific fields whose change is worth a write and an alert. */
  material(finding: F): unknown[];
  /** Kind-specific fields for CSV, in column order. */
  csvFields: readonly string[];
}
