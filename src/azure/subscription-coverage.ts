import { z } from "zod";
import type { VisibleSubscription } from "../scan/coverage";
import type { QueryAll } from "./resource-graph";

/**
 * Subscription ids per coverage query: 100 quoted GUIDs keep each query text near 4.5 KB. Resource
 * Graph documents no query-text limit we could find, so the batch stays modest; the candidates
 * are only the subscriptions holding findings, few next to the estate.
 */
export const COVERAGE_BATCH = 100;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Which of these subscriptions Resource Graph shows in the scan's scope, with their management
 * group ancestors. Under a management-group scope it answers "still under this group?".
 */
export function subscriptionCoverageQuery(subscriptionIds: readonly string[]): string {
  const bad = subscriptionIds.find((id) => !GUID.test(id));
  if (bad !== undefined) throw new Error(`'${bad}' is not a subscription id (a GUID).`);
  return `resourcecontainers
| where type =~ 'microsoft.resources/subscriptions'
| where subscriptionId in~ (${subscriptionIds.map((id) => `'${id.toLowerCase()}'`).join(", ")})
| project subscriptionId, managementGroups = properties.managementGroupAncestorsChain
| order by subscriptionId asc`;
}

export const coverageRowSchema = z.object({
  subscriptionId: z.string().min(1),
  // `properties.managementGroupAncestorsChain`: the subscription's groups, parent first, each with
  // `name` (the group id) and `displayName` (learn.microsoft.com/azure/governance/management-groups/
  // resource-graph-samples). Absent or null outside a management group hierarchy.
  managementGroups: z
    .array(z.looseObject({ name: z.string() }))
    .nullish()
    .transform((chain) => (chain ?? []).map((g) => g.name)),
});

/** Asks Resource Graph, in batches, which of these subscriptions the scan can see. */
export async function visibleSubscriptions(
  queryAll: QueryAll,
  subscriptionIds: Iterable<string>,
): Promise<VisibleSubscription[]> {
  // Only GUIDs can be subscriptions; anything else (never from Resource Graph) stays unverified.
  const ids = [...new Set([...subscriptionIds].map((id) => id.toLowerCase()))]
    .filter((id) => GUID.test(id))
    .sort();
  const visible: VisibleSubscription[] = [];
  for (let i = 0; i < ids.length; i += COVERAGE_BATCH) {
    const batch = ids.slice(i, i + COVERAGE_BATCH);
    const { rows, unreadable } = await queryAll(
      "coverage",
      subscriptionCoverageQuery(batch),
      coverageRowSchema,
    );
    // A subscription row that cannot be read is neither seen nor provably gone: ask again next scan.
    if (unreadable.length > 0) throw new Error(unreadable.map((row) => row.message).join("; "));
    visible.push(...rows);
  }
  return visible;
}
