// The data-plane and monitoring roles of the scanner's identity on its storage account and
// Application Insights. A module of its own so each assignment's name can include the principal id,
// which is known only once the identity exists (a role assignment's name must be known when the
// deployment starts): a recreated identity of the same name (new principal id) then gets new
// assignments instead of trying to update the old ones, which Azure refuses
// (RoleAssignmentUpdateNotPermitted).
param storageAccountName string
param insightsName string

@description('Object (principal) id of the scanner\'s managed identity.')
param principalId string

// Built-in role ids (see infra/builtin-roles.json).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource insights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: insightsName
}

// Blob for deployment packages and host leases, queues for alerts, tables for the scanner's state.
resource storageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in [roles.storageBlobDataOwner, roles.storageQueueDataContributor, roles.storageTableDataContributor]: {
    name: guid(storage.id, role, principalId)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource insightsRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, roles.monitoringMetricsPublisher, principalId)
  scope: insights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
