import { z } from "zod";
import { errorMessage } from "../errors";
import { cleanDeep } from "../text";
import type { AzureConnection } from "./connection";
import type { AzureGet } from "./http";

/**
 * Graph's `POST /directoryObjects/getByIds` takes at most 1000 ids a request
 * (learn.microsoft.com/graph/api/directoryobject-getbyids, "ids": "up to 1000").
 */
export const GET_BY_IDS_BATCH = 1000;

/**
 * Users are read with `GET /users?$filter=id in (…)&$select=…`: the `in` operator takes at most
 * 15 expressions by default (learn.microsoft.com/graph/filter-query-parameter).
 */
export const USERS_PER_FILTER = 15;

/**
 * What decides whether a user comes from another tenant. None but `displayName`, `id`, `mail` and
 * `userPrincipalName` is in v1.0's default property set, so every user read names them in
 * `$select` (user resource type, "Returned by default"; getByIds: "Not all directory objects
 * returned are the full objects").
 */
export const USER_PROPERTIES = [
  "id",
  "displayName",
  "userType",
  "userPrincipalName",
  "mail",
  "externalUserState",
  "creationType",
  "identities",
] as const;

/** What decides whether a service principal comes from another tenant: its app's owner tenant. */
export const SERVICE_PRINCIPAL_PROPERTIES = ["id", "displayName", "appId", "appOwnerOrganizationId"] as const;

/** What a group's transitive members are read with: users' deciding fields and apps' owner tenant. */
export const MEMBER_PROPERTIES = [...USER_PROPERTIES, "appOwnerOrganizationId", "appId"] as const;

/** A directory object as Graph returns it; only `@odata.type` and `id` are always there. */
export const directoryObjectSchema = z.looseObject({
  "@odata.type": z.string(),
  id: z.string(),
  displayName: z.string().nullish(),
  userType: z.string().nullish(),
  userPrincipalName: z.string().nullish(),
  mail: z.string().nullish(),
  externalUserState: z.string().nullish(),
  creationType: z.string().nullish(),
  identities: z
    .array(z.looseObject({ signInType: z.string().nullish(), issuer: z.string().nullish() }))
    .nullish(),
  appOwnerOrganizationId: z.string().nullish(),
});
export type DirectoryObject = z.infer<typeof directoryObjectSchema>;

const responseSchema = z.object({ value: z.array(z.unknown()), "@odata.nextLink": z.string().optional() });

/** What Graph said of the ids: the objects it found, or why the scanner may not ask. */
export type DirectoryAnswer = { objects: DirectoryObject[]; unreadable: string[] } | { denied: string };

/** A group's members through nested groups; `cut` when the scan's bound stopped the reading. */
export type MembersAnswer =
  { members: DirectoryObject[]; unreadable: string[]; cut: boolean } | { denied: string };

export interface DirectoryObjects {
  /** Which kind each object is (`@odata.type`), with getByIds' default properties. */
  getByIds(ids: string[]): Promise<DirectoryAnswer>;
  /** Users with the properties that decide whether they come from another tenant ($select). */
  getUsers(ids: string[]): Promise<DirectoryAnswer>;
  /** Service principals with their app's owner tenant ($select). */
  getServicePrincipals(ids: string[]): Promise<DirectoryAnswer>;
  /** A group's transitive members, at most `limit` of them. */
  transitiveMembers(groupId: string, limit: number): Promise<MembersAnswer>;
}

/** The Graph application permission whose absence a 401/403 means, and the one-line fix. */
export const grantHint = (permission: string) =>
  `grant the scanner's identity the Microsoft Graph application permission ${permission} (admin consent)`;

const denied = (status: number, what: string) => ({
  denied: `Microsoft Graph answered ${status} to ${what}; ${grantHint("Directory.Read.All")} to check principals from other tenants`,
});

/**
 * Microsoft Graph's directory, read in batches. 401 or 403 means the scanner lacks
 * Directory.Read.All: the caller skips what needs it; any other failure throws.
 */
