import { z } from "zod";
import { peeringFindingSchema, type PeeringFinding } from "../scanners/peering/finding";

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
    findings: z.number().int(),
    /** Findings that need action: `violation` and `expired-exception`. */
    violations: z.number().int(),
    allowed: z.number().int(),
    /** Resource Graph requests the scan sent, over all its queries. */
    resourceGraphRequests: z.number().int(),
    /** Resource Graph rows the scan received, over all its queries. */
    resourceGraphRows: z.number().int(),
  }),
  findings: z.array(peeringFindingSchema),
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

/** Most severe first, then by local VNet, so reports read the same from run to run. */
export function sortFindings(findings: PeeringFinding[]): PeeringFinding[] {
  return [...findings].sort(
    (a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      a.localVnetId.toLowerCase().localeCompare(b.localVnetId.toLowerCase()) ||
      a.resourceId.toLowerCase().localeCompare(b.resourceId.toLowerCase()),
  );
}

export function needsAction(finding: PeeringFinding): boolean {
  return finding.status !== "allowed";
}
