import { objectIdOf } from "../credential";
import type { IncomingMessage, ServerResponse } from "node:http";
import { isVisible, type Estate } from "../estate";
import { readThrottled } from "./read-limits";

/**
 * ARM's "Management Groups - Get Descendants" (api-version 2020-05-01,
 * learn.microsoft.com/rest/api/managementgroups/management-groups/get-descendants):
 * `GET /providers/Microsoft.Management/managementGroups/{groupId}/descendants` lists every
 * management group and subscription below the group (all levels, not the group itself), each
 * with its parent, paged through `nextLink` (`$top`, `$skiptoken`).
 *
 * The tree is built from the estate's subscriptions: each one's `managementGroups` is its ancestor
 * chain, nearest first, without the tenant root group, whose name is the tenant id (Azure's
 * convention). Only the home tenant's subscriptions the scanner can see are in it.
 */

const GROUP_PREFIX = "/providers/Microsoft.Management/managementGroups/";
export const MANAGEMENT_GROUP_TYPE = "Microsoft.Management/managementGroups";
/** The type the API gives subscriptions among descendants (the doc's example response). */
export const SUBSCRIPTION_DESCENDANT_TYPE = "/subscriptions";
/**
 * Descendants per page when the request sets no `$top`. Azure does not document its page size;
 * 100 is the sandbox's choice, as for `GET /subscriptions`.
 */
export const DESCENDANTS_PAGE = 100;
/** The largest `$top` the sandbox honours (as its other paged answers); larger values are capped. */
const MAX_TOP = 1000;

export interface Descendant {
  id: string;
  type: typeof MANAGEMENT_GROUP_TYPE | typeof SUBSCRIPTION_DESCENDANT_TYPE;
  name: string;
  properties: { displayName: string; parent: { id: string } };
}

const groupId = (name: string) => `${GROUP_PREFIX}${name}`;

const key = (name: string) => name.toLowerCase();

interface Tree {
  /** The root group's key: the home tenant id, lower case. */
  root: string;
  /** Each group's first-seen spelling and parent (by key), in the order they were placed. */
  groups: Map<string, { name: string; parent: string }>;
  /** The visible home subscriptions, each with its parent group (by key). */
  subscriptions: { subscriptionId: string; displayName: string; parent: string }[];
}

/**
 * The home tenant's management-group tree from the subscriptions' chains. When two chains
 * disagree on a group's parent, the first subscription (in estate order) to name the group
 * decides; a name repeated within one chain keeps its place nearest the root. Either way the tree
 * stays a tree.
 */
function treeOf(estate: Estate): Tree {
  const root = key(estate.homeTenantId);
  const groups: Tree["groups"] = new Map();
  const subscriptions: Tree["subscriptions"] = [];
  for (const s of estate.subscriptions) {
    if (key(s.tenantId) !== root || !isVisible(estate, s)) continue;
    // A chain that names the root itself (which it should not) ends there.
    const rootAt = s.managementGroups.findIndex((g) => key(g) === root);
    const chain = rootAt === -1 ? s.managementGroups : s.managementGroups.slice(0, rootAt);
    // From the root down: each group's parent is placed before it, so no cycle can form.
    let parent = root;
    for (const name of [...chain].reverse()) {
      if (!groups.has(key(name))) groups.set(key(name), { name, parent });
      parent = key(name);
    }
    subscriptions.push({ subscriptionId: s.subscriptionId, displayName: s.displayName, parent });
  }
  return { root, groups, subscriptions };
}

/**
 * The groups above each management group, nearest first and ending with the root group, lower
 * case (the same tree as the descendants list); none for the root or a group not in the tree.
 */
export function managementGroupAncestors(estate: Estate): (group: string) => string[] {
  const { root, groups } = treeOf(estate);
  return (group) => {
    const above: string[] = [];
    for (let at = groups.get(key(group)); at; at = groups.get(at.parent)) above.push(at.parent);
    return above.length > 0 && above.at(-1) === root ? above : [];
  };
}

/**
 * The descendants of management group `group` (ASCII case-insensitive; the home tenant id names
 * the root group), parents before their children; undefined when the tree has no such group.
 * Azure documents no order; clients should not rely on this one.
 */
