import { z } from "zod";
import { evidenceSchema, RELATIONS, SEVERITIES, STATUSES } from "../finding";

/** The peering states Azure documents; others can appear (an extensible enum) and are kept as given. */
export const PEERING_STATES = ["Connected", "Initiated", "Disconnected"] as const;
export const RISK_FACTORS = ["forwarded-traffic", "gateway-transit", "remote-gateways"] as const;

/** A peering whose remote VNet is not provably in its local VNet's tenant (report v1, CONTRACTS §3). */
export const peeringFindingSchema = z.object({
  id: z.string(),
  kind: z.literal("vnet-peering"),
  resourceId: z.string(),
  localVnetId: z.string(),
  localSubscriptionId: z.string(),
  localTenantId: z.string(),
  remoteVnetId: z.string(),
  remoteSubscriptionId: z.string(),
  remoteTenantId: z.string().nullable(),
  remoteTenantName: z.string().nullable(),
  relation: z.enum(RELATIONS),
  /** As Azure gave it: usually one of PEERING_STATES, but any string is kept (unknown ones judged like Connected). */
  peeringState: z.string(),
  peeringSyncLevel: z.string(),
  allowForwardedTraffic: z.boolean(),
  allowGatewayTransit: z.boolean(),
  useRemoteGateways: z.boolean(),
  remoteAddressPrefixes: z.array(z.string()),
  /**
   * Present (false) on a subnet peering only: the subnets it connects on each side, as the network
   * API (2025-01-01) names them in `localSubnetNames` / `remoteSubnetNames`.
   */
  peerCompleteVnets: z.boolean().optional(),
  localSubnetNames: z.array(z.string()).optional(),
  remoteSubnetNames: z.array(z.string()).optional(),
  status: z.enum(STATUSES),
  allowlistEntryId: z.string().nullable(),
  severity: z.enum(SEVERITIES),
  riskFactors: z.array(z.enum(RISK_FACTORS)),
  /** One sentence saying why this is a finding and how it was judged. */
  summary: z.string(),
  /** Who created the peering and when, where a subscription event said so (Event Grid). */
  createdBy: z.object({ principalId: z.string(), at: z.string() }).optional(),
  /** Who last changed the peering after it was first recorded, where a write event said so. */
  lastChangedBy: z.object({ principalId: z.string(), at: z.string() }).optional(),
  /** Who created it and who signs in from the other tenant (Log Analytics, Event Grid). */
  evidence: evidenceSchema.optional(),
  /** Set when ARM could not be asked before the alert: the alert still went out, unconfirmed. */
  confirmation: z.literal("unconfirmed").optional(),
});

export type PeeringFinding = z.infer<typeof peeringFindingSchema>;
