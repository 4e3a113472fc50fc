// The Function App and what it needs, in one resource group. The app reaches its storage, Key Vault
// and Application Insights with its user-assigned managed identity only (no keys in settings), and
// its secrets are Key Vault references: listing the app settings shows where a secret is, not what.
param location string
param namePrefix string
param authClientId string
param scanSchedule string
param changePollSchedule string
@secure()
param teamsWebhookUrl string
@secure()
param webhookUrl string
@secure()
param webhookSecret string
param alertAllowedHosts string
param recoverKeyVault bool

var suffix = uniqueString(resourceGroup().id)
var deploymentContainer = 'app-package'
// Built-in role ids (see infra/builtin-roles.json).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

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

module vault 'key-vault.bicep' = {
  name: 'cts-key-vault-${location}'
  params: {
    name: take('${namePrefix}kv${suffix}', 24)
    location: location
    principalId: identity.properties.principalId
    recover: recoverKeyVault
    secrets: {
      '${secretNames.TEAMS_WEBHOOK_URL}': teamsWebhookUrl
      '${secretNames.WEBHOOK_URL}': webhookUrl
      '${secretNames.WEBHOOK_SECRET}': webhookSecret
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
    supportsHttpsTrafficOnly: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource packages 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainer
}

// Blob for deployment packages and host leases, queues for alerts, tables for the scanner's state.
resource storageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in [roles.storageBlobDataOwner, roles.storageQueueDataContributor, roles.storageTableDataContributor]: {
    name: guid(storage.id, identity.id, role)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
      principalId: identity.properties.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${namePrefix}-log-${suffix}'
  location: location
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
  }
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

resource insightsRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, identity.id, roles.monitoringMetricsPublisher)
  scope: insights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
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
        { name: 'AzureWebJobsStorage__accountName', value: storage.name }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identity.properties.clientId }
        // DefaultAzureCredential in the scanner signs in as the same identity.
        { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identity.properties.clientId};Authorization=AAD' }
        { name: 'SCAN_SCHEDULE', value: scanSchedule }
        { name: 'CHANGE_POLL_SCHEDULE', value: changePollSchedule }
        // Secrets: a Key Vault reference when given, else empty (that destination is off).
        {
          name: 'TEAMS_WEBHOOK_URL'
          value: empty(teamsWebhookUrl) ? '' : '@Microsoft.KeyVault(SecretUri=${vault.outputs.secretsUri}${secretNames.TEAMS_WEBHOOK_URL})'
        }
        {
          name: 'WEBHOOK_URL'
          value: empty(webhookUrl) ? '' : '@Microsoft.KeyVault(SecretUri=${vault.outputs.secretsUri}${secretNames.WEBHOOK_URL})'
        }
        {
          name: 'WEBHOOK_SECRET'
          value: empty(webhookSecret) ? '' : '@Microsoft.KeyVault(SecretUri=${vault.outputs.secretsUri}${secretNames.WEBHOOK_SECRET})'
        }
        { name: 'ALERT_ALLOWED_HOSTS', value: alertAllowedHosts }
        // PUT/DELETE on the allowlist need the app role Allowlist.Write of the caller that App
        // Service Authentication (below) signed in, not just a function key.
        { name: 'ALLOWLIST_WRITE_AUTH', value: 'role' }
      ]
    }
  }
  dependsOn: [storageRoles, insightsRole]
}

// App Service Authentication ("Easy Auth"): every request needs an Entra ID token for the app
// registration authClientId; others get 401 before they reach a function. The caller and its app
// roles then arrive in x-ms-client-principal. Timer and queue triggers are not HTTP and unaffected.
// Event Grid is: it delivers to /runtime/webhooks/eventgrid with only the Event Grid extension's
// system key (no Entra token), so that path is excluded from sign-in; the system key, checked by
// the Functions host, still protects it. excludedPaths: paths where unauthenticated requests are
// not rejected, https://learn.microsoft.com/azure/app-service/configure-authentication-file-based
// and https://learn.microsoft.com/javascript/api/@azure-rest/arm-appservice/globalvalidation
resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: app
  name: 'authsettingsV2'
  properties: {
    platform: { enabled: true }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      excludedPaths: ['/runtime/webhooks/eventgrid']
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

output functionAppName string = app.name
output functionAppId string = app.id
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
output keyVaultName string = vault.outputs.name
