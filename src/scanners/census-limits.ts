/**
 * The most remote subscriptions one census row's set holds (`make_set(x, max)`,
 * learn.microsoft.com/kusto/query/make-set-aggregation-function): two and a half ids per row of a
 * Resource Graph page (2,500 at the default 1000 rows, about 100 KB), so a census answer stays
 * near the size of a page of ordinary rows. A set that reaches it may have been cut, so its group
 * is counted again in smaller parts.
 */
export const censusSetMax = (pageSize: number) => Math.ceil(2.5 * pageSize);
