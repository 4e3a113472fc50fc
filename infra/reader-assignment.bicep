// Reader for the scanner's identity on the management group it scans: Resource Graph answers for
// what the identity can read, nothing more. Deployed at that management group on its own (README,
// "Deployment"), after infra/main.bicep, with main's output identityPrincipalId:
//
//   az deployment mg create --name "cross-tenant-scanner-reader-$LOCATION" --management-group-id "$MG" \
//     --location "$LOCATION" --template-file infra/reader-assignment.bicep --parameters principalId="$PRINCIPAL"
//
// The deployer needs Owner or User Access Administrator on the management group. The assignment's
// name includes the principal id: a recreated identity (new principal id) then gets a new assignment
// instead of trying to update the old one, which Azure refuses (RoleAssignmentUpdateNotPermitted)
// and never cleans up itself.
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
