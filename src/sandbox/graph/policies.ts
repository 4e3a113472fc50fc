import type { IncomingMessage, ServerResponse } from "node:http";
import type { Estate } from "../estate";

/**
 * Microsoft Graph v1.0's cross-tenant access and authorization policies, served from the estate's
 * optional `entra`. Graph answers each with the tenant's settings, or the service default where
 * the tenant changed nothing (`isServiceDefault: true`); without Policy.Read.All it answers 403
 * Authorization_RequestDenied (learn.microsoft.com/graph/api/crosstenantaccesspolicyconfigurationdefault-get,
 * crosstenantaccesspolicy-list-partners, authorizationpolicy-get, "Permissions"). The sandbox takes
 * an estate without `entra` as an identity without that permission.
 */

const all = (accessType: "allowed" | "blocked") => ({
  usersAndGroups: { accessType, targets: [{ target: "AllUsers", targetType: "user" }] },
  applications: { accessType, targets: [{ target: "AllApplications", targetType: "application" }] },
});

/**
 * The service default, as the example response of crosstenantaccesspolicyconfigurationdefault-get
 * (v1.0) shows it with `isServiceDefault: true`: inbound and outbound B2B collaboration allowed for
 * all users and applications, B2B direct connect blocked both ways, no claims of other tenants
 * trusted. That example is shortened and leaves `tenantRestrictions` out; the portal's default
 * tenant restrictions block all external users and applications (tenant-restrictions-v2.md), taken
 * here as Graph's default too.
 */
export const SERVICE_DEFAULT_POLICY = {
  isServiceDefault: true,
  inboundTrust: {
    isMfaAccepted: false,
    isCompliantDeviceAccepted: false,
    isHybridAzureADJoinedDeviceAccepted: false,
  },
  b2bCollaborationOutbound: all("allowed"),
  b2bCollaborationInbound: all("allowed"),
  b2bDirectConnectOutbound: all("blocked"),
  b2bDirectConnectInbound: all("blocked"),
  tenantRestrictions: all("blocked"),
  automaticUserConsentSettings: { inboundAllowed: false, outboundAllowed: false },
};

/**
 * authorizationPolicy's defaults (authorizationpolicy.md): everyone may invite guests, and guests
 * have limited access to directory objects.
 */
export const DEFAULT_AUTHORIZATION_POLICY = {
  id: "authorizationPolicy",
  displayName: "Authorization Policy",
  allowInvitesFrom: "everyone",
  guestUserRoleId: "10dae51f-b6af-4016-8d66-8c2a99b929b3",
};

const CONTEXT = "https://graph.microsoft.com/v1.0/$metadata";

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}

/** Answers the three policy reads; false when the request is for something else. */
export function servePolicies(
  estate: Estate,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): boolean {
  if (req.method !== "GET") return false;
  const which = path.match(
    /^\/v1\.0\/policies\/(crossTenantAccessPolicy\/default|crossTenantAccessPolicy\/partners|authorizationPolicy)\/?$/i,
  )?.[1];
  if (!which) return false;
  if (!req.headers.authorization?.startsWith("Bearer "))
    return (
      send(res, 401, { error: { code: "InvalidAuthenticationToken", message: "Access token is empty." } }),
      true
    );
  const entra = estate.entra;
  if (!entra) {
    send(res, 403, {
      error: {
        code: "Authorization_RequestDenied",
        message: "Insufficient privileges to complete the operation.",
      },
    });
    return true;
  }
  const policy = entra.crossTenantAccessPolicy;
  switch (which.toLowerCase()) {
    case "crosstenantaccesspolicy/default":
      send(res, 200, {
        "@odata.context": `${CONTEXT}#policies/crossTenantAccessPolicy/default/$entity`,
        ...(policy?.default ?? SERVICE_DEFAULT_POLICY),
      });
      break;
    case "crosstenantaccesspolicy/partners":
      send(res, 200, {
        "@odata.context": `${CONTEXT}#policies/crossTenantAccessPolicy/partners`,
        value: policy?.partners ?? [],
      });
      break;
    default:
      send(res, 200, {
        "@odata.context": `${CONTEXT}#policies/authorizationPolicy/$entity`,
        ...(entra.authorizationPolicy ?? DEFAULT_AUTHORIZATION_POLICY),
      });
  }
  return true;
}
