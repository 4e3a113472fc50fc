// The Function App and what it needs, in one resource group. The app reaches its storage, Key Vault
// and Application Insights with its user-assigned managed identity only (no keys in settings, no
// local authentication anywhere), and its secrets are Key Vault references: listing the app
// settings shows where a secret is, not what. Every resource sends its logs to the workspace.
param location string
param namePrefix string
param authClientId string
param scanManagementGroups string
param scanSubscriptions string
param microsoftTenantIds string
param scanSchedule string
param changePollSchedule string
param alertDigestThreshold string
param teamsMinSeverity string
param webhookMinSeverity string
param exceptionExpiryWarningDays string
@secure()
param teamsWebhookUrl string
@secure()
param webhookUrl string
@secure()
param webhookSecret string
param alertAllowedHosts string
param recoverKeyVault bool
param existingFunctionApp string

var suffix = uniqueString(resourceGroup().id)
var deploymentContainer = 'app-package'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${namePrefix}-id-${suffix}'
  location: location
}

// Secret names in the vault, by the app setting that references them.
var secretNames = {
  TEAMS_WEBHOOK_URL: 'teams-webhook-url'
  WEBHOOK_URL: 'webhook-url'
  WEBHOOK_SECRET: 'webhook-secret'
}

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${namePrefix}-log-${suffix}'
  location: location
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
    // Queries and ingestion with Entra ID only, no workspace keys.
    features: { disableLocalAuth: true }
  }
}

module vault 'key-vault.bicep' = {
  name: 'cts-key-vault-${location}'
  params: {
    name: take('${namePrefix}kv${suffix}', 24)
    location: location
    principalId: identity.properties.principalId
    recover: recoverKeyVault
    workspaceId: logs.id
    // A secret is written only when its parameter holds a value ('off' turns the destination off in
    // the app settings below and leaves the secret as it is).
    secrets: {
      '${secretNames.TEAMS_WEBHOOK_URL}': teamsWebhookUrl == 'off' ? '' : teamsWebhookUrl
      '${secretNames.WEBHOOK_URL}': webhookUrl == 'off' ? '' : webhookUrl
      '${secretNames.WEBHOOK_SECRET}': webhookSecret == 'off' ? '' : webhookSecret
    }
  }
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: take('${namePrefix}st${suffix}', 24)
  location: location
  sku: { name: 'Standard_LRS' }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    // The portal signs in with Entra ID too, instead of asking for keys that are off anyway.
    defaultToOAuthAuthentication: true
    supportsHttpsTrafficOnly: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource packages 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainer
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${namePrefix}-appi-${suffix}'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: true
  }
}

