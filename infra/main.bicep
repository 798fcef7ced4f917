// Azure side of orders-pipeline: Event Hubs with Capture to ADLS Gen2, the Functions app (Flex
// Consumption, managed identity), Event Grid BlobCreated → the capture trigger, Application Insights,
// the Databricks Access Connector, and least-privilege role assignments. Deploy with
//   az deployment group create -g RG -f infra/main.bicep -p infra/main.bicepparam -p databricksHost=… databricksJobId=…
// then publish the app and run it again with createEventGridSubscription=true (README, "Deploy to Azure").

@description('Lowercase letters and digits; resource names are this plus a suffix unique to the resource group.')
@minLength(3)
@maxLength(11)
param namePrefix string = 'orders'
param location string = resourceGroup().location

@description('Event Hubs partitions (fixed once created on Standard).')
@minValue(1)
@maxValue(32)
param eventHubPartitions int = 4
@description('Throughput units of the Standard namespace.')
@minValue(1)
@maxValue(40)
param eventHubThroughputUnits int = 1
@description('Capture time window: a file per partition at most this often (60-900 s).')
@minValue(60)
@maxValue(900)
param captureWindowSeconds int = 300
@description('Capture size limit: a file is cut at this size (10-500 MB).')
@minValue(10485760)
@maxValue(524288000)
param captureSizeLimitBytes int = 104857600
param captureContainerName string = 'capture'
param manifestContainerName string = 'manifests'
param deadLetterContainerName string = 'eventgrid-deadletter'
@description('Days raw Capture files are kept (the original design: 7).')
@minValue(1)
param retentionDays int = 7

@description('Workspace URL, e.g. https://adb-1234567890123456.7.azuredatabricks.net')
@minLength(8)
param databricksHost string
@description('Job id of orders_lakehouse, printed by `databricks bundle deploy` / `databricks jobs list`.')
@minValue(1)
param databricksJobId int
@description('HTTP path of the SQL warehouse for gold KPIs (/sql/1.0/warehouses/<id>); empty = none.')
param databricksSqlHttpPath string = ''
param databricksCatalog string = 'main'
param databricksSchema string = 'orders'
@description('A batch closes this long after its first file (cost against freshness: see `orders-pipeline cost`).')
param batchWaitSeconds int = 300

@description('Key Vault (in this resource group) with a Databricks PAT, only as a fallback; empty = Entra ID.')
param keyVaultName string = ''
param databricksPatSecretName string = 'databricks-pat'

@description('Create the Event Grid subscription: only after the app is published (it needs the webhook key).')
param createEventGridSubscription bool = false

@description('Who is emailed when the backlog alerts fire; empty = alerts in Azure Monitor only.')
param alertEmail string = ''
@description('How often the backlog timer reports; the silence alert waits three intervals.')
@allowed([1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60])
param backlogIntervalMinutes int = 5

param functionMaximumInstances int = 40
@allowed([512, 2048, 4096])
param functionInstanceMemoryMB int = 2048
param tags object = { app: 'orders-pipeline' }

var suffix = uniqueString(resourceGroup().id)
var captureAccountName = take('${namePrefix}cap${suffix}', 24)
var hostAccountName = take('${namePrefix}fn${suffix}', 24)
var eventHubNamespaceName = '${namePrefix}-ehns-${suffix}'
var eventHubName = 'orders'
var functionAppName = '${namePrefix}-fn-${suffix}'
var deploymentContainerName = 'app-package'
// functions/captureTrigger.ts registers the blob trigger under this name.
var captureFunctionName = 'captureTrigger'

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    captureAccountName: captureAccountName
    hostAccountName: hostAccountName
    captureContainerName: captureContainerName
    manifestContainerName: manifestContainerName
    deadLetterContainerName: deadLetterContainerName
    deploymentContainerName: deploymentContainerName
    retentionDays: retentionDays
    tags: tags
  }
}

