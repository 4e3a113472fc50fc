import { z } from "zod";
import { cleanText, MAX_NAME_LENGTH } from "../text";
import { ApiError, type ApiRequest } from "./http";

/**
 * Only the claim types Entra ID and App Service Authentication use. The principal's own
 * `role_typ` and `name_typ` are ignored: whoever could write the header could otherwise choose
 * which claim counts as a role.
 */
const ROLE_CLAIMS = ["roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"];
const NAME_CLAIMS = [
  "name",
  "preferred_username",
  "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
];

const principalSchema = z.object({
  claims: z.array(z.object({ typ: z.string(), val: z.string() })).min(1),
});

export interface Caller {
  name: string;
  roles: string[];
}

/** How allowlist writes are authorised (setting ALLOWLIST_WRITE_AUTH). */
export type WriteAuth = "role" | "function-key";

/**
 * What the platform's own app settings say of App Service Authentication
 * (learn.microsoft.com/azure/app-service/reference-app-settings, "Authentication &
 * authorization"): `WEBSITE_AUTH_ENABLED` is injected read-only when it is on, and
 * `WEBSITE_AUTH_V2_CONFIG_JSON` carries the v2 configuration (`globalValidation`), or the classic
 * `WEBSITE_AUTH_UNAUTHENTICATED_ACTION` does. Only "required" means every request reaching the
 * app was authenticated, so that `x-ms-client-principal` came from the platform, not the caller.
 */
export interface AppServiceAuth {
  state: "required" | "anonymous-allowed" | "off";
  /** Which settings said so, for the log and the refusal. */
  reason: string;
}

/** What an app whose platform state is unknown counts as. */
export const AUTH_OFF: AppServiceAuth = { state: "off", reason: "App Service Authentication is off" };

/** v2's UnauthenticatedClientActionV2 as the platform serialises it: a name or its enum number. */
const ALLOW_ANONYMOUS = new Set(["allowanonymous", "1"]);

export function appServiceAuthOf(env: Record<string, string | undefined>): AppServiceAuth {
  if (env.WEBSITE_AUTH_ENABLED?.trim().toLowerCase() !== "true") {
    return { state: "off", reason: "WEBSITE_AUTH_ENABLED is not True: App Service Authentication is off" };
  }
  let v2: { globalValidation?: { requireAuthentication?: unknown; unauthenticatedClientAction?: unknown } } =
    {};
  try {
    v2 = JSON.parse(env.WEBSITE_AUTH_V2_CONFIG_JSON?.trim() || "{}") as typeof v2;
  } catch {
    return { state: "off", reason: "WEBSITE_AUTH_V2_CONFIG_JSON is not JSON" };
  }
  const validation = v2?.globalValidation;
  if (validation) {
    // v2: requireAuthentication decides; the action says what happens to the unauthenticated.
    const action = String(validation.unauthenticatedClientAction ?? "").toLowerCase();
    return validation.requireAuthentication === true && !ALLOW_ANONYMOUS.has(action)
      ? { state: "required", reason: "App Service Authentication requires authentication" }
      : {
          state: "anonymous-allowed",
          reason:
            "App Service Authentication lets unauthenticated requests through (requireAuthentication is not true)",
        };
  }
  // Classic (v1) configuration.
  const action = env.WEBSITE_AUTH_UNAUTHENTICATED_ACTION?.trim().toLowerCase() ?? "";
  return action !== "" && !ALLOW_ANONYMOUS.has(action)
    ? { state: "required", reason: "App Service Authentication requires authentication" }
    : {
        state: "anonymous-allowed",
        reason: "App Service Authentication lets unauthenticated requests through (AllowAnonymous)",
      };
}

/** The caller App Service Authentication describes in the base64 JSON of x-ms-client-principal, or none. */
export function callerOf(request: ApiRequest): Caller | undefined {
  const header = request.header("x-ms-client-principal")?.trim();
  if (!header) return undefined;
  let parsed;
  try {
    parsed = principalSchema.parse(JSON.parse(Buffer.from(header, "base64").toString("utf8")));
  } catch {
    throw new ApiError(401, "Unauthorized", "The x-ms-client-principal header could not be read.");
  }
  const values = (types: string[]) => parsed.claims.filter((c) => types.includes(c.typ)).map((c) => c.val);
  const name = values(NAME_CLAIMS).find((v) => v.trim() !== "");
  return {
    name: name ? cleanText(name.trim(), MAX_NAME_LENGTH) : "authenticated caller",
    roles: values(ROLE_CLAIMS),
  };
}