export function managementGroupDescendants(estate: Estate, group: string): Descendant[] | undefined {
  const { groups, subscriptions } = treeOf(estate);
  const root = estate.homeTenantId;
  const wanted = key(group);
  if (wanted !== key(root) && !groups.has(wanted)) return undefined;
  const nameOf = (k: string) => (k === key(root) ? root : groups.get(k)!.name);
  const below = (k: string): boolean => {
    for (let at = k; at !== key(root); at = groups.get(at)!.parent) {
      if (groups.get(at)!.parent === wanted) return true;
    }
    return false;
  };
  const underWanted = (parent: string) => parent === wanted || (parent !== key(root) && below(parent));
  return [
    ...[...groups.entries()]
      .filter(([k]) => k !== wanted && below(k))
      .map(([, g]): Descendant => ({
        id: groupId(g.name),
        type: MANAGEMENT_GROUP_TYPE,
        name: g.name,
        properties: { displayName: g.name, parent: { id: groupId(nameOf(g.parent)) } },
      })),
    ...subscriptions
      .filter((s) => underWanted(s.parent))
      .map((s): Descendant => ({
        id: `/subscriptions/${s.subscriptionId}`,
        type: SUBSCRIPTION_DESCENDANT_TYPE,
        name: s.subscriptionId,
        properties: { displayName: s.displayName, parent: { id: groupId(nameOf(s.parent)) } },
      })),
  ];
}

export interface ManagementGroupOptions {
  /** Descendants per page without `$top` (DESCENDANTS_PAGE by default). */
  pageSize?: number;
  /** Whether the scanner may read management groups (default true); if not, 403 AuthorizationFailed. */
  readable?: boolean;
  /** Called once per descendants request, before anything else. */
  onRequest?: () => void;
  /** A tenant-level ARM read by the token's principal: the seconds to wait when ARM throttles it. */
  throttle?: (token: string) => number | undefined;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  res.end(JSON.stringify(body));
}

const armError = (code: string, message: string) => ({ error: { code, message } });

/**
 * The list a paging began with, per estate and group: the first page (no `$skiptoken`) builds it,
 * the pages after it slice the same list, so a long list is not built again for every page.
 */
const pagings = new WeakMap<Estate, Map<string, Descendant[]>>();

const DESCENDANTS_PATH = /^\/providers\/Microsoft\.Management\/managementGroups\/([^/]+)\/descendants\/?$/i;

/** Serves `GET …/managementGroups/{groupId}/descendants`; false when the request is for another route. */
export function serveManagementGroups(
  estate: Estate,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  url: URL,
  options: ManagementGroupOptions = {},
): boolean {
  const match = req.method === "GET" ? path.match(DESCENDANTS_PATH) : null;
  if (!match) return false;
  const group = match[1]!;
  options.onRequest?.();
  const header = req.headers.authorization;
  const token = header?.startsWith("Bearer ") ? header.slice(7) : undefined;
  if (!token) {
    send(
      res,
      401,
      armError("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."),
    );
    return true;
  }
  // Management-group reads are tenant-level reads under ARM's read limits (sandbox/arm/read-limits.ts).
  const retryAfter = options.throttle?.(token);
  if (retryAfter !== undefined) {
    const refused = readThrottled(retryAfter);
    send(res, refused.status, refused.body, refused.headers);
    return true;
  }
  if (options.readable === false) {
    // ARM's refusal when the principal holds no role granting the action at the scope.
    const principal = objectIdOf(token) ?? "unknown";
    send(
      res,
      403,
      armError(
        "AuthorizationFailed",
        `The client '${principal}' with object id '${principal}' does not have authorization to perform action 'Microsoft.Management/managementGroups/descendants/read' over scope '${groupId(group)}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
      ),
    );
    return true;
  }
  const byGroup = pagings.get(estate) ?? new Map<string, Descendant[]>();
  pagings.set(estate, byGroup);
  const first = !url.searchParams.has("$skiptoken");
  const all = (!first && byGroup.get(key(group))) || managementGroupDescendants(estate, group);
  if (all) byGroup.set(key(group), all);
  if (!all) {
    send(res, 404, armError("NotFound", `The management group '${group}' was not found.`));
    return true;
  }
  const topParam = url.searchParams.get("$top");
  const top = topParam === null ? (options.pageSize ?? DESCENDANTS_PAGE) : Number(topParam);
  if (!Number.isInteger(top) || top < 1) {
    send(res, 400, armError("BadRequest", "$top must be a positive integer."));
    return true;
  }
  const pageSize = Math.min(top, MAX_TOP);
  const start = Math.max(0, Number(url.searchParams.get("$skiptoken") ?? "0") || 0);
  const body: { value: Descendant[]; nextLink?: string } = { value: all.slice(start, start + pageSize) };
  if (start + pageSize < all.length) {
    const next = new URL(url.toString());
    next.searchParams.set("$skiptoken", String(start + pageSize));
    // ARM's nextLinks spell `$skiptoken` with a literal `$`, as the request does.
    body.nextLink = `https://${req.headers.host}${next.pathname}${next.search.replace(/%24/g, "$")}`;
  }
  send(res, 200, body);
  return true;
}
