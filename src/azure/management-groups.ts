import { z } from "zod";
import { errorMessage } from "../errors";
import { GUID_PATTERN } from "../validation";
import type { AzureConnection } from "./connection";
import type { AzureGet } from "./http";
import { idKey } from "./resource-id";
import type { Descendant } from "./scope-plan";

const descendantsSchema = z.object({
  value: z.array(
    z.looseObject({
      id: z.string().nullish(),
      type: z.string().nullish(),
      name: z.string().nullish(),
      properties: z.looseObject({ parent: z.looseObject({ id: z.string().nullish() }).nullish() }).nullish(),
    }),
  ),
  nextLink: z.string().nullish(),
});

/** A management group's name as ARM allows it (up to 90 letters, digits, `-_.()`); anything else is not used. */
const GROUP_NAME = /^[A-Za-z0-9_.()-]{1,90}$/;
/** Far past any tenant: 10,000 pages of the service's page size. */
const MAX_PAGES = 10_000;
const GROUP_ID = /^\/providers\/microsoft\.management\/managementgroups\/([^/]+)$/i;

/** The group a parent id names, or null when it names none we can use. */
function groupOf(id: string | null | undefined): string | null {
  const name = id?.match(GROUP_ID)?.[1];
  return name && GROUP_NAME.test(name) ? idKey(name) : null;
}

/**
 * One entry of the answer, or null when it cannot be placed (a name or parent that is not a
 * management group's or a subscription's): what sits below an entry left out is not planned by
 * management group, and is read in subscription groups as before.
 */
function descendantOf(item: z.infer<typeof descendantsSchema>["value"][number]): Descendant | null {
  const parent = groupOf(item.properties?.parent?.id);
  const type = (item.type ?? "").toLowerCase();
  if (type === "/subscriptions") {
    const name = item.name ?? "";
    return GUID_PATTERN.test(name) ? { kind: "subscription", name: idKey(name), parent } : null;
  }
  // The API's own spelling, and the one with its provider path some tools show.
  if (
    type === "microsoft.management/managementgroups" ||
    type === "/providers/microsoft.management/managementgroups"
  ) {
    const name = groupOf(item.id);
    return name ? { kind: "group", name, parent } : null;
  }
  return null;
}

/** The first page of the descendants of management group `group`. */
export const descendantsUrl = (connection: AzureConnection, group: string) =>
  `${connection.armEndpoint}/providers/Microsoft.Management/managementGroups/${encodeURIComponent(group)}/descendants?api-version=2020-05-01`;

/**
 * Every management group and subscription below `group`, through ARM's "Management Groups - Get
 * Descendants" (api-version 2020-05-01) and its `nextLink` pages. Needs
 * `Microsoft.Management/managementGroups/descendants/read` (Reader on the group has it); an answer
 * other than 200 throws, naming it.
 */
export async function listDescendants(
  connection: AzureConnection,
  get: AzureGet,
  group: string,
): Promise<Descendant[]> {
  const scope = { scope: `${connection.armEndpoint}/.default` };
  const found: Descendant[] = [];
  let url: string | null | undefined = descendantsUrl(connection, group);
  const followed = new Set<string>();
  for (let page = 1; url; page++) {
    // A next page that was already read (or no end in sight) would never finish.
    if (followed.has(url) || page > MAX_PAGES)
      throw new Error(
        `Azure Resource Manager's descendants of management group ${group} do not end (page ${page}).`,
      );
    followed.add(url);
    const response = await get(url, scope);
    if (response.status !== 200) {
      throw new Error(
        `Azure Resource Manager answered ${response.status} when asked for the descendants of management group ${group} (page ${page}).`,
      );
    }
    let body;
    try {
      body = descendantsSchema.parse(JSON.parse(response.bodyAsText ?? ""));
    } catch (error) {
      throw new Error(
        `Azure Resource Manager's descendants of management group ${group} (page ${page}) are unreadable: ${errorMessage(error)}`,
        { cause: error },
      );
    }
    for (const item of body.value) {
      const descendant = descendantOf(item);
      if (descendant) found.push(descendant);
    }
    url = body.nextLink;
    // Follow nextLink only on the endpoint we were given: the token must not go elsewhere.
    if (url && !url.startsWith(`${connection.armEndpoint}/`)) {
      throw new Error(
        `Azure Resource Manager's descendants of management group ${group} point their next page off ${connection.armEndpoint}.`,
      );
    }
  }
  return found;
}
