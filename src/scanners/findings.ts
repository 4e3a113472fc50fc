import { z } from "zod";
import type { CheckMetadata, CommonFinding, FindingKind } from "./finding";
import { crossTenantAccessPolicyFindingSchema } from "./cross-tenant-access-policy/finding";
import { CROSS_TENANT_ACCESS_POLICY_CHECK } from "./cross-tenant-access-policy/metadata";
import { foreignPrincipalFindingSchema } from "./foreign-principal-network-access/finding";
import { FOREIGN_PRINCIPAL_CHECK } from "./foreign-principal-network-access/metadata";
import { peeringFindingSchema } from "./peering/finding";
import { PEERING_CHECK } from "./peering/metadata";
import { privateEndpointInboundFindingSchema } from "./private-endpoint-inbound/finding";
import { PRIVATE_ENDPOINT_INBOUND_CHECK } from "./private-endpoint-inbound/metadata";
import { privateEndpointOutboundFindingSchema } from "./private-endpoint-outbound/finding";
import { PRIVATE_ENDPOINT_OUTBOUND_CHECK } from "./private-endpoint-outbound/metadata";
import { privateLinkServiceExposureFindingSchema } from "./private-link-service-exposure/finding";
import { PRIVATE_LINK_SERVICE_EXPOSURE_CHECK } from "./private-link-service-exposure/metadata";
import { serviceEndpointInboundFindingSchema } from "./service-endpoint-inbound/finding";
import { SERVICE_ENDPOINT_INBOUND_CHECK } from "./service-endpoint-inbound/metadata";

/** Every finding: the common part (src/scanners/finding.ts) plus its kind's own fields. */
export const findingSchema = z.discriminatedUnion("kind", [
  peeringFindingSchema,
  privateEndpointOutboundFindingSchema,
  privateEndpointInboundFindingSchema,
  foreignPrincipalFindingSchema,
  crossTenantAccessPolicyFindingSchema,
  serviceEndpointInboundFindingSchema,
  privateLinkServiceExposureFindingSchema,
]);
export type Finding = z.infer<typeof findingSchema>;

type FindingOf<K extends FindingKind> = Extract<Finding, { kind: K }>;

/** Each kind's check metadata: how its findings are titled, described, fixed and shown. */
export const CHECKS: { [K in FindingKind]: CheckMetadata<FindingOf<K>> } = {
  "vnet-peering": PEERING_CHECK,
  "private-endpoint-outbound": PRIVATE_ENDPOINT_OUTBOUND_CHECK,
  "private-endpoint-inbound": PRIVATE_ENDPOINT_INBOUND_CHECK,
  "foreign-principal-network-access": FOREIGN_PRINCIPAL_CHECK,
  "cross-tenant-access-policy": CROSS_TENANT_ACCESS_POLICY_CHECK,
  "service-endpoint-inbound": SERVICE_ENDPOINT_INBOUND_CHECK,
  "private-link-service-exposure": PRIVATE_LINK_SERVICE_EXPOSURE_CHECK,
};

/** The metadata of the finding's own check, ready to render that finding. */
export function checkOf<F extends CommonFinding>(finding: F): CheckMetadata<F> {
  return CHECKS[finding.kind] as unknown as CheckMetadata<F>;
}

// Every kind's schema holds the common part: what the store, reconcile and alerts rely on.
type AssertCommon<T extends CommonFinding> = T;
export type _EveryFindingIsCommon = AssertCommon<Finding>;

/** Narrows findings to one kind: `report.findings.filter(ofKind("vnet-peering"))`. */
export const ofKind =
  <K extends FindingKind>(kind: K) =>
  (finding: Finding): finding is FindingOf<K> =>
    finding.kind === kind;
