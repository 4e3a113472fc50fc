import { z } from "zod";
import { ApiError, type ApiRequest } from "./http";

const ROLE_CLAIMS = ["roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"];
const NAME_CLAIMS = [
  "name",
  "preferred_username",
  "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
];

const principalSchema = z.object({
  claims: z.array(z.object({ typ: z.string(), val: z.string() })),
  name_typ: z.string().optional(),
  role_typ: z.string().optional(),
});

export interface Caller {
  /** Whether App Service Authentication vouched for the caller (x-ms-client-principal was sent). */
  authenticated: boolean;
  name: string;
  roles: string[];
}

/** The caller as App Service Authentication describes it in the base64 JSON of x-ms-client-principal. */
export function callerOf(request: ApiRequest): Caller {
  const header = request.header("x-ms-client-principal");
  if (!header) return { authenticated: false, name: "api (function key)", roles: [] };
  let parsed;
  try {
    parsed = principalSchema.parse(JSON.parse(Buffer.from(header, "base64").toString("utf8")));
  } catch {
    throw new ApiError(401, "Unauthorized", "The x-ms-client-principal header could not be read.");
  }
  const values = (types: string[]) => parsed.claims.filter((c) => types.includes(c.typ)).map((c) => c.val);
  return {
    authenticated: true,
    name:
      values([...(parsed.name_typ ? [parsed.name_typ] : []), ...NAME_CLAIMS])[0] ?? "authenticated caller",
    roles: values([...(parsed.role_typ ? [parsed.role_typ] : []), ...ROLE_CLAIMS]),
  };
}

/**
 * Behind App Service Authentication a write needs the app role; without it the function key
 * is what protects the endpoint.
 */
export function requireRole(request: ApiRequest, role: string): Caller {
  const caller = callerOf(request);
  if (caller.authenticated && !caller.roles.includes(role)) {
    throw new ApiError(
      403,
      "Forbidden",
      `${caller.name} lacks the app role '${role}' needed to change the allowlist.`,
    );
  }
  return caller;
}
