// The two storage accounts: capture (ADLS Gen2, where Event Hubs Capture writes and the job reads)
// and host (the Functions host, the Durable task hub, the ledger tables, the deployment package).
// Shared keys are off on both: every client uses Entra ID.

param location string
param captureAccountName string
param hostAccountName string
param captureContainerName string
param manifestContainerName string
param deadLetterContainerName string
param deploymentContainerName string
@description('Days raw Capture files (and manifests) are kept before lifecycle management deletes them.')
param retentionDays int
param tags object

resource capture 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: captureAccountName
  location: location
  tags: tags
  sku: { name: 'Standard_LRS' }
  kind: 'StorageV2'
  properties: {
    isHnsEnabled: true // ADLS Gen2: Unity Catalog external locations read it over abfss://
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    supportsHttpsTrafficOnly: true
  }
}

resource captureBlobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: capture
  name: 'default'
}

resource captureContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: captureBlobs
  name: captureContainerName
}

// Manifests live beside the capture container, never in it: its BlobCreated events start work.
resource manifestContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: captureBlobs
  name: manifestContainerName
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: captureBlobs
  name: deadLetterContainerName
}

// The original design keeps raw files for 7 days; the backlog timer alerts at half of it.
resource retention 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: capture
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'expire-raw-capture-files'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: ['blockBlob']
              prefixMatch: ['${captureContainerName}/', '${manifestContainerName}/']
            }
            actions: {
              baseBlob: { delete: { daysAfterCreationGreaterThan: retentionDays } }
            }
          }
        }
      ]
    }
  }
}

resource host 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: hostAccountName
  location: location
  tags: tags
  sku: { name: 'Standard_LRS' }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    supportsHttpsTrafficOnly: true
  }
}

resource hostBlobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: host
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: hostBlobs
  name: deploymentContainerName
}

output captureAccountId string = capture.id
output captureAccountName string = capture.name
output captureBlobEndpoint string = capture.properties.primaryEndpoints.blob
output captureQueueEndpoint string = capture.properties.primaryEndpoints.queue
output captureDfsEndpoint string = capture.properties.primaryEndpoints.dfs
output hostAccountId string = host.id
output hostAccountName string = host.name
output hostBlobEndpoint string = host.properties.primaryEndpoints.blob
output hostQueueEndpoint string = host.properties.primaryEndpoints.queue
output hostTableEndpoint string = host.properties.primaryEndpoints.table
