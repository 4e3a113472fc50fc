// Optional (issue 18): Log Analytics Reader for the scanner's identity on the workspace that
// receives Entra ID sign-in logs and the Activity log, so a scan can say who created a peering and
// who of the other tenant signs in. Nothing else: the role reads monitoring data, it changes none.
// main.bicep deploys this when its logAnalyticsWorkspaceId parameter is set; the app then needs
// LOG_ANALYTICS_WORKSPACE_ID = the output workspaceCustomerId (README, "Cross-tenant access
// settings and sign-in evidence").
targetScope = 'resourceGroup'

@description('Name of the Log Analytics workspace (in this resource group).')
param workspaceName string

@description('Object (principal) id of the scanner\'s managed identity.')
param principalId string

// Built-in role "Log Analytics Reader" (see infra/builtin-roles.json).
var logAnalyticsReaderRoleId = '73c42c96-874c-492b-b04d-ab87d138a893'

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

// Named after the principal, like the Reader assignment: a recreated identity gets a new one.
resource logReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(workspace.id, logAnalyticsReaderRoleId, principalId)
  scope: workspace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', logAnalyticsReaderRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'cross-tenant-scanner reads sign-in logs and the Activity log for evidence'
  }
}

@description('The workspace id (a GUID) the app reads in LOG_ANALYTICS_WORKSPACE_ID.')
output workspaceCustomerId string = workspace.properties.customerId
