// Least privilege for the Functions app's identity: read the capture container, write manifests,
// the blob trigger's poison queue on the capture account, run the host and the Durable task hub and
// the ledger on the host account, send to the hub, and (only with the PAT fallback) read the one
// Key Vault.

param principalId string
param appId string
param hostAccountName string
param captureAccountName string
param captureContainerName string
param manifestContainerName string
param eventHubNamespaceName string
param eventHubName string
@description('Key Vault holding the Databricks PAT fallback; empty = Entra ID only, no vault access. It must use Azure RBAC (enableRbacAuthorization: true): the role granted here does nothing on an access-policy vault.')
param keyVaultName string

import { roles, roleId } from 'roles.bicep'

resource hostAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostAccountName
}

resource captureAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: captureAccountName
}

resource captureContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  name: '${captureAccountName}/default/${captureContainerName}'
}

resource manifestContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  name: '${captureAccountName}/default/${manifestContainerName}'
}

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' existing = {
  name: '${eventHubNamespaceName}/${eventHubName}'
}

// The host needs blob owner on its own account (leases, the deployment package, blob receipts).
resource hostRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in [roles.storageBlobDataOwner, roles.storageQueueDataContributor, roles.storageTableDataContributor]: {
    name: guid(hostAccount.id, appId, role)
    scope: hostAccount
    properties: { principalId: principalId, principalType: 'ServicePrincipal', roleDefinitionId: roleId(role) }
  }
]

resource captureReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(captureContainer.id, appId, roles.storageBlobDataReader)
  scope: captureContainer
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: roleId(roles.storageBlobDataReader)
  }
}

// A blob trigger connection also needs the account's queue service: the blob extension moves a blob
// that keeps failing to the `webjobs-blobtrigger-poison` queue there, creating it on first use, so
// the role is on the account, not on one queue. Azure Blob storage trigger, identity-based
// connections: https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-blob-trigger#identity-based-connections
resource captureQueues 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(captureAccount.id, appId, roles.storageQueueDataContributor)
  scope: captureAccount
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: roleId(roles.storageQueueDataContributor)
  }
}

resource manifestWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(manifestContainer.id, appId, roles.storageBlobDataContributor)
  scope: manifestContainer
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: roleId(roles.storageBlobDataContributor)
  }
}

resource sender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hub.id, appId, roles.eventHubsDataSender)
  scope: hub
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: roleId(roles.eventHubsDataSender)
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = if (!empty(keyVaultName)) {
  name: empty(keyVaultName) ? 'unused' : keyVaultName
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(keyVaultName)) {
  name: guid(vault.id, appId, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: roleId(roles.keyVaultSecretsUser)
  }
}