module eventHubs 'modules/eventHubs.bicep' = {
  name: 'eventHubs'
  params: {
    location: location
    namespaceName: eventHubNamespaceName
    eventHubName: eventHubName
    partitions: eventHubPartitions
    throughputUnits: eventHubThroughputUnits
    captureWindowSeconds: captureWindowSeconds
    captureSizeLimitBytes: captureSizeLimitBytes
    captureAccountName: storage.outputs.captureAccountName
    captureContainerName: captureContainerName
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: { location: location, name: '${namePrefix}-${suffix}', tags: tags }
}

// Every setting lib/config.ts reads that the infrastructure decides; the rest keep the app's defaults.
var appSettings = union(
  {
    APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
    CaptureStorage__blobServiceUri: storage.outputs.captureBlobEndpoint
    CAPTURE_CONTAINER: captureContainerName
    MANIFEST_CONTAINER: manifestContainerName
    EVENTHUB_NAMESPACE: eventHubs.outputs.namespaceName
    EVENTHUB_NAME: eventHubName
    EVENTHUB_PARTITIONS: eventHubPartitions
    CAPTURE_WINDOW_SECONDS: captureWindowSeconds
    CAPTURE_SIZE_LIMIT_BYTES: captureSizeLimitBytes
    CAPTURE_SKIP_EMPTY_ARCHIVES: true
    DATABRICKS_HOST: databricksHost
    DATABRICKS_JOB_ID: databricksJobId
    DATABRICKS_SQL_HTTP_PATH: databricksSqlHttpPath
    DATABRICKS_CATALOG: databricksCatalog
    DATABRICKS_SCHEMA: databricksSchema
    BATCH_WAIT_SECONDS: batchWaitSeconds
    BACKLOG_INTERVAL_MINUTES: backlogIntervalMinutes
    RETENTION_DAYS: retentionDays
  },
  empty(keyVaultName)
    ? {}
    : { DATABRICKS_TOKEN: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${databricksPatSecretName})' }
)

module functionApp 'modules/functionApp.bicep' = {
  name: 'functionApp'
  params: {
    location: location
    name: functionAppName
    hostBlobEndpoint: storage.outputs.hostBlobEndpoint
    hostQueueEndpoint: storage.outputs.hostQueueEndpoint
    hostTableEndpoint: storage.outputs.hostTableEndpoint
    deploymentContainerName: deploymentContainerName
    appSettings: appSettings
    maximumInstanceCount: functionMaximumInstances
    instanceMemoryMB: functionInstanceMemoryMB
    tags: tags
  }
}

module functionAccess 'modules/functionAccess.bicep' = {
  name: 'functionAccess'
  params: {
    principalId: functionApp.outputs.principalId
    appId: functionApp.outputs.id
    hostAccountName: storage.outputs.hostAccountName
    captureAccountName: storage.outputs.captureAccountName
    captureContainerName: captureContainerName
    manifestContainerName: manifestContainerName
    eventHubNamespaceName: eventHubs.outputs.namespaceName
    eventHubName: eventHubName
    keyVaultName: keyVaultName
  }
}

module eventGrid 'modules/eventGrid.bicep' = {
  name: 'eventGrid'
  params: {
    location: location
    name: '${namePrefix}-capture-events-${suffix}'
    captureAccountName: storage.outputs.captureAccountName
    captureContainerName: captureContainerName
    deadLetterContainerName: deadLetterContainerName
    functionAppName: functionApp.outputs.name
    captureFunctionName: captureFunctionName
    createSubscription: createEventGridSubscription
    tags: tags
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    location: location
    name: '${namePrefix}-${suffix}'
    insightsId: monitoring.outputs.insightsId
    alertEmail: alertEmail
    backlogIntervalMinutes: backlogIntervalMinutes
    tags: tags
  }
}

module databricksAccess 'modules/databricksAccess.bicep' = {
  name: 'databricksAccess'
  params: {
    location: location
    name: '${namePrefix}-dbx-access-${suffix}'
    captureAccountName: storage.outputs.captureAccountName
    containerNames: [captureContainerName, manifestContainerName]
    tags: tags
  }
}

output functionAppName string = functionApp.outputs.name
output functionAppUrl string = 'https://${functionApp.outputs.defaultHostName}'
output functionAppPrincipalId string = functionApp.outputs.principalId
output eventHubNamespace string = eventHubs.outputs.namespaceName
output eventHubName string = eventHubName
output captureAccountName string = storage.outputs.captureAccountName
@description('abfss:// URL of the capture container, for the Unity Catalog external location and the continuous pipeline.')
output captureUrl string = 'abfss://${captureContainerName}@${captureAccountName}.dfs.${environment().suffixes.storage}/'
output manifestUrl string = 'abfss://${manifestContainerName}@${captureAccountName}.dfs.${environment().suffixes.storage}/'
output accessConnectorId string = databricksAccess.outputs.id
output databricksHost string = databricksHost
output databricksSqlHttpPath string = databricksSqlHttpPath
output databricksCatalog string = databricksCatalog
output databricksSchema string = databricksSchema
