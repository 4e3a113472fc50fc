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

/** A directory object as getByIds returns it; only what the principal check reads is required. */
export const directoryObjectSchema = z.looseObject({
  "@odata.type": z.string(),
  id: z.string(),
  displayName: z.string().nullish(),
  userType: z.string().nullish(),
  appOwnerOrganizationId: z.string().nullish(),
});
export type DirectoryObject = z.infer<typeof directoryObjectSchema>;

const responseSchema = z.object({ value: z.array(z.unknown()) });

/** What Graph said of the ids: the objects it found, or why the scanner may not ask. */
export type DirectoryAnswer = { objects: DirectoryObject[]; unreadable: string[] } | { denied: string };

export interface DirectoryObjects {
  getByIds(ids: string[]): Promise<DirectoryAnswer>;
}

/**
 * Microsoft Graph's directory, read in batches. 401 or 403 means the scanner lacks
 * Directory.Read.All: the caller skips what needs it; any other failure throws.
 */
export function graphDirectory(connection: AzureConnection, get: AzureGet): DirectoryObjects {
  const graph = connection.graphEndpoint;
  return {
    async getByIds(ids) {
      const objects: DirectoryObject[] = [];
      const unreadable: string[] = [];
      for (let start = 0; start < ids.length; start += GET_BY_IDS_BATCH) {
        const batch = ids.slice(start, start + GET_BY_IDS_BATCH);
        let response;
        try {
          response = await get(
            `${graph}/v1.0/directoryObjects/getByIds`,
            { scope: `${graph}/.default` },
            { ids: batch, types: ["user", "group", "servicePrincipal"] },
          );
        } catch (error) {
          throw new Error(`Could not ask Microsoft Graph for directory objects: ${errorMessage(error)}`, {
            cause: error,
          });
        }
        if (response.status === 401 || response.status === 403) {
          return {
            denied:
              `Microsoft Graph answered ${response.status} to directoryObjects/getByIds; ` +
              "grant the scanner's identity Directory.Read.All to check principals from other tenants",
          };
        }
        if (response.status !== 200)
          throw new Error(`Microsoft Graph answered ${response.status} to directoryObjects/getByIds.`);
        const body = responseSchema.parse(JSON.parse(response.bodyAsText ?? "{}"));
        for (const item of body.value) {
          // The other tenant's administrator names its principals: cleaned where they enter.
          const parsed = directoryObjectSchema.safeParse(cleanDeep(item));
          if (parsed.success) objects.push(parsed.data);
          else
            unreadable.push(
              `A directory object Graph returned is not readable: ${parsed.error.issues[0]?.message}`,
            );
        }
      }
      return { objects, unreadable };
    },
  };
}
