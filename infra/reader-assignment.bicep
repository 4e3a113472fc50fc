// Reader for the scanner's identity on the management group it scans. A module of its own so the
// assignment's name can include the principal id, which is known only once the identity exists:
// a recreated identity (new principal id) then gets a new assignment instead of trying to update
// the old one, which Azure refuses (RoleAssignmentUpdateNotPermitted) and never cleans up itself.
targetScope = 'managementGroup'

@description('Object (principal) id of the scanner\'s managed identity.')
param principalId string

// Built-in role "Reader" (see infra/builtin-roles.json).
var readerRoleId = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'

resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(managementGroup().id, readerRoleId, principalId)
  properties: {
    roleDefinitionId: tenantResourceId('Microsoft.Authorization/roleDefinitions', readerRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'cross-tenant-scanner reads the VNet peerings under this management group'
  }
}
