// How Databricks reads the capture and manifest containers: an Access Connector whose identity has
// read-only blob access, used by a Unity Catalog storage credential and external location (created
// with the Databricks CLI, see the README's deployment guide).

param location string
param name string
param captureAccountName string
param containerNames array
param tags object

import { roles, roleId } from 'roles.bicep'

resource connector 'Microsoft.Databricks/accessConnectors@2024-05-01' = {
  name: name
  location: location
  tags: tags
  identity: { type: 'SystemAssigned' }
  properties: {}
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = [
  for container in containerNames: {
    name: '${captureAccountName}/default/${container}'
  }
]

resource readers 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (container, i) in containerNames: {
    name: guid(containers[i].id, connector.id, roles.storageBlobDataReader)
    scope: containers[i]
    properties: {
      principalId: connector.identity.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: roleId(roles.storageBlobDataReader)
    }
  }
]

output id string = connector.id
output principalId string = connector.identity.principalId
