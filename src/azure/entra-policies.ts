import { z } from "zod";
import { errorMessage } from "../errors";
import { cleanDeep } from "../text";
import type { AzureConnection } from "./connection";
import type { AzureGet } from "./http";

/**
 * Microsoft Graph v1.0's tenant-wide policies that say who from another tenant may come in:
 * `GET /policies/crossTenantAccessPolicy/default`, `/partners` and `/policies/authorizationPolicy`
 * (learn.microsoft.com/graph/api/crosstenantaccesspolicyconfigurationdefault-get,
 * crosstenantaccesspolicy-list-partners, authorizationpolicy-get). Each needs Policy.Read.All.
 */

/** `{ accessType, targets }` (crossTenantAccessPolicyTargetConfiguration); targets name users, groups or apps. */
export const targetConfigurationSchema = z.looseObject({
  accessType: z.string().nullish(),
  targets: z
    .array(z.looseObject({ target: z.string().nullish(), targetType: z.string().nullish() }))
    .nullish(),
});
export type TargetConfiguration = z.infer<typeof targetConfigurationSchema>;

/** A B2B collaboration, direct connect or tenant restrictions setting: users and groups, and applications. */
export const b2bSettingSchema = z.looseObject({
  usersAndGroups: targetConfigurationSchema.nullish(),
  applications: targetConfigurationSchema.nullish(),
});
export type B2BSetting = z.infer<typeof b2bSettingSchema>;

export const inboundTrustSchema = z.looseObject({
  isMfaAccepted: z.boolean().nullish(),
  isCompliantDeviceAccepted: z.boolean().nullish(),
  isHybridAzureADJoinedDeviceAccepted: z.boolean().nullish(),
});
export type InboundTrust = z.infer<typeof inboundTrustSchema>;

const settings = {
  inboundTrust: inboundTrustSchema.nullish(),
  b2bCollaborationInbound: b2bSettingSchema.nullish(),
  b2bCollaborationOutbound: b2bSettingSchema.nullish(),
  b2bDirectConnectInbound: b2bSettingSchema.nullish(),
  b2bDirectConnectOutbound: b2bSettingSchema.nullish(),
  tenantRestrictions: b2bSettingSchema.nullish(),
};

/** crossTenantAccessPolicyConfigurationDefault. */
export const defaultPolicySchema = z.looseObject({ isServiceDefault: z.boolean().nullish(), ...settings });
export type DefaultPolicy = z.infer<typeof defaultPolicySchema>;

/** crossTenantAccessPolicyConfigurationPartner: a null setting inherits the default's. */
export const partnerPolicySchema = z.looseObject({
  tenantId: z.string().min(1),
  isServiceProvider: z.boolean().nullish(),
  ...settings,
});
export type PartnerPolicy = z.infer<typeof partnerPolicySchema>;

/** authorizationPolicy: who may invite guests and what guests may read of the directory. */
export const authorizationPolicySchema = z.looseObject({
  allowInvitesFrom: z.string().nullish(),
  guestUserRoleId: z.string().nullish(),
});
export type AuthorizationPolicy = z.infer<typeof authorizationPolicySchema>;

export interface EntraPolicies {
  default: DefaultPolicy;
  partners: PartnerPolicy[];
  /** Null when Graph answered but the policy could not be read (named in `unreadable`). */
  authorization: AuthorizationPolicy | null;
  /** Partners or policies Graph returned that could not be read. */
  unreadable: string[];
}

/** What Graph said: the policies, or why the scanner may not read them. */
export type PoliciesAnswer = EntraPolicies | { denied: string };

export interface PolicyReader {
  read(): Promise<PoliciesAnswer>;
}

/** Pages of `/partners` followed at most; a tenant has far fewer partners than this times Graph's page. */
const MAX_PAGES = 50;

export const POLICY_READ_PERMISSION = "Policy.Read.All";

