import { idKey } from "./resource-id";

/** An entry of a management group's descendants: a group or a subscription, under its parent group. */
export interface Descendant {
  kind: "group" | "subscription";
  /** The group's name or the subscription's id, ARM-case-folded (idKey). */
  name: string;
  /** The parent group's name (idKey); null when ARM did not say one we can use. */
  parent: string | null;
}

/**
 * The groups whose tree a scan plans by: the configured management groups, else the tenant root
 * group (named after the tenant); none for an explicit subscription list, which a group would
 * reach past.
 */
export function treeRoots(
  scope: { managementGroups: string[]; subscriptions: string[] },
  tenantRootGroup: string | undefined,
): string[] {
  if (scope.managementGroups.length > 0) return scope.managementGroups;
  return scope.subscriptions.length > 0 || !tenantRootGroup ? [] : [tenantRootGroup];
}

/** One Resource Graph request scope made of whole management groups. */
export interface ManagementGroupScope {
  managementGroups: string[];
  /** Every subscription under them in the tree (the request's size against the cut-off). */
  size: number;
  /** The scanned subscriptions among them: read in subscription groups if the scope is cut off after all. */
  subscriptions: string[];
}

export interface ScopePlan {
  scopes: ManagementGroupScope[];
  /** Scanned subscriptions no planned group holds (under a group too large, or not in the tree). */
  leftover: string[];
}

/**
 * Past Resource Graph's cut-off a management group holding at most `limit` subscriptions can be
 * read in one request (the cut-off is per request scope: "a tenant- or management-group-scoped
 * query covers only the first 10,000 subscriptions"), where subscription groups take one request
 * per 1000. From the tree under `roots`: the largest groups within the limit, top down, packed
 * into requests of at most `limit` subscriptions in all; the subscriptions directly under a group
 * too large, and those the tree does not show, are left over for subscription groups. Only
 * `listed` subscriptions (what the scan covers) are members; the size counts every subscription
 * of the tree, which is what the cut-off counts. Pure.
 */
export function planScopes(
  roots: string[],
  descendants: Descendant[],
  listed: string[],
  limit: number,
): ScopePlan {
  const groupsUnder = new Map<string, string[]>();
  const subscriptionsUnder = new Map<string, string[]>();
  // Nested roots list a subtree twice: each entry counts once (the first answer's parent).
  const placed = new Set<string>();
  for (const d of descendants) {
    const key = `${d.kind}:${d.name}`;
    if (d.parent === null || placed.has(key)) continue;
    placed.add(key);
    const into = d.kind === "group" ? groupsUnder : subscriptionsUnder;
    const siblings = into.get(d.parent);
    if (siblings) siblings.push(d.name);
    else into.set(d.parent, [d.name]);
  }
  const scanned = new Set(listed.map((id) => idKey(id)));

  // Subtree sizes, each group once (a cycle in a hostile answer counts as nothing more).
  const sizes = new Map<string, number>();
  const sizeOf = (group: string): number => {
    const known = sizes.get(group);
    if (known !== undefined) return known;
    sizes.set(group, 0);
    const size =
      (subscriptionsUnder.get(group)?.length ?? 0) +
      (groupsUnder.get(group) ?? []).reduce((n, child) => n + sizeOf(child), 0);
    sizes.set(group, size);
    return size;
  };
  const membersOf = (group: string, into: string[], seen: Set<string>): void => {
    if (seen.has(group)) return;
    seen.add(group);
    for (const s of subscriptionsUnder.get(group) ?? []) if (scanned.has(s)) into.push(s);
    for (const child of groupsUnder.get(group) ?? []) membersOf(child, into, seen);
  };

  const units: ManagementGroupScope[] = [];
  const visited = new Set<string>();
  const covered = new Set<string>();
  const visit = (group: string): void => {
    if (visited.has(group)) return;
    visited.add(group);
    const size = sizeOf(group);
    if (size <= limit) {
      const members: string[] = [];
      membersOf(group, members, new Set());
      const fresh = members.filter((s) => !covered.has(s));
      for (const s of fresh) covered.add(s);
      if (fresh.length > 0) units.push({ managementGroups: [group], size, subscriptions: fresh });
      return;
    }
    for (const child of groupsUnder.get(group) ?? []) visit(child);
  };
  for (const root of roots) visit(idKey(root));

  // First fit, largest first: few requests, none past the limit.
  const scopes: ManagementGroupScope[] = [];
  for (const unit of units.sort((a, b) => b.size - a.size)) {
    const bin = scopes.find((s) => s.size + unit.size <= limit);
    if (bin) {
      bin.managementGroups.push(...unit.managementGroups);
      bin.size += unit.size;
      bin.subscriptions.push(...unit.subscriptions);
    } else scopes.push({ ...unit, managementGroups: [...unit.managementGroups] });
  }
  return { scopes, leftover: [...scanned].filter((s) => !covered.has(s)) };
}
