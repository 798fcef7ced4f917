// The Functions app on the Flex Consumption plan (Node 22), with a system-assigned identity; the host
// storage and the deployment package are reached with that identity, never with keys.
// Flex Consumption: https://learn.microsoft.com/azure/azure-functions/flex-consumption-how-to
// (Microsoft.Web/sites functionAppConfig, API 2024-04-01). Flex sets the runtime in functionAppConfig:
// FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION are not app settings there.

param location string
param name string
param hostBlobEndpoint string
param deploymentContainerName string
@description('The app settings the app reads (lib/config.ts), without the host-storage ones added here.')
param appSettings object
param hostQueueEndpoint string
param hostTableEndpoint string
param maximumInstanceCount int
param instanceMemoryMB int
param tags object

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${name}-plan'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: [
        for setting in items(union(appSettings, {
          // Identity-based host storage: blob, queue and table for the host and the Durable task hub;
          // the ledger's tables live here too (lib/ledger derives the table endpoint from the blob one).
          AzureWebJobsStorage__blobServiceUri: hostBlobEndpoint
          AzureWebJobsStorage__queueServiceUri: hostQueueEndpoint
          AzureWebJobsStorage__tableServiceUri: hostTableEndpoint
        })): { name: setting.key, value: string(setting.value) }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostBlobEndpoint}${deploymentContainerName}'
          authentication: { type: 'SystemAssignedIdentity' }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: { name: 'node', version: '22' }
    }
  }
}

output name string = app.name
output id string = app.id
output principalId string = app.identity.principalId
output defaultHostName string = app.properties.defaultHostName