const denied = (status: number, path: string) => ({
  denied:
    `Microsoft Graph answered ${status} to ${path}; grant the scanner's identity ` +
    `${POLICY_READ_PERMISSION} to check the cross-tenant access settings`,
});

/**
 * Reads the three policies through Graph. 401 or 403 on any of them means the scanner lacks
 * Policy.Read.All: the caller skips the check; any other failure throws.
 */
export function graphPolicies(connection: AzureConnection, get: AzureGet): PolicyReader {
  const graph = connection.graphEndpoint;
  const auth = { scope: `${graph}/.default` };

  async function getJson(path: string, url = `${graph}/v1.0${path}`): Promise<unknown | { denied: string }> {
    let response;
    try {
      response = await get(url, auth);
    } catch (error) {
      throw new Error(`Could not ask Microsoft Graph for ${path}: ${errorMessage(error)}`, { cause: error });
    }
    if (response.status === 401 || response.status === 403) return denied(response.status, path);
    if (response.status !== 200) throw new Error(`Microsoft Graph answered ${response.status} to ${path}.`);
    try {
      // Partner tenants' data and names are not ours: cleaned where they enter.
      return cleanDeep(JSON.parse(response.bodyAsText ?? "null") as unknown);
    } catch {
      throw new Error(`Microsoft Graph's answer to ${path} is not JSON.`);
    }
  }
  const isDenied = (value: unknown): value is { denied: string } =>
    typeof value === "object" && value !== null && "denied" in value;

  return {
    async read() {
      const unreadable: string[] = [];
      const defaultPath = "/policies/crossTenantAccessPolicy/default";
      const rawDefault = await getJson(defaultPath);
      if (isDenied(rawDefault)) return rawDefault;
      const parsedDefault = defaultPolicySchema.safeParse(rawDefault);
      if (!parsedDefault.success)
        throw new Error(`Graph's ${defaultPath} is not readable: ${parsedDefault.error.issues[0]?.message}`);

      const partners: PartnerPolicy[] = [];
      const partnersPath = "/policies/crossTenantAccessPolicy/partners";
      let url: string | undefined = `${graph}/v1.0${partnersPath}`;
      for (let page = 0; url && page < MAX_PAGES; page++) {
        const body = await getJson(partnersPath, url);
        if (isDenied(body)) return body;
        const parsed = z
          .object({ value: z.array(z.unknown()), "@odata.nextLink": z.string().nullish() })
          .safeParse(body);
        if (!parsed.success) throw new Error(`Graph's ${partnersPath} answer has no value list.`);
        for (const item of parsed.data.value) {
          const partner = partnerPolicySchema.safeParse(item);
          if (partner.success) partners.push(partner.data);
          else
            unreadable.push(
              `A partner policy Graph returned is not readable: ${partner.error.issues[0]?.message}`,
            );
        }
        const next = parsed.data["@odata.nextLink"];
        // Only Graph's own pages are followed: a next link elsewhere would send our token away.
        url = next && new URL(next).origin === new URL(graph).origin ? next : undefined;
        if (next && !url)
          unreadable.push(`Graph's ${partnersPath} next page is not on ${graph}; not followed.`);
        if (url && page === MAX_PAGES - 1)
          unreadable.push(`Graph's ${partnersPath} has more than ${MAX_PAGES} pages; the rest was not read.`);
      }

      const authorizationPath = "/policies/authorizationPolicy";
      const rawAuthorization = await getJson(authorizationPath);
      if (isDenied(rawAuthorization)) return rawAuthorization;
      const authorization = authorizationPolicySchema.safeParse(rawAuthorization);
      if (!authorization.success)
        unreadable.push(
          `Graph's ${authorizationPath} is not readable: ${authorization.error.issues[0]?.message}`,
        );
      return {
        default: parsedDefault.data,
        partners,
        authorization: authorization.success ? authorization.data : null,
        unreadable,
      };
    },
  };
}
