// Deploys cross-tenant-scanner: a Flex Consumption Function App in its own resource group, and
// Reader for its managed identity on the management group this deployment targets (what it scans).
// The README's "Deployment" section has the full steps; in short:
//
//   az deployment mg create --name "cross-tenant-scanner-$LOCATION" --management-group-id "$MG" \
//     --location "$LOCATION" --template-file infra/main.bicep \
//     --parameters subscriptionId="$SUBSCRIPTION" authClientId="$AUTH_CLIENT_ID"
//
// The deployer needs Owner (or Contributor and User Access Administrator) on the management group,
// and on the hosting subscription if it is not under that management group: the template creates
// role assignments at both.
targetScope = 'managementGroup'

@description('Subscription that hosts the Function App.')
param subscriptionId string

@description('Resource group for the Function App and its resources (created if missing).')
param resourceGroupName string = 'rg-cross-tenant-scanner'

@description('Azure region of the resources (one that offers Flex Consumption).')
param location string = deployment().location

@description('Prefix of resource names: letters and digits, starting with a letter (lower-cased here).')
@minLength(3)
@maxLength(11)
param namePrefix string = 'ctscan'

@description('Application (client) id of the Entra app registration that guards the HTTP API (App Service Authentication); it defines the app role Allowlist.Write.')
@minLength(36)
@maxLength(36)
param authClientId string

@description('When the scan runs (NCRONTAB with seconds, UTC).')
param scanSchedule string = '0 0 * * * *'

@description('When the peeringChanges timer reads Resource Graph\'s change feed (NCRONTAB with seconds, UTC).')
param changePollSchedule string = '0 * * * * *'

@description('Teams Workflows webhook for alerts, stored in Key Vault (empty: no Teams alerts).')
@secure()
param teamsWebhookUrl string = ''

@description('Generic webhook for alerts, stored in Key Vault (empty: none); its host must be listed in alertAllowedHosts.')
@secure()
param webhookUrl string = ''

@description('HMAC secret for the generic webhook signature, stored in Key Vault (empty: unsigned).')
@secure()
param webhookSecret string = ''

@description('Hosts webhooks may point at.')
param alertAllowedHosts string = '*.webhook.office.com,*.logic.azure.com,*.powerplatform.com,*.powerautomate.com'

@description('Set to true when redeploying after the resource group was deleted: the Key Vault is then soft-deleted (purge protection keeps its name for 90 days) and is recovered instead of created.')
param recoverKeyVault bool = false

@description('Optional: resource id of the Log Analytics workspace with Entra ID sign-in logs and the Activity log; the identity gets Log Analytics Reader on it (empty: none).')
param logAnalyticsWorkspaceId string = ''

// Storage and Key Vault names allow lower-case letters and digits only (Key Vault: also hyphens).
var prefix = toLower(namePrefix)

// Deployment names carry the location: a deployment name is kept with the location it first ran in,
// and a rerun under the same name with another --location fails (InvalidDeploymentLocation).
module resourceGroup 'resource-group.bicep' = {
  name: 'cts-resource-group-${location}'
  scope: subscription(subscriptionId)
  params: {
    name: resourceGroupName
    location: location
  }
}

module app 'app.bicep' = {
  name: 'cts-app-${location}'
  scope: az.resourceGroup(subscriptionId, resourceGroupName)
  dependsOn: [resourceGroup]
  params: {
    location: location
    namePrefix: prefix
    authClientId: authClientId
    scanSchedule: scanSchedule
    changePollSchedule: changePollSchedule
    teamsWebhookUrl: teamsWebhookUrl
    webhookUrl: webhookUrl
    webhookSecret: webhookSecret
    alertAllowedHosts: alertAllowedHosts
    recoverKeyVault: recoverKeyVault
  }
}

// Reader on this management group: Resource Graph returns what the identity can read, nothing more.
module reader 'reader-assignment.bicep' = {
  name: 'cts-reader-${location}'
  params: {
    principalId: app.outputs.principalId
  }
}

// Log Analytics Reader on the evidence workspace, only when one is named.
module logReader 'log-analytics-reader.bicep' = if (!empty(logAnalyticsWorkspaceId)) {
  name: 'cts-log-analytics-reader-${location}'
  scope: az.resourceGroup(split(logAnalyticsWorkspaceId, '/')[2], split(logAnalyticsWorkspaceId, '/')[4])
  params: {
    workspaceName: last(split(logAnalyticsWorkspaceId, '/'))
    principalId: app.outputs.principalId
  }
}

output functionAppName string = app.outputs.functionAppName
@description('For infra/peering-events.bicep (optional Event Grid path).')
output functionAppId string = app.outputs.functionAppId
output keyVaultName string = app.outputs.keyVaultName
output identityPrincipalId string = app.outputs.principalId
output identityClientId string = app.outputs.clientId
@description('Set LOG_ANALYTICS_WORKSPACE_ID to this (empty without logAnalyticsWorkspaceId).')
output logAnalyticsWorkspaceCustomerId string = empty(logAnalyticsWorkspaceId) ? '' : logReader.outputs.workspaceCustomerId
