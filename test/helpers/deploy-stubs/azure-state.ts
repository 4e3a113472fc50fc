import { existsSync, readFileSync, writeFileSync } from "node:fs";

/**
 * What the az and func stubs remember of "Azure" between calls and between runs of the README's
 * steps (a JSON file named by STUB_STATE), so a rerun meets what the first run made, and the test
 * can delete the resource group in between as a user would.
 */
export interface AzureState {
  /** The API's app registration: its app roles (by value) and whether assignment is required. */
  appRegistration?: { appId: string; appRoleAssignmentRequired: boolean; roles: string[] };
  resourceGroup: boolean;
  /** The Key Vault: none yet, there, or soft-deleted with its resource group (purge protection). */
  vault: "none" | "active" | "soft-deleted";
  /** Secret name to value, as the vault holds them (kept while it is soft-deleted). */
  secrets: Record<string, string>;
  /** The function app: its app settings; absent before the first deployment or after the group went. */
  app?: { name: string; id: string; settings: Record<string, string>; published: boolean };
  /** The managed identity's principal id, and which of PRINCIPAL_IDS it is (a new one per new group). */
  principalId?: string;
  principalIndex?: number;
  /** Principal ids holding Reader on the management group. */
  readers: string[];
  /** Microsoft Graph app role ids assigned, by principal id. */
  graphRoles: Record<string, string[]>;
  /** Event subscriptions: subscription id to the function they deliver to. */
  eventSubscriptions: Record<string, string>;
}

const EMPTY: AzureState = {
  resourceGroup: false,
  vault: "none",
  secrets: {},
  readers: [],
  graphRoles: {},
  eventSubscriptions: {},
};

export function readState(path = process.env.STUB_STATE): AzureState {
  if (!path || !existsSync(path)) return structuredClone(EMPTY);
  return { ...structuredClone(EMPTY), ...(JSON.parse(readFileSync(path, "utf8")) as Partial<AzureState>) };
}

export function writeState(state: AzureState, path = process.env.STUB_STATE): void {
  if (path) writeFileSync(path, JSON.stringify(state, null, 2));
}

/** Changes "Azure" between runs as a person would in the portal. */
export function editState(path: string, edit: (state: AzureState) => void): void {
  const state = readState(path);
  edit(state);
  writeState(state, path);
}

/** What deleting the app's resource group leaves: the vault soft-deleted (with its secrets), the rest. */
export function deleteResourceGroup(path: string): void {
  const state = readState(path);
  state.resourceGroup = false;
  delete state.app;
  if (state.vault === "active") state.vault = "soft-deleted";
  writeState(state, path);
}
