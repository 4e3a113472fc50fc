// Deploys cross-tenant-scanner: a Flex Consumption Function App in its own resource group, and
// Reader for its managed identity on the management group this deployment targets (what it scans).
//
//   az deployment mg create --management-group-id <mg> --location westeurope \
//     --template-file infra/main.bicep --parameters subscriptionId=<sub> resourceGroupName=rg-cross-tenant-scanner
targetScope = 'managementGroup'

@description('Subscription that hosts the Function App.')
param subscriptionId string

@description('Resource group for the Function App and its resources (created if missing).')
param resourceGroupName string = 'rg-cross-tenant-scanner'

@description('Azure region of the resources (one that offers Flex Consumption).')
param location string = deployment().location

@description('Prefix of resource names: lower-case letters and digits.')
@minLength(3)
@maxLength(11)
param namePrefix string = 'ctscan'

@description('When the scan runs (NCRONTAB with seconds, UTC).')
param scanSchedule string = '0 0 * * * *'

@description('Teams Workflows webhook for alerts (empty: none).')
@secure()
param teamsWebhookUrl string = ''

@description('Generic webhook for alerts (empty: none); its host must be listed in alertAllowedHosts.')
@secure()
param webhookUrl string = ''

@description('HMAC secret for the generic webhook signature (empty: unsigned).')
@secure()
param webhookSecret string = ''

@description('Hosts webhooks may point at.')
param alertAllowedHosts string = '*.webhook.office.com,*.logic.azure.com,*.powerplatform.com,*.powerautomate.com'

var readerRoleId = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'

module resourceGroup 'resource-group.bicep' = {
  name: 'cts-resource-group'
  scope: subscription(subscriptionId)
  params: {
    name: resourceGroupName
    location: location
  }
}

module app 'app.bicep' = {
  name: 'cts-app'
  scope: az.resourceGroup(subscriptionId, resourceGroupName)
  dependsOn: [resourceGroup]
  params: {
    location: location
    namePrefix: namePrefix
    scanSchedule: scanSchedule
    teamsWebhookUrl: teamsWebhookUrl
    webhookUrl: webhookUrl
    webhookSecret: webhookSecret
    alertAllowedHosts: alertAllowedHosts
  }
}

// Reader on the management group: Resource Graph returns what the identity can read, nothing more.
resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(managementGroup().id, readerRoleId, '${subscriptionId}/${resourceGroupName}/${namePrefix}')
  properties: {
    roleDefinitionId: tenantResourceId('Microsoft.Authorization/roleDefinitions', readerRoleId)
    principalId: app.outputs.principalId
    principalType: 'ServicePrincipal'
    description: 'cross-tenant-scanner reads the VNet peerings under this management group'
  }
}

output functionAppName string = app.outputs.functionAppName
output identityPrincipalId string = app.outputs.principalId
output identityClientId string = app.outputs.clientId
