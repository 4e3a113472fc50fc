import { GUID_PATTERN } from "../../validation";
import type { DirectoryObject } from "../../azure/directory-objects";
import type { ForeignPrincipalFinding } from "./finding";

/** What Graph's answer says of one principal: where it comes from, or what was missing to tell. */
export interface PrincipalVerdict {
  kind: ForeignPrincipalFinding["principalKind"];
  /** The tenant it comes from, where Graph says it (an app's owner tenant); null otherwise. */
  homeTenantId: string | null;
  /** A domain of its home tenant (from a `#EXT#` UPN, identities or mail), to look the tenant up by. */
  homeDomain: string | null;
  /** An app owned by a Microsoft app-owner tenant (MICROSOFT_APP_OWNER_TENANT_IDS). */
  microsoftApp: boolean;
  /** Why Graph's answer did not decide (the finding is then unresolved); null when it did. */
  missing: string | null;
  /** What said it is external (for the summary): "userType Guest", "#EXT# in the UPN", … */
  signals: string[];
}

/** A user's fields that decide whether they are external; a user is ours only when all were answered. */
const DECIDING_USER_FIELDS = [
  "userType",
  "userPrincipalName",
  "externalUserState",
  "creationType",
  "identities",
] as const;

const lower = (s: string | null | undefined) => s?.toLowerCase() ?? null;
const DOMAIN = /^[a-z0-9-]+(\.[a-z0-9-]+)+$/;
const asDomain = (s: string | null | undefined) => {
  const d = lower(s)?.trim() ?? "";
  return DOMAIN.test(d) ? d : null;
};

/**
 * The home domain carried by an external user's UPN: `alice_fabrikam.com#EXT#@contoso.onmicrosoft.com`
 * keeps the user's own address before `#EXT#`, its `@` written as `_` (Entra External ID,
 * "Properties of a B2B guest user": the UPN of an invited user). Domains hold no `_`, so the last
 * one separates it.
 */
export function domainOfExternalUpn(upn: string | null | undefined): string | null {
  const match = upn?.match(/^(.*)#EXT#@/i);
  if (!match) return null;
  const local = match[1]!;
  const at = local.lastIndexOf("_");
  return at < 0 ? null : asDomain(local.slice(at + 1));
}

const mailDomain = (mail: string | null | undefined) => {
  const at = mail?.lastIndexOf("@") ?? -1;
  return at < 0 ? null : asDomain(mail!.slice(at + 1));
};

/**
 * Whether a user comes from another tenant, by every sign Graph documents (user resource type,
 * learn.microsoft.com/graph/api/resources/user):
 * - `userType` `Guest` ("Member or Guest"); cross-tenant synchronization creates external users as
 *   `Member` by default, so a Member is not yet ours;
 * - `#EXT#` in `userPrincipalName`, which Entra gives every invited external user, Guest or Member
 *   (Entra External ID, "Properties of a B2B guest user");
 * - `externalUserState` (`PendingAcceptance`/`Accepted` for users invited with the invitation API,
 *   null for all other users);
 * - `creationType` `Invitation` ("as an external account");
 * - `identities` with `signInType` `federated` (objectIdentity: for users from other Entra
 *   organisations, `issuer` is the federated organisation's domain, or `ExternalAzureAD`).
 * Null when the user is one of ours. `userType` missing with no other sign: undecided (`unknown`).
 */
export function userVerdict(user: DirectoryObject): PrincipalVerdict | null {
  const signals: string[] = [];
  const guest = lower(user.userType) === "guest";
  if (guest) signals.push("userType Guest");
  const upnDomain = domainOfExternalUpn(user.userPrincipalName);
  if (/#EXT#@/i.test(user.userPrincipalName ?? "")) signals.push("#EXT# in the UPN");
  if (user.externalUserState) signals.push(`externalUserState ${user.externalUserState}`);
  if (lower(user.creationType) === "invitation") signals.push("creationType Invitation");
  const federated = (user.identities ?? []).filter((i) => lower(i.signInType) === "federated");
  if (federated.length > 0) signals.push("a federated identity from another organisation");
  const issuerDomain = federated.map((i) => asDomain(i.issuer)).find((d) => d !== null) ?? null;
  const homeDomain = upnDomain ?? issuerDomain ?? (signals.length > 0 ? mailDomain(user.mail) : null);
  if (signals.length > 0)
    return {
      kind: guest ? "guest-user" : "external-member",
      homeTenantId: null,
      homeDomain,
      microsoftApp: false,
      missing: null,
      signals,
    };
  // Ours only when Graph answered every deciding field (null is an answer; left out is not).
  const absent = DECIDING_USER_FIELDS.filter((field) =>
    field === "userType" ? !user.userType : user[field] === undefined,
  );
  if (absent.length > 0)
    return {
      kind: "unknown",
      homeTenantId: null,
      homeDomain: null,
      microsoftApp: false,
      missing: `Microsoft Graph returned no ${absent.join(", ")} for user ${user.id}`,
      signals,
    };
  return null;
}

/** A service principal is foreign when its app is owned by another tenant (`appOwnerOrganizationId`). */
export function servicePrincipalVerdict(
  sp: DirectoryObject,
  localTenantId: string,
  microsoftAppOwners: readonly string[],
): PrincipalVerdict | null {
  // Returned as null, the app has no owning organisation (a managed identity): ours. Left out of
  // the answer, nobody said: undecided.
  if (sp.appOwnerOrganizationId === null) return null;
  const owner = lower(sp.appOwnerOrganizationId);
  if (!owner)
    return {
      kind: "unknown",
      homeTenantId: null,
      homeDomain: null,
      microsoftApp: false,
      missing: `Microsoft Graph returned no appOwnerOrganizationId for service principal ${sp.id}`,
      signals: [],
    };
  // Graph's answer is outside text: an owner that is not a GUID names no tenant we could judge.
  if (!GUID_PATTERN.test(owner))
    return {
      kind: "unknown",
      homeTenantId: null,
      homeDomain: null,
      microsoftApp: false,
      missing: `Microsoft Graph returned an appOwnerOrganizationId that is not a tenant id for service principal ${sp.id}`,
      signals: [],
    };
  if (owner === localTenantId.toLowerCase()) return null;
  return {
    kind: "foreign-service-principal",
    homeTenantId: owner,
    homeDomain: null,
    microsoftApp: microsoftAppOwners.some((id) => id.toLowerCase() === owner),
    missing: null,
    signals: [`app owned by tenant ${owner}`],
  };
}

/**
 * What one principal is, from the assignment's principalType and Graph's object. Null for one of
 * the local tenant's own; `unknown` (with `missing`) when Graph did not say what decides.
 */
export function principalVerdict(
  principalType: string,
  principalId: string,
  object: DirectoryObject | undefined,
  localTenantId: string,
  microsoftAppOwners: readonly string[],
): PrincipalVerdict | null {
  if (principalType.toLowerCase() === "foreigngroup")
    return {
      kind: "foreign-group",
      homeTenantId: null,
      homeDomain: null,
      microsoftApp: false,
      missing: null,
      signals: ["foreign group"],
    };
  if (!object)
    return {
      kind: "unknown",
      homeTenantId: null,
      homeDomain: null,
      microsoftApp: false,
      missing: `Microsoft Graph did not return ${principalType} ${principalId} (deleted, or not readable)`,
      signals: [],
    };
  const type = object["@odata.type"].toLowerCase();
  if (type === "#microsoft.graph.user") return userVerdict(object);
  if (type === "#microsoft.graph.serviceprincipal")
    return servicePrincipalVerdict(object, localTenantId, microsoftAppOwners);
  return null;
}