export interface WriteAuthorisation {
  mode: WriteAuth;
  platform: AppServiceAuth;
}

/** What a role-guarded use of the API is called, in its setting and its refusals. */
interface GuardedUse {
  setting: "ALLOWLIST_WRITE_AUTH" | "API_READ_AUTH";
  /** "Changing the allowlist", "Reading through the API". */
  doing: string;
  /** The 503's title: "Allowlist writes are off". */
  off: string;
  /** "change the allowlist", "read through the API". */
  to: string;
}

/**
 * The caller, when App Service Authentication signed it in carrying `role` and the platform
 * requires authentication (else the header could be forged); otherwise the refusal: 401 without
 * a caller, 503 while the platform lets the unauthenticated through, 403 without the role.
 */
function callerWithRole(
  request: ApiRequest,
  role: string,
  platform: AppServiceAuth,
  use: GuardedUse,
): Caller {
  const caller = callerOf(request);
  if (!caller) {
    throw new ApiError(
      401,
      "Unauthorized",
      `${use.doing} needs a signed-in caller with the app role '${role}' (${use.setting}=role); the request carried no x-ms-client-principal.`,
    );
  }
  if (platform.state !== "required") {
    throw new ApiError(
      503,
      use.off,
      `${use.setting} is role, but ${platform.reason}, so the caller cannot be trusted. ` +
        `Turn on App Service Authentication with "require authentication", or set ${use.setting}=function-key.`,
    );
  }
  if (!caller.roles.includes(role)) {
    throw new ApiError(403, "Forbidden", `${caller.name} lacks the app role '${role}' needed to ${use.to}.`);
  }
  return caller;
}

/**
 * Who may change the allowlist, failing closed. `role`: a principal from App Service
 * Authentication carrying `role`, and only while the platform requires authentication.
 * `function-key`: the function key the host checked is enough.
 */
export function requireWriter(request: ApiRequest, role: string, auth: WriteAuthorisation): Caller {
  if (auth.mode === "function-key") {
    const caller = auth.platform.state === "required" ? callerOf(request) : undefined;
    return caller ?? { name: "api (function key)", roles: [] };
  }
  return callerWithRole(request, role, auth.platform, {
    setting: "ALLOWLIST_WRITE_AUTH",
    doing: "Changing the allowlist",
    off: "Allowlist writes are off",
    to: "change the allowlist",
  });
}

/** The app role that lets a caller read findings, scans and the allowlist, and ask for scans. */
export const READ_ROLE = "Findings.Read";

/**
 * Who may read through the API (setting API_READ_AUTH), failing closed as writes do: `role` needs
 * a principal from App Service Authentication carrying Findings.Read while the platform requires
 * authentication; `function-key` lets the function key the host checked be enough. A principal
 * of the tenant without the role gets 403, whatever key it holds.
 */
export function requireReader(request: ApiRequest, auth: WriteAuthorisation): void {
  if (auth.mode === "function-key") return;
  callerWithRole(request, READ_ROLE, auth.platform, {
    setting: "API_READ_AUTH",
    doing: "Reading through the API",
    off: "API reads are off",
    to: "read through the API",
  });
}

/**
 * What the app says at start when allowlist writes will be refused: ALLOWLIST_WRITE_AUTH is role,
 * but the platform does not require authentication. Undefined when writes can work.
 */
export function allowlistWritesWarning(
  mode: WriteAuth,
  platform: AppServiceAuth | undefined,
): string | undefined {
  if (mode !== "role" || platform?.state === "required") return undefined;
  return (
    `ALLOWLIST_WRITE_AUTH is role, but ${(platform ?? AUTH_OFF).reason}: ` +
    `PUT and DELETE /api/allowlist are refused until authentication is required, or ALLOWLIST_WRITE_AUTH is function-key.`
  );
}
