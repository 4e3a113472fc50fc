// Deploys cross-tenant-scanner's Function App and what it needs, in a resource group of the hosting
// subscription. A subscription-scope deployment, so the hosting subscription need not be under the
// management group it scans: Bicep deploys from a management group only into subscriptions within
// it (https://learn.microsoft.com/azure/azure-resource-manager/bicep/deploy-to-management-group,
// "Scope to subscription"). The Reader assignment on that management group is a deployment of its
// own, infra/reader-assignment.bicep. The README's "Deployment" section has the steps; in short:
//
//   az deployment sub create --name "cross-tenant-scanner-$LOCATION" --subscription "$SUBSCRIPTION" \
//     --location "$LOCATION" --template-file infra/main.bicep --parameters authClientId="$AUTH_CLIENT_ID" ...
//
// The deployer needs Owner (or Contributor and User Access Administrator) on the hosting
// subscription: the template creates the resource group and role assignments in it.
targetScope = 'subscription'

@description('Resource group for the Function App and its resources (created if missing).')
param resourceGroupName string = 'rg-cross-tenant-scanner'

@description('Azure region of the resources (one that offers Flex Consumption).')
param location string = deployment().location

@description('Prefix of resource names: 3 to 11 lower-case letters and digits, starting with a letter (storage account names take letters and digits only, Key Vault names must start with a letter).')
@minLength(3)
@maxLength(11)
param namePrefix string = 'ctscan'

@description('Application (client) id of the Entra app registration that guards the HTTP API (App Service Authentication); it defines the app roles Allowlist.Write and Findings.Read.')
@minLength(36)
@maxLength(36)
param authClientId string

// Scan settings (app settings of the same names; see the README's "Configuration"). A deployment
// sets each one, so pass the values you want on every deployment: a value changed in the portal is
// replaced by the parameter's on the next one.
@description('SCAN_MANAGEMENT_GROUPS: comma-separated management group ids to scan (empty: every subscription the identity can read).')
param scanManagementGroups string = ''

@description('SCAN_SUBSCRIPTIONS: comma-separated subscription ids to scan when scanManagementGroups is empty.')
param scanSubscriptions string = ''

@description('MICROSOFT_TENANT_IDS: comma-separated tenant ids whose networks count as Microsoft-managed (empty: the app\'s default list).')
param microsoftTenantIds string = ''

@description('When the scan runs (NCRONTAB with seconds, UTC).')
param scanSchedule string = '0 0 * * * *'

@description('When the peeringChanges timer reads Resource Graph\'s change feed (NCRONTAB with seconds, UTC).')
param changePollSchedule string = '0 * * * * *'

@description('ALERT_DIGEST_THRESHOLD: from this many alerts in one scan, one digest instead (empty: the app\'s default, 50).')
param alertDigestThreshold string = ''

@description('TEAMS_MIN_SEVERITY: least severe alert sent to Teams (high, medium, low, info; empty: info).')
param teamsMinSeverity string = ''

@description('WEBHOOK_MIN_SEVERITY: least severe alert sent to the generic webhook (empty: info).')
param webhookMinSeverity string = ''

@description('EXCEPTION_EXPIRY_WARNING_DAYS: days ahead an expiring allowlist entry is announced (empty: 14).')
param exceptionExpiryWarningDays string = ''

@description('Teams Workflows webhook for alerts, stored in Key Vault. Empty: Teams stays as it is (off on the first deployment); \'off\': Teams alerts off.')
@secure()
param teamsWebhookUrl string = ''

@description('Generic webhook for alerts, stored in Key Vault; its host must be listed in alertAllowedHosts. Empty: stays as it is; \'off\': off.')
@secure()
param webhookUrl string = ''

@description('HMAC secret for the generic webhook signature, stored in Key Vault. Empty: stays as it is; \'off\': unsigned.')
@secure()
param webhookSecret string = ''

@description('Hosts webhooks may point at.')
param alertAllowedHosts string = '*.webhook.office.com,*.logic.azure.com,*.powerplatform.com,*.powerautomate.com'

