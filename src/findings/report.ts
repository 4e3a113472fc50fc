import { z } from "zod";
import { FINDING_KINDS, type CommonFinding } from "../scanners/finding";
import { findingSchema } from "../scanners/findings";

/**
 * Whether each check ran; a check skipped for a missing optional permission is not an error.
 * `degraded`: it ran, but Azure left out something that decides findings (a field, a role
 * definition, a principal, members past the scan's bound); those findings are kept `unresolved`
 * and `reason` says what was missing.
 */
export const CHECK_STATUSES = ["ran", "skipped", "failed", "degraded"] as const;
export const checkRunSchema = z.object({
  id: z.string(),
  title: z.string(),
  status: z.enum(CHECK_STATUSES),
  /** Why the check was skipped, failed or degraded. */
  reason: z.string().optional(),
});
export type CheckRun = z.infer<typeof checkRunSchema>;

/** Scan report v1 (CONTRACTS §3): output of `scan --format json` and of the HTTP scan endpoint. */
export const scanReportSchema = z.object({
  schemaVersion: z.literal(1),
  scanId: z.string(),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  homeTenantId: z.string(),
  complete: z.boolean(),
  errors: z.array(z.object({ source: z.string(), message: z.string() })),
  stats: z.object({
    subscriptions: z.number().int(),
    virtualNetworks: z.number().int(),
    peerings: z.number().int(),
    /** Private endpoints with connections, and their connections (outbound and inbound). */
    privateEndpoints: z.number().int().optional(),
    privateEndpointConnections: z.number().int().optional(),
    /** Role assignments of roles that grant peering, to principals that may be foreign. */
    roleAssignments: z.number().int().optional(),
    /** Partners listed in the tenant's cross-tenant access policy. */
    crossTenantAccessPartners: z.number().int().optional(),
    findings: z.number().int(),
    /** Findings that need action: `violation` and `expired-exception`. */
    violations: z.number().int(),
    allowed: z.number().int(),
    /** Resource Graph requests the scan sent, over all its queries. */
    resourceGraphRequests: z.number().int(),
    /** Resource Graph rows the scan received, over all its queries. */
    resourceGraphRows: z.number().int(),
  }),
  /** Every check of the scan and whether it ran. */
  checks: z.array(checkRunSchema).optional(),
  findings: z.array(findingSchema),
  /**
   * What the scan covered: the scope it was asked for, the subscriptions holding findings that
   * Resource Graph showed it, and those that held unresolved findings and are out of sight.
   */
  coverage: z
    .object({
      scope: z.object({ managementGroups: z.array(z.string()), subscriptions: z.array(z.string()) }),
      subscriptions: z.array(z.string()),
      lostSubscriptions: z.array(z.string()),
    })
    .optional(),
  /** What changed since the stored state; present when the scan keeps state. */
  delta: z
    .object({
      new: z.array(z.string()),
      resolved: z.array(z.string()),
      reopened: z.array(z.string()),
      changed: z.array(z.string()),
    })
    .optional(),
});

export type ScanReport = z.infer<typeof scanReportSchema>;

const SEVERITY_ORDER = { high: 0, medium: 1, low: 2, info: 3 } as const;

/** Most severe first, then by check and resource, so reports read the same from run to run. */
export function sortFindings<F extends CommonFinding>(findings: F[]): F[] {
  return [...findings].sort(
    (a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      FINDING_KINDS.indexOf(a.kind) - FINDING_KINDS.indexOf(b.kind) ||
      a.resourceId.toLowerCase().localeCompare(b.resourceId.toLowerCase()),
  );
}

export function needsAction(finding: CommonFinding): boolean {
  return finding.status !== "allowed";
}
