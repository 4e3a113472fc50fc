/**
 * Creating a peering needs virtualNetworkPeerings/write on the local VNet and peer/action on the
 * remote one (virtual-network-manage-peering.md, "Permissions"); either is half of a peering.
 */
export const PEERING_ACTIONS = [
  "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write",
  "Microsoft.Network/virtualNetworks/peer/action",
] as const;

export interface RolePermission {
  actions?: string[] | null;
  notActions?: string[] | null;
}

/** Azure RBAC matches operations case-insensitively, `*` standing for any run of characters. */
export function actionMatches(pattern: string, action: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, "\\$&"))
      .join(".*")}$`,
    "i",
  );
  return regex.test(action);
}

/**
 * The role's action patterns that grant a peering action. Each permission block grants its
 * actions minus its notActions (role-definitions.md, "NotActions"); the blocks add up.
 */
export function grantingActions(permissions: readonly RolePermission[]): string[] {
  const granting = new Set<string>();
  for (const permission of permissions) {
    const notActions = permission.notActions ?? [];
    for (const action of PEERING_ACTIONS) {
      if (notActions.some((n) => actionMatches(n, action))) continue;
      for (const pattern of permission.actions ?? [])
        if (actionMatches(pattern, action)) granting.add(pattern);
    }
  }
  return [...granting];
}