// The identity's storage and monitoring roles, named with its principal id (see the module).
module identityRoles 'identity-roles.bicep' = {
  name: 'cts-identity-roles-${location}'
  params: {
    storageAccountName: storage.name
    insightsName: insights.name
    principalId: identity.properties.principalId
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${namePrefix}-plan-${suffix}'
  location: location
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

// The app settings the app has now, when it exists (the README's steps pass its name): a rerun that
// leaves an alert destination's parameter empty keeps that destination. ARM evaluates only the
// branch of if() that applies, so list() runs only when the app is there
// (https://learn.microsoft.com/azure/azure-resource-manager/templates/template-functions-logical#if);
// list() of a site's config/appsettings returns them
// (https://learn.microsoft.com/rest/api/appservice/web-apps/list-application-settings).
var current = empty(existingFunctionApp) ? {} : list(resourceId('Microsoft.Web/sites/config', existingFunctionApp, 'appsettings'), '2024-04-01').properties

// An alert destination's setting: the Key Vault reference when its parameter holds a value, empty
// for 'off', and what the app has now when the parameter is empty.
var teamsWebhookUrlSetting = teamsWebhookUrl == 'off' ? '' : !empty(teamsWebhookUrl) ? '@Microsoft.KeyVault(SecretUri=${vault.outputs.secretsUri}${secretNames.TEAMS_WEBHOOK_URL})' : current.?TEAMS_WEBHOOK_URL ?? ''
var webhookUrlSetting = webhookUrl == 'off' ? '' : !empty(webhookUrl) ? '@Microsoft.KeyVault(SecretUri=${vault.outputs.secretsUri}${secretNames.WEBHOOK_URL})' : current.?WEBHOOK_URL ?? ''
var webhookSecretSetting = webhookSecret == 'off' ? '' : !empty(webhookSecret) ? '@Microsoft.KeyVault(SecretUri=${vault.outputs.secretsUri}${secretNames.WEBHOOK_SECRET})' : current.?WEBHOOK_SECRET ?? ''

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: '${namePrefix}-func-${suffix}'
  location: location
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with this identity (the default would be a system-assigned one).
    keyVaultReferenceIdentity: identity.id
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainer}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        // One scan at a time (a lease in storage) needs no crowd of instances.
        maximumInstanceCount: 40
        instanceMemoryMB: 2048
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: [
        // Host storage by service URI, from the account's own endpoints, so it works in every cloud
        // (__accountName builds public-cloud URIs only):
        // https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity
        { name: 'AzureWebJobsStorage__blobServiceUri', value: storage.properties.primaryEndpoints.blob }
        { name: 'AzureWebJobsStorage__queueServiceUri', value: storage.properties.primaryEndpoints.queue }
        { name: 'AzureWebJobsStorage__tableServiceUri', value: storage.properties.primaryEndpoints.table }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identity.properties.clientId }
        // DefaultAzureCredential in the scanner signs in as the same identity.
        { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identity.properties.clientId};Authorization=AAD' }
        { name: 'SCAN_MANAGEMENT_GROUPS', value: scanManagementGroups }
        { name: 'SCAN_SUBSCRIPTIONS', value: scanSubscriptions }
        { name: 'MICROSOFT_TENANT_IDS', value: microsoftTenantIds }
        { name: 'SCAN_SCHEDULE', value: scanSchedule }
        { name: 'CHANGE_POLL_SCHEDULE', value: changePollSchedule }
        { name: 'ALERT_DIGEST_THRESHOLD', value: alertDigestThreshold }
        { name: 'TEAMS_MIN_SEVERITY', value: teamsMinSeverity }
        { name: 'WEBHOOK_MIN_SEVERITY', value: webhookMinSeverity }
        { name: 'EXCEPTION_EXPIRY_WARNING_DAYS', value: exceptionExpiryWarningDays }
        // Secrets: Key Vault references (or empty: that destination is off).
        { name: 'TEAMS_WEBHOOK_URL', value: teamsWebhookUrlSetting }
        { name: 'WEBHOOK_URL', value: webhookUrlSetting }
        { name: 'WEBHOOK_SECRET', value: webhookSecretSetting }
        { name: 'ALERT_ALLOWED_HOSTS', value: alertAllowedHosts }
        // PUT/DELETE on the allowlist need the app role Allowlist.Write, and reads the app role
        // Findings.Read, of the caller App Service Authentication (below) signed in: a function key
        // and a token of the tenant are not enough.
        { name: 'ALLOWLIST_WRITE_AUTH', value: 'role' }
        { name: 'API_READ_AUTH', value: 'role' }
        // Settings no parameter sets (set in the portal or with az, as the README says for
        // LOG_ANALYTICS_WORKSPACE_ID, PUBLIC_BASE_URL and the sovereign-cloud endpoints): appSettings
        // replaces every setting on each deployment, so each is written back as the app has it
        // (empty, the default, when it has none). test/unit/infra-templates.test.ts holds this list
        // against the settings src/config.ts reads.
        { name: 'ALLOW_MICROSOFT_MANAGED', value: current.?ALLOW_MICROSOFT_MANAGED ?? '' }
        { name: 'MICROSOFT_APP_OWNER_TENANT_IDS', value: current.?MICROSOFT_APP_OWNER_TENANT_IDS ?? '' }
        { name: 'TENANT_NAMES_FROM_GRAPH', value: current.?TENANT_NAMES_FROM_GRAPH ?? '' }
        { name: 'TENANT_CACHE_TTL_HOURS', value: current.?TENANT_CACHE_TTL_HOURS ?? '' }
        { name: 'RESOURCE_GRAPH_PAGE_SIZE', value: current.?RESOURCE_GRAPH_PAGE_SIZE ?? '' }
        { name: 'SUBSCRIPTION_GROUP_SIZE', value: current.?SUBSCRIPTION_GROUP_SIZE ?? '' }
        { name: 'MANAGEMENT_GROUP_SCOPE_LIMIT', value: current.?MANAGEMENT_GROUP_SCOPE_LIMIT ?? '' }
        { name: 'AZURE_MAX_RETRIES', value: current.?AZURE_MAX_RETRIES ?? '' }
        { name: 'RESOURCE_GRAPH_THROTTLE_WAIT_SECONDS', value: current.?RESOURCE_GRAPH_THROTTLE_WAIT_SECONDS ?? '' }
        { name: 'ARM_ENDPOINT', value: current.?ARM_ENDPOINT ?? '' }
        { name: 'GRAPH_ENDPOINT', value: current.?GRAPH_ENDPOINT ?? '' }
        { name: 'HTTP_SCAN_WAIT_SECONDS', value: current.?HTTP_SCAN_WAIT_SECONDS ?? '' }
        { name: 'SCAN_REQUESTS_MAX_WAITING', value: current.?SCAN_REQUESTS_MAX_WAITING ?? '' }
        { name: 'ALERT_DELIVERY_ATTEMPTS', value: current.?ALERT_DELIVERY_ATTEMPTS ?? '' }
        { name: 'ALERT_TIMEOUT_SECONDS', value: current.?ALERT_TIMEOUT_SECONDS ?? '' }
        { name: 'AZURE_PORTAL_URL', value: current.?AZURE_PORTAL_URL ?? '' }
        { name: 'PUBLIC_BASE_URL', value: current.?PUBLIC_BASE_URL ?? '' }
        { name: 'AZURE_REQUEST_TIMEOUT_SECONDS', value: current.?AZURE_REQUEST_TIMEOUT_SECONDS ?? '' }
        { name: 'LOG_ANALYTICS_WORKSPACE_ID', value: current.?LOG_ANALYTICS_WORKSPACE_ID ?? '' }
        { name: 'LOG_ANALYTICS_ENDPOINT', value: current.?LOG_ANALYTICS_ENDPOINT ?? '' }
        { name: 'SIGN_IN_WINDOW', value: current.?SIGN_IN_WINDOW ?? '' }
        { name: 'ACTIVITY_LOG_WINDOW', value: current.?ACTIVITY_LOG_WINDOW ?? '' }
        { name: 'CHANGE_POLL_OVERLAP_SECONDS', value: current.?CHANGE_POLL_OVERLAP_SECONDS ?? '' }
        { name: 'GROUP_MEMBERS_PER_SCAN', value: current.?GROUP_MEMBERS_PER_SCAN ?? '' }
      ]
    }
  }
  dependsOn: [identityRoles]
}

