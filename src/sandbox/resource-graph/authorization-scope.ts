import type { EstateSubscription } from "../estate";
import type { Row } from "../kql";

/**
 * Resource Graph's request option `authorizationScopeFilter`: which authorization resources come
 * back relative to the request's scope (QueryRequestOptions in the Resource Graph 2024-04-01 API;
 * `AtScopeAndBelow` when absent).
 */
export const AUTHORIZATION_SCOPE_FILTERS = [
  "AtScopeAndBelow",
  "AtScopeAndAbove",
  "AtScopeExact",
  "AtScopeAboveAndBelow",
] as const;
export type AuthorizationScopeFilter = (typeof AUTHORIZATION_SCOPE_FILTERS)[number];

export interface AuthorizationScope {
  /** Whether the request named subscriptions (rather than a tenant or management-group scope). */
  subscriptionScoped: boolean;
  /** The subscriptions the request's scope covers. */
  subscriptions: EstateSubscription[];
  managementGroups: string[];
  filter: AuthorizationScopeFilter;
  /** Whether a row of a subscription lies in the request's scope. */
  inScope: (row: Row) => boolean;
  /**
   * The home tenant's management-group tree: the groups above a group, nearest first, ending with
   * the root group (named by the home tenant id), lower case. Without it, a group's rows are seen
   * only from the group itself and from the subscriptions that name it in their chains.
   */
  groupAncestors?: (group: string) => string[];
  /** The home tenant id: the name of the root group, above every home subscription. */
  rootGroup?: string;
}

type Level = { kind: "subscription" } | { kind: "management-group"; group: string } | { kind: "tenant" };

/** Where an `authorizationresources` row lives: a subscription (or below), a management group, or the tenant root. */
function levelOf(row: Row): Level {
  if (row.subscriptionId) return { kind: "subscription" };
  const group = String(row.id).match(/^\/providers\/microsoft\.management\/managementgroups\/([^/]+)\//i);
  return group ? { kind: "management-group", group: group[1]!.toLowerCase() } : { kind: "tenant" };
}

const includesAbove = (filter: AuthorizationScopeFilter) =>
  filter === "AtScopeAboveAndBelow" || filter === "AtScopeAndAbove";
const includesBelow = (filter: AuthorizationScopeFilter) =>
  filter === "AtScopeAboveAndBelow" || filter === "AtScopeAndBelow";

/**
 * Whether Resource Graph returns this `authorizationresources` row to the request's scope.
 * - A subscription scope returns neither built-in role definitions (tenant-level, in no
 *   subscription) nor assignments made at management groups or the tenant root: they live
 *   outside any subscription (reported by users of the table, KnudsenMorten/AzResourceGraphPS#3,
 *   microsoft/mcp#3579; FACTS.md). Assignments above the scope come back only when
 *   `authorizationScopeFilter` includes "above".
 * - A tenant scope sees everything; a management-group scope sees its own rows and the tenant's
 *   role definitions, those of the groups below it (with "below": `AtScopeAndBelow` is the
 *   default of QueryRequestOptions.authorizationScopeFilter, Resource Graph REST 2024-04-01; the
 *   root group, named by the tenant id, holds every group: management-groups overview, "Root
 *   management group"), and its ancestors' and the root's assignments only with "above".
 */
export function authorizationRowInScope(row: Row, scope: AuthorizationScope): boolean {
  const level = levelOf(row);
  const isDefinition = String(row.type).toLowerCase() === "microsoft.authorization/roledefinitions";
  if (level.kind === "subscription") {
    if (!scope.inScope(row)) return false;
    if (includesBelow(scope.filter) || isDefinition || !scope.subscriptionScoped) return true;
    // At the scope exactly (or above): an assignment made on the subscription itself, not below it.
    const at = String((row.properties as Record<string, unknown> | undefined)?.scope ?? "").toLowerCase();
    return /^\/subscriptions\/[^/]+\/?$/.test(at);
  }
  const tenantScoped = !scope.subscriptionScoped && scope.managementGroups.length === 0;
  if (tenantScoped) return true;
  const requestedGroups = scope.managementGroups.map((g) => g.toLowerCase());
  if (level.kind === "tenant") {
    // Role definitions of the tenant (built-in ones) are seen from a management group; never from subscriptions.
    if (isDefinition) return !scope.subscriptionScoped;
    return includesAbove(scope.filter);
  }
  if (!scope.subscriptionScoped && requestedGroups.includes(level.group)) return true;
  const ancestors = scope.groupAncestors ?? (() => []);
  // A management group below the scope's group (the root group holds them all).
  if (
    !scope.subscriptionScoped &&
    includesBelow(scope.filter) &&
    ancestors(level.group).some((g) => requestedGroups.includes(g))
  )
    return true;
  if (!includesAbove(scope.filter) || isDefinition) return false;
  // A group above a management-group scope: an ancestor of a requested group, where the tree is known.
  if (!scope.subscriptionScoped && scope.groupAncestors)
    return requestedGroups.some((g) => ancestors(g).includes(level.group));
  // A management group above the scope: one of the scope's subscriptions sits under it (the root
  // group is above every home subscription).
  const root = scope.rootGroup?.toLowerCase();
  return scope.subscriptions.some(
    (s) =>
      s.managementGroups.some((g) => g.toLowerCase() === level.group) ||
      (level.group === root && s.tenantId.toLowerCase() === root),
  );
}
