import { idKey } from "./resource-id";
import { z } from "zod";
import type { VisibleSubscription } from "../findings/coverage";
import type { QueryAll } from "./resource-graph";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The subscriptions of the request's scope, with their management group ancestors. It is sent
 * with the subscriptions asked about as the request's scope (up to Resource Graph's 1000 a
 * request), so its text stays the same however many are asked about, and only what the identity
 * can still read comes back.
 */
export const SUBSCRIPTION_COVERAGE_QUERY = `resourcecontainers
| where type =~ 'microsoft.resources/subscriptions'
| project subscriptionId, managementGroups = properties.managementGroupAncestorsChain
| order by subscriptionId asc`;

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

/**
 * Which of these subscriptions Resource Graph shows the scan, with their management group
 * ancestors. Under a management-group scope only those still under one of its groups count.
 */
export async function visibleSubscriptions(
  queryAll: QueryAll,
  subscriptionIds: Iterable<string>,
  managementGroups: readonly string[] = [],
): Promise<VisibleSubscription[]> {
  // Only GUIDs can be subscriptions; anything else (never from Resource Graph) stays unverified.
  const ids = [...new Set([...subscriptionIds].map((id) => idKey(id)))].filter((id) => GUID.test(id)).sort();
  if (ids.length === 0) return [];
  const { rows, unreadable } = await queryAll(
    "coverage",
    SUBSCRIPTION_COVERAGE_QUERY,
    coverageRowSchema,
    ids,
  );
  // A subscription row that cannot be read is neither seen nor provably gone: ask again next scan.
  if (unreadable.length > 0) throw new Error(unreadable.map((row) => row.message).join("; "));
  const asked = new Set(ids);
  const groups = new Set(managementGroups.map((g) => idKey(g)));
  return rows
    .filter((row) => asked.has(idKey(row.subscriptionId)))
    .filter((row) => groups.size === 0 || row.managementGroups.some((g) => groups.has(idKey(g))));
}
