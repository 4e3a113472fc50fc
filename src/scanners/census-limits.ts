/**
 * The most remote subscriptions one census row's set holds (`make_set(x, max)`,
 * learn.microsoft.com/kusto/query/make-set-aggregation-function): five ids per row of a Resource
 * Graph page (5,000 at the default 1000 rows, about 200 KB of ids), so a group's census of 16 rows
 * a tenant holds up to 80,000 remote subscriptions before it is cut. A set that reaches it may
 * have been cut, so its group is counted again in smaller parts.
 */
export const censusSetMax = (pageSize: number) => 5 * pageSize;
