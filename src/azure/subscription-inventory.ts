import { z } from "zod";
import { errorMessage } from "../errors";
import type { AzureConnection } from "./connection";
import type { AzureGet } from "./http";

/** How many subscriptions the scan covers; a count, not the inventory (sum the rows of each group). */
export const SUBSCRIPTION_COUNT_QUERY = `resourcecontainers
| where type =~ 'microsoft.resources/subscriptions'
| count`;

export const subscriptionCountRowSchema = z.object({ Count: z.number().int() });

const subscriptionListSchema = z.object({
  value: z.array(z.looseObject({ subscriptionId: z.string().min(1), tenantId: z.string().nullish() })),
  nextLink: z.string().nullish(),
});

export interface ListedSubscription {
  subscriptionId: string;
  tenantId: string | null;
}

/**
 * Every subscription the identity can read, through ARM's `GET /subscriptions` and its `nextLink`
 * pages. Resource Graph's own list is cut at 10,000 subscriptions too, so this is the fallback.
 * With `each`, every subscription is handed over as its page arrives and none is kept here (the
 * scan keeps one compact map of them), and the returned list is empty.
 */
export async function listSubscriptions(
  connection: AzureConnection,
  get: AzureGet,
  each?: (subscription: ListedSubscription) => void,
): Promise<ListedSubscription[]> {
  const scope = { scope: `${connection.armEndpoint}/.default` };
  const listed: ListedSubscription[] = [];
  const take = each ?? ((s: ListedSubscription) => listed.push(s));
  let url: string | null | undefined = `${connection.armEndpoint}/subscriptions?api-version=2022-12-01`;
  for (let page = 1; url; page++) {
    const response = await get(url, scope);
    if (response.status !== 200) {
      throw new Error(
        `Azure Resource Manager answered ${response.status} to GET /subscriptions (page ${page}).`,
      );
    }
    let body;
    try {
      body = subscriptionListSchema.parse(JSON.parse(response.bodyAsText ?? ""));
    } catch (error) {
      throw new Error(
        `Azure Resource Manager's subscription list (page ${page}) is unreadable: ${errorMessage(error)}`,
        { cause: error },
      );
    }
    for (const s of body.value) take({ subscriptionId: s.subscriptionId, tenantId: s.tenantId ?? null });
    url = body.nextLink;
    // Follow nextLink only on the endpoint we were given: the token must not go elsewhere.
    if (url && !url.startsWith(`${connection.armEndpoint}/`)) {
      throw new Error(
        `Azure Resource Manager's subscription list points its next page off ${connection.armEndpoint}.`,
      );
    }
  }
  return listed;
}
