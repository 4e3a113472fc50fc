import type { AzureConnection } from "../azure/connection";
import { POLICY_READ_PERMISSION } from "../azure/entra-policies";
import type { AzureGet } from "../azure/http";
import type { QueryLogs } from "../azure/log-analytics";
import { errorMessage } from "../errors";
import { SIGN_IN_TABLES } from "../scanners/log-analytics-evidence/query";
import type { DoctorCheck } from "./check";

/** The admin command that grants a Graph application permission to the scanner's identity (README). */
export const GRANT_POLICY_READ =
  "graph=$(az ad sp show --id 00000003-0000-0000-c000-000000000000 --query id -o tsv); " +
  "role=$(az ad sp show --id 00000003-0000-0000-c000-000000000000 --query \"appRoles[?value=='Policy.Read.All'].id\" -o tsv); " +
  'az rest --method POST --uri "https://graph.microsoft.com/v1.0/servicePrincipals/<identityPrincipalId>/appRoleAssignments" ' +
  '--body "{\\"principalId\\": \\"<identityPrincipalId>\\", \\"resourceId\\": \\"$graph\\", \\"appRoleId\\": \\"$role\\"}"';

/**
 * Can the identity read the cross-tenant access policy (Policy.Read.All)? Optional: without it the
 * cross-tenant-access-policy check is skipped, so this warns, never fails.
 */
export async function probePolicyRead(connection: AzureConnection, get: AzureGet): Promise<DoctorCheck> {
  const id = "graph-policy-read";
  const path = "/policies/crossTenantAccessPolicy/default";
  try {
    const response = await get(`${connection.graphEndpoint}/v1.0${path}`, {
      scope: `${connection.graphEndpoint}/.default`,
    });
    if (response.status === 200)
      return {
        id,
        status: "ok",
        detail: `Microsoft Graph answers ${path} (${POLICY_READ_PERMISSION}).`,
        fix: "",
      };
    if (response.status === 401 || response.status === 403)
      return {
        id,
        status: "warn",
        detail:
          `Microsoft Graph answered ${response.status} to ${path}: the identity lacks ${POLICY_READ_PERMISSION}, ` +
          "so the cross-tenant-access-policy check is skipped.",
        fix: GRANT_POLICY_READ,
      };
    return {
      id,
      status: "warn",
      detail: `Microsoft Graph answered ${response.status} to ${path}; the cross-tenant-access-policy check may fail.`,
      fix: "Check that GRAPH_ENDPOINT is Microsoft Graph of your cloud, and try again.",
    };
  } catch (error) {
    return {
      id,
      status: "warn",
      detail: `Microsoft Graph could not be asked for ${path}: ${errorMessage(error)}`,
      fix: "Check that GRAPH_ENDPOINT is reachable from where the scanner runs.",
    };
  }
}

/** The Entra diagnostic setting that sends sign-in logs to the workspace (README). */
export const SEND_SIGN_IN_LOGS =
  'az rest --method put --url "https://management.azure.com/providers/microsoft.aadiam/diagnosticSettings/cross-tenant-scanner?api-version=2017-04-01" ' +
  '--body \'{"properties": {"workspaceId": "<workspace resource id>", "logs": [{"category": "SignInLogs", "enabled": true}, ' +
  '{"category": "NonInteractiveUserSignInLogs", "enabled": true}]}}\'';

/**
 * Is the evidence workspace set, readable (Log Analytics Reader), and does it hold the sign-in logs
 * and the Activity log? One `count` a table, over the sign-in window. Optional: warns, never fails.
 */
export async function probeLogAnalyticsWorkspace(
  workspaceId: string,
  query: QueryLogs | null,
  window: string,
): Promise<DoctorCheck> {
  const id = "log-analytics-workspace";
  if (!workspaceId || !query)
    return {
      id,
      status: "warn",
      detail: "LOG_ANALYTICS_WORKSPACE_ID is not set: findings carry no creator or sign-in evidence.",
      fix: "Set LOG_ANALYTICS_WORKSPACE_ID to the Workspace ID of the workspace that receives Entra ID sign-in logs and the Activity log.",
    };
  const counts: string[] = [];
  const missing: string[] = [];
  const empty: string[] = [];
  for (const table of [...SIGN_IN_TABLES, "AzureActivity"]) {
    try {
      const answer = await query(`${table} | count`, window);
      if ("denied" in answer)
        return {
          id,
          status: "warn",
          detail: `${answer.denied}; the evidence step is skipped.`,
          fix:
            "az role assignment create --assignee-object-id <identityPrincipalId> --assignee-principal-type ServicePrincipal " +
            '--role "Log Analytics Reader" --scope <workspace resource id>',
        };
      const count = Number(answer.rows[0]?.Count ?? 0);
      counts.push(`${table} ${count}`);
      if (count === 0) empty.push(table);
    } catch (error) {
      missing.push(`${table} (${errorMessage(error)})`);
    }
  }
  if (missing.length > 0 || empty.length > 0)
    return {
      id,
      status: "warn",
      detail:
        `Workspace ${workspaceId} is readable, but ` +
        [
          ...(missing.length > 0 ? [`could not be asked for ${missing.join(", ")}`] : []),
          ...(empty.length > 0 ? [`holds no rows of ${empty.join(", ")} in ${window}`] : []),
        ].join(" and ") +
        ": is each log sent to it?",
      fix: `${SEND_SIGN_IN_LOGS}; and send the Activity log: az monitor diagnostic-settings subscription create --name cross-tenant-scanner --location <region> --workspace <workspace resource id> --logs '[{"category": "Administrative", "enabled": true}]'`,
    };
  return {
    id,
    status: "ok",
    detail: `Workspace ${workspaceId} holds ${counts.join(", ")} rows in ${window}.`,
    fix: "",
  };
}
