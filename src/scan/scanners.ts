import { crossTenantAccessPolicyScanner } from "../scanners/cross-tenant-access-policy/scanner";
import { foreignPrincipalScanner } from "../scanners/foreign-principal-network-access/scanner";
import { peeringScanner } from "../scanners/peering/scanner";
import { privateEndpointInboundScanner } from "../scanners/private-endpoint-inbound/scanner";
import { privateEndpointOutboundScanner } from "../scanners/private-endpoint-outbound/scanner";
import { privateLinkServiceExposureScanner } from "../scanners/private-link-service-exposure/scanner";
import { serviceEndpointInboundScanner } from "../scanners/service-endpoint-inbound/scanner";
import type { Scanner } from "../scanners/scanner";

/** Every check a scan runs, in report order. */
export const SCANNERS: Scanner[] = [
  peeringScanner,
  privateEndpointOutboundScanner,
  privateEndpointInboundScanner,
  foreignPrincipalScanner,
  crossTenantAccessPolicyScanner,
  serviceEndpointInboundScanner,
  privateLinkServiceExposureScanner,
];
