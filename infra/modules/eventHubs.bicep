// Event Hubs namespace and hub with Capture to the capture container (Avro, the default path layout,
// empty archives skipped), written with the namespace's own managed identity.
// Capture: https://learn.microsoft.com/azure/event-hubs/event-hubs-capture-overview
// (Microsoft.EventHub/namespaces/eventhubs captureDescription, API 2024-01-01).

param location string
param namespaceName string
param eventHubName string
@minValue(1)
@maxValue(32)
param partitions int
@description('Throughput units of the Standard namespace (each: 1 MB/s or 1,000 events/s in).')
param throughputUnits int
@minValue(60)
@maxValue(900)
param captureWindowSeconds int
@minValue(10485760)
@maxValue(524288000)
param captureSizeLimitBytes int
param captureAccountName string
param captureContainerName string
@description('Capture on. Off only for a first deployment, whose role for Capture may not apply yet (azd hooks).')
param captureEnabled bool = true
param tags object

import { roles, roleId } from 'roles.bicep'

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: namespaceName
  location: location
  tags: tags
  sku: { name: 'Standard', tier: 'Standard', capacity: throughputUnits }
  identity: { type: 'SystemAssigned' }
  properties: {
    minimumTlsVersion: '1.2'
    disableLocalAuth: true // senders use Entra ID (the publish API's managed identity)
  }
}

resource captureAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: captureAccountName
}

resource captureContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  name: '${captureAccountName}/default/${captureContainerName}'
}

// Capture writes with the namespace's identity: it needs this before Capture is switched on.
resource captureWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(captureContainer.id, namespace.id, roles.storageBlobDataContributor)
  scope: captureContainer
  properties: {
    principalId: namespace.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: roleId(roles.storageBlobDataContributor)
  }
}

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: namespace
  name: eventHubName
  dependsOn: [captureWriter]
  properties: {
    partitionCount: partitions
    messageRetentionInDays: 1
    captureDescription: {
      enabled: captureEnabled
      encoding: 'Avro'
      intervalInSeconds: captureWindowSeconds
      sizeLimitInBytes: captureSizeLimitBytes
      skipEmptyArchives: true
      destination: {
        name: 'EventHubArchive.AzureBlockBlob'
        identity: { type: 'SystemAssigned' }
        properties: {
          storageAccountResourceId: captureAccount.id
          blobContainer: captureContainerName
          // Capture's default layout, which the app's CAPTURE_PATH_FORMAT default parses.
          archiveNameFormat: '{Namespace}/{EventHub}/{PartitionId}/{Year}/{Month}/{Day}/{Hour}/{Minute}/{Second}'
        }
      }
    }
  }
}

output namespaceName string = namespace.name
output eventHubId string = hub.id
// The Kafka endpoint (continuous mode straight from the hub): the namespace's own host, port 9093,
// so other clouds' domains come from the namespace, not from a literal. Kafka needs Standard or
// higher (https://learn.microsoft.com/azure/event-hubs/azure-event-hubs-kafka-overview).
output kafkaBootstrap string = '${split(split(namespace.properties.serviceBusEndpoint, '/')[2], ':')[0]}:9093'