export function graphDirectory(connection: AzureConnection, get: AzureGet): DirectoryObjects {
  const graph = connection.graphEndpoint;
  const auth = { scope: `${graph}/.default` };

  async function ask(url: string, what: string, body?: unknown) {
    let response;
    try {
      response = await get(url, auth, body);
    } catch (error) {
      throw new Error(`Could not ask Microsoft Graph for ${what}: ${errorMessage(error)}`, { cause: error });
    }
    if (response.status === 401 || response.status === 403) return denied(response.status, what);
    if (response.status !== 200) throw new Error(`Microsoft Graph answered ${response.status} to ${what}.`);
    return responseSchema.parse(JSON.parse(response.bodyAsText ?? "{}"));
  }

  function read(items: unknown[], objects: DirectoryObject[], unreadable: string[], type?: string): void {
    for (const item of items) {
      // The other tenant's administrator names its principals: cleaned where they enter.
      const cleaned = cleanDeep(item);
      const typed =
        type && typeof cleaned === "object" && cleaned !== null && !("@odata.type" in cleaned)
          ? { "@odata.type": type, ...cleaned }
          : cleaned;
      const parsed = directoryObjectSchema.safeParse(typed);
      if (parsed.success) objects.push(parsed.data);
      else
        unreadable.push(
          `A directory object Graph returned is not readable: ${parsed.error.issues[0]?.message}`,
        );
    }
  }

  /** `GET /{collection}?$filter=id in (…)&$select=…`, 15 ids a request. */
  async function listById(
    ids: string[],
    collection: string,
    properties: readonly string[],
    type: string,
  ): Promise<DirectoryAnswer> {
    const objects: DirectoryObject[] = [];
    const unreadable: string[] = [];
    for (let start = 0; start < ids.length; start += USERS_PER_FILTER) {
      // Ids are GUIDs (checked by the caller); quotes are doubled as OData escapes them anyway.
      const list = ids
        .slice(start, start + USERS_PER_FILTER)
        .map((id) => `'${id.replace(/'/g, "''")}'`)
        .join(",");
      const url = `${graph}/v1.0/${collection}?$filter=${encodeURIComponent(`id in (${list})`)}&$select=${properties.join(",")}`;
      const body = await ask(url, `${collection} (list with $select)`);
      if ("denied" in body) return body;
      read(body.value, objects, unreadable, type);
    }
    return { objects, unreadable };
  }

  return {
    async getByIds(ids) {
      const objects: DirectoryObject[] = [];
      const unreadable: string[] = [];
      for (let start = 0; start < ids.length; start += GET_BY_IDS_BATCH) {
        const batch = ids.slice(start, start + GET_BY_IDS_BATCH);
        const body = await ask(`${graph}/v1.0/directoryObjects/getByIds`, "directoryObjects/getByIds", {
          ids: batch,
          types: ["user", "group", "servicePrincipal"],
        });
        if ("denied" in body) return body;
        read(body.value, objects, unreadable);
      }
      return { objects, unreadable };
    },

    getUsers: (ids) => listById(ids, "users", USER_PROPERTIES, "#microsoft.graph.user"),
    getServicePrincipals: (ids) =>
      listById(ids, "servicePrincipals", SERVICE_PRINCIPAL_PROPERTIES, "#microsoft.graph.servicePrincipal"),

    async transitiveMembers(groupId, limit) {
      const members: DirectoryObject[] = [];
      const unreadable: string[] = [];
      let next: string | undefined =
        `${graph}/v1.0/groups/${encodeURIComponent(groupId)}/transitiveMembers?$select=${MEMBER_PROPERTIES.join(",")}`;
      while (next) {
        if (members.length >= limit) return { members, unreadable, cut: true };
        const body = await ask(next, `the transitive members of group ${groupId}`);
        if ("denied" in body) return body;
        read(body.value, members, unreadable);
        next = body["@odata.nextLink"];
        // Only Graph's own next page is followed, never a host it names elsewhere: not read is cut.
        if (next && new URL(next).origin !== new URL(graph).origin) return { members, unreadable, cut: true };
      }
      if (members.length > limit) return { members: members.slice(0, limit), unreadable, cut: true };
      return { members, unreadable, cut: false };
    },
  };
}