// No FTP or SCM basic-auth publishing credentials: deployments sign in with Entra ID
// (https://learn.microsoft.com/azure/app-service/configure-basic-auth-disable). Core Tools'
// `func azure functionapp publish` deploys a Flex Consumption app with the signed-in account's
// Entra token (https://learn.microsoft.com/azure/azure-functions/flex-consumption-how-to#deploy-your-code-project).
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'scm'
  properties: { allow: false }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'ftp'
  properties: { allow: false }
}

// App Service Authentication ("Easy Auth"): every request needs an Entra ID token for the app
// registration authClientId; others get 401 before they reach a function. The caller and its app
// roles then arrive in x-ms-client-principal (the app checks Findings.Read and Allowlist.Write;
// the app registration requires an app role assignment for a token at all, see the README).
// Timer and queue triggers are not HTTP and unaffected. Event Grid is: it delivers to the Event
// Grid extension's webhook with only its system key (no Entra token), so that path is excluded
// from sign-in; the system key, checked by the Functions host, still protects it. Microsoft's docs
// spell the path both /runtime/webhooks/eventgrid and /runtime/webhooks/EventGrid, so both are
// listed. excludedPaths: paths where unauthenticated requests are not rejected,
// https://learn.microsoft.com/azure/app-service/configure-authentication-file-based and
// https://learn.microsoft.com/javascript/api/@azure-rest/arm-appservice/globalvalidation
resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: app
  name: 'authsettingsV2'
  properties: {
    platform: { enabled: true }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      excludedPaths: ['/runtime/webhooks/eventgrid', '/runtime/webhooks/EventGrid']
    }
    httpSettings: { requireHttps: true }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          // v1 tokens carry the application id URI, v2 tokens the client id.
          allowedAudiences: ['api://${authClientId}', authClientId]
        }
      }
    }
    login: {
      tokenStore: { enabled: false }
    }
  }
}

// Diagnostic settings: the function app's logs, and every storage service's reads, writes and
// deletes, to the workspace (the Key Vault's AuditEvent is in key-vault.bicep).
// https://learn.microsoft.com/azure/azure-monitor/reference/supported-logs/microsoft-web-sites-logs
resource appDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-workspace'
  scope: app
  properties: {
    workspaceId: logs.id
    logs: [{ category: 'FunctionAppLogs', enabled: true }]
  }
}

// https://learn.microsoft.com/azure/storage/blobs/monitor-blob-storage#collection-and-routing
// (the same for queues and tables): logs are set on each service, not on the account.
resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-workspace'
  scope: blobService
  properties: {
    workspaceId: logs.id
    logs: [{ categoryGroup: 'allLogs', enabled: true }]
  }
}

resource queueDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-workspace'
  scope: queueService
  properties: {
    workspaceId: logs.id
    logs: [{ categoryGroup: 'allLogs', enabled: true }]
  }
}

resource tableDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-workspace'
  scope: tableService
  properties: {
    workspaceId: logs.id
    logs: [{ categoryGroup: 'allLogs', enabled: true }]
  }
}

output functionAppName string = app.name
output functionAppId string = app.id
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
output keyVaultName string = vault.outputs.name