@description('true when the Key Vault of this resource group is soft-deleted (the resource group was deleted; purge protection keeps its name for 90 days): it is recovered instead of created. The README\'s steps work it out on every run (az keyvault list-deleted), so a rerun never asks to recover a vault that is there.')
param recoverKeyVault bool = false

@description('Optional: resource id of the Log Analytics workspace with Entra ID sign-in logs and the Activity log; the identity gets Log Analytics Reader on it (empty: none).')
param logAnalyticsWorkspaceId string = ''

@description('Name of this deployment\'s function app when it exists already (the README\'s steps look it up; empty on the first deployment). An alert destination whose parameter is empty then keeps its current app setting.')
param existingFunctionApp string = ''

// Storage account names take lower-case letters and digits only; Key Vault names start with a
// letter. Checked here with the letters of the name, since Bicep parameters have no pattern.
var prefix = toLower(namePrefix)
var letters = 'abcdefghijklmnopqrstuvwxyz'
var prefixIsValid = contains(letters, first(prefix)) && empty(filter(range(0, length(prefix)), i => !contains('${letters}0123456789', substring(prefix, i, 1))))

resource group 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: resourceGroupName
  location: location
}

// Deployment names carry the location: a deployment name is kept with the location it first ran in,
// and a rerun under the same name with another --location fails (InvalidDeploymentLocation). An
// invalid namePrefix makes this name invalid, so the deployment stops before it starts, saying why.
module app 'app.bicep' = {
  name: prefixIsValid ? 'cts-app-${location}' : 'namePrefix ${namePrefix} is invalid: use lower-case letters and digits, starting with a letter'
  scope: group
  params: {
    location: location
    namePrefix: prefix
    authClientId: authClientId
    scanManagementGroups: scanManagementGroups
    scanSubscriptions: scanSubscriptions
    microsoftTenantIds: microsoftTenantIds
    scanSchedule: scanSchedule
    changePollSchedule: changePollSchedule
    alertDigestThreshold: alertDigestThreshold
    teamsMinSeverity: teamsMinSeverity
    webhookMinSeverity: webhookMinSeverity
    exceptionExpiryWarningDays: exceptionExpiryWarningDays
    teamsWebhookUrl: teamsWebhookUrl
    webhookUrl: webhookUrl
    webhookSecret: webhookSecret
    alertAllowedHosts: alertAllowedHosts
    recoverKeyVault: recoverKeyVault
    existingFunctionApp: existingFunctionApp
  }
}

// Log Analytics Reader on the evidence workspace, only when one is named.
module logReader 'log-analytics-reader.bicep' = if (!empty(logAnalyticsWorkspaceId)) {
  name: 'cts-log-analytics-reader-${location}'
  // ARM validates a module's scope before its condition: with no workspace named, the scope must
  // still be a valid one (Azure/bicep#1492), so the guard sits inside the arguments.
  scope: az.resourceGroup(
    empty(logAnalyticsWorkspaceId) ? subscription().subscriptionId : split(logAnalyticsWorkspaceId, '/')[2],
    empty(logAnalyticsWorkspaceId) ? resourceGroupName : split(logAnalyticsWorkspaceId, '/')[4]
  )
  params: {
    workspaceName: empty(logAnalyticsWorkspaceId) ? 'none' : last(split(logAnalyticsWorkspaceId, '/'))
    principalId: app.outputs.principalId
  }
}

output functionAppName string = app.outputs.functionAppName
@description('For infra/peering-events.bicep (the Event Grid step, after the publish).')
output functionAppId string = app.outputs.functionAppId
output keyVaultName string = app.outputs.keyVaultName
@description('For infra/reader-assignment.bicep (Reader on the scanned management group).')
output identityPrincipalId string = app.outputs.principalId
output identityClientId string = app.outputs.clientId
@description('Set LOG_ANALYTICS_WORKSPACE_ID to this (empty without logAnalyticsWorkspaceId).')
output logAnalyticsWorkspaceCustomerId string = empty(logAnalyticsWorkspaceId) ? '' : logReader.outputs.workspaceCustomerId
