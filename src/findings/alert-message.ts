import { z } from "zod";
import { SEVERITIES, type Severity } from "../scanners/finding";
import { crossTenantAccessPolicyFindingSchema } from "../scanners/cross-tenant-access-policy/finding";
import { foreignPrincipalFindingSchema } from "../scanners/foreign-principal-network-access/finding";
import { peeringFindingSchema } from "../scanners/peering/finding";
import { privateEndpointInboundFindingSchema } from "../scanners/private-endpoint-inbound/finding";
import { privateEndpointOutboundFindingSchema } from "../scanners/private-endpoint-outbound/finding";
import { privateLinkServiceExposureFindingSchema } from "../scanners/private-link-service-exposure/finding";
import { serviceEndpointInboundFindingSchema } from "../scanners/service-endpoint-inbound/finding";

/** What an alert tells people about. */
export const ALERT_KINDS = [
  "violation-new",
  "violation-reopened",
  "finding-resolved",
  "exception-expired",
  "exception-expiring",
  "scan-incomplete",
  "scan-failed",
  "coverage-lost",
  "digest",
  "setting-changed",
  /** The scan ran, but part of what it reports through is off (an alert destination's secret). */
  "scan-degraded",
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** The finding, of any kind, and when it was first seen. */
const seen = { firstSeen: z.string() };
const findingAlertSchema = z.discriminatedUnion("kind", [
  peeringFindingSchema.extend(seen),
  privateEndpointOutboundFindingSchema.extend(seen),
  privateEndpointInboundFindingSchema.extend(seen),
  foreignPrincipalFindingSchema.extend(seen),
  crossTenantAccessPolicyFindingSchema.extend(seen),
  serviceEndpointInboundFindingSchema.extend(seen),
  privateLinkServiceExposureFindingSchema.extend(seen),
]);

/** A subscription that held unresolved findings and went out of the scan's sight. */
const coverageLostSchema = z.object({
  subscriptionId: z.string(),
  /** When a scan last saw it; null when no scan recorded it before. */
  lastVerified: z.string().nullable(),
  lostSince: z.string(),
  /** Its unresolved findings, kept as they were and marked stale. */
  findings: z.number().int(),
  scope: z.object({ managementGroups: z.array(z.string()), subscriptions: z.array(z.string()) }),
});

const entrySchema = z.object({
  id: z.string(),
  owner: z.string(),
  reason: z.string(),
  expiresOn: z.string(),
  ticket: z.string().optional(),
  matches: z.string(),
});

/** One line of a digest: enough to list the alert on a card, not the whole finding. */
const digestItemSchema = z.object({
  kind: z.enum(ALERT_KINDS),
  severity: z.enum(SEVERITIES),
  text: z.string(),
  resourceId: z.string().optional(),
});

/**
 * Alert message v1: what the scan puts on the `alerts` queue and the dispatcher delivers. The
 * generic webhook receives it as it is. `idempotencyKey` is the same for every copy of one alert.
 */
export const alertMessageSchema = z.object({
  schemaVersion: z.literal(1),
  kind: z.enum(ALERT_KINDS),
  idempotencyKey: z.string().min(1).max(512),
  scanId: z.string(),
  createdAt: z.string(),
  severity: z.enum(SEVERITIES),
  /** One sentence saying what happened. */
  title: z.string(),
  finding: findingAlertSchema.optional(),
  entry: entrySchema.optional(),
  coverage: coverageLostSchema.optional(),
  scan: z
    .object({
      complete: z.boolean(),
      errors: z.array(z.object({ source: z.string(), message: z.string() })),
      stats: z.record(z.string(), z.number()).optional(),
    })
    .optional(),
  digest: z
    .object({
      total: z.number().int(),
      counts: z.partialRecord(z.enum(ALERT_KINDS), z.number().int()),
      /** The most severe alerts first; the rest are counted in `total`. */
      items: z.array(digestItemSchema),
    })
    .optional(),
});

export type AlertMessage = z.infer<typeof alertMessageSchema>;
export type DigestItem = z.infer<typeof digestItemSchema>;
export type FindingAlert = z.infer<typeof findingAlertSchema>;

const RANK: Record<Severity, number> = { high: 3, medium: 2, low: 1, info: 0 };

/** Whether an alert of `severity` reaches a destination that wants `minimum` and above. */
export const atLeast = (severity: Severity, minimum: Severity) => RANK[severity] >= RANK[minimum];

export const bySeverity = (a: { severity: Severity }, b: { severity: Severity }) =>
  RANK[b.severity] - RANK[a.severity];
