// BlobCreated on the capture container → the blob extension's webhook of the capture trigger.
// The system topic is created with the infrastructure; the subscription only once the app is
// published (it needs the blobs_extension key and Event Grid validates the endpoint).
// Webhook: https://learn.microsoft.com/azure/azure-functions/functions-event-grid-blob-trigger
// (Microsoft.EventGrid/systemTopics/eventSubscriptions, API 2022-06-15).

param location string
param name string
param captureAccountName string
param captureContainerName string
param deadLetterContainerName string
@description('The app whose blobs_extension key the webhook URL carries.')
param functionAppName string
@description('The app\'s defaultHostName: never built from its name, since an app may get a unique default host name (with a hash and its region) and sovereign clouds use other domains.')
param functionAppHostName string
@description('The blob-triggered function (functions/captureTrigger.ts registers it under this name).')
param captureFunctionName string
param createSubscription bool
param tags object

import { roles, roleId } from 'roles.bicep'

resource captureAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: captureAccountName
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  name: '${captureAccountName}/default/${deadLetterContainerName}'
}

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: name
  location: location
  tags: tags
  identity: { type: 'SystemAssigned' }
  properties: {
    source: captureAccount.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

// Undeliverable events are written here (with the topic's identity) instead of being lost; the
// backlog timer would re-trigger their files anyway once the grace period passes.
resource deadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterContainer.id, topic.id, roles.storageBlobDataContributor)
  scope: deadLetterContainer
  properties: {
    principalId: topic.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: roleId(roles.storageBlobDataContributor)
  }
}

resource hostKeys 'Microsoft.Web/sites/host@2024-04-01' existing = if (createSubscription) {
  name: '${functionAppName}/default'
}

resource subscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = if (createSubscription) {
  parent: topic
  name: 'capture-blob-created'
  dependsOn: [deadLetterWriter]
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    destination: {
      endpointType: 'WebHook'
      properties: {
        // The host is the app's defaultHostName: since June 2024 a new app may get
        // <app>-<hash>.<region>… instead of <app>.… (App Service docs' regionalization note,
        // https://github.com/MicrosoftDocs/azure-docs/blob/main/articles/app-service/includes/regionalization-note.md).
        endpointUrl: 'https://${functionAppHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${captureFunctionName}&code=${hostKeys.listKeys().systemKeys.blobs_extension}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    filter: {
      includedEventTypes: ['Microsoft.Storage.BlobCreated']
      subjectBeginsWith: '/blobServices/default/containers/${captureContainerName}/blobs/'
      subjectEndsWith: '.avro'
      // On ADLS Gen2 a file raises CreateFile (length 0) and then FlushWithClose: only completed
      // writes start work (docs/architecture.md).
      advancedFilters: [
        {
          operatorType: 'StringIn'
          key: 'data.api'
          values: ['PutBlob', 'PutBlockList', 'FlushWithClose']
        }
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    deadLetterWithResourceIdentity: {
      identity: { type: 'SystemAssigned' }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: captureAccount.id
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output topicName string = topic.name
