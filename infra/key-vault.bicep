// The Key Vault that holds the alert secrets (webhook URLs carry their own credentials, and the
// HMAC key signs what we send). RBAC mode, so access is a role assignment like everything else;
// purge protection, so a deleted vault (and its secrets) can be recovered for the retention period.
// A module so the role assignment's name can include the identity's principal id (see
// reader-assignment.bicep for why).
param name string
param location string

@description('Object (principal) id of the identity that reads the secrets.')
param principalId string

@description('Recover a soft-deleted vault of the same name (after its resource group was deleted). Only then: recovering a vault that is not soft-deleted fails (SoftDeletedVaultDoesNotExist), which is why the README\'s steps work it out on every run.')
param recover bool

@description('Log Analytics workspace that receives the vault\'s AuditEvent log.')
param workspaceId string

@description('Secret name to value; empty values are not written (that destination is off).')
@secure()
param secrets object

// Built-in role "Key Vault Secrets User" (see infra/builtin-roles.json).
var secretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enablePurgeProtection: true
    softDeleteRetentionInDays: 90
    createMode: recover ? 'recover' : 'default'
  }
}

resource secretValues 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [
  for secret in items(secrets): if (!empty(secret.value)) {
    parent: vault
    name: secret.key
    properties: {
      value: secret.value
    }
  }
]

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, secretsUserRoleId, principalId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUserRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Every access to the vault and its secrets (who read which secret, refused attempts), to the workspace:
// https://learn.microsoft.com/azure/key-vault/general/logging
resource audit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-workspace'
  scope: vault
  properties: {
    workspaceId: workspaceId
    logs: [{ category: 'AuditEvent', enabled: true }]
  }
}

// Secret URIs without a version: App Service then follows the latest version (see README, rotation).
output secretsUri string = '${vault.properties.vaultUri}secrets/'
output name string = vault.name
