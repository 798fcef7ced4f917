// Azure side of orders-pipeline: Event Hubs with Capture to ADLS Gen2, the Functions app (Flex
// Consumption, managed identity), Event Grid BlobCreated → the capture trigger, Application Insights,
// the Databricks Access Connector, and least-privilege role assignments. Deploy with `azd up` (its hooks
// read the outputs below as environment variables) or with
//   az deployment group create -g RG -f infra/main.bicep -p infra/main.bicepparam
// (main.bicepparam reads DATABRICKS_HOST, DATABRICKS_JOB_ID, … from the environment), then publish
// the app and deploy again with CREATE_EVENT_GRID_SUBSCRIPTION=true (README, "Deploy to Azure").

@description('Any name, e.g. the azd environment name: resource names take its letters and digits, lowercased, at most 11 (an "o" first if it does not start with a letter), plus a suffix unique to the resource group.')
@minLength(1)
@maxLength(64)
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

@description('Key Vault (in this resource group) with a Databricks PAT, only as a fallback; empty = Entra ID. The vault must use Azure RBAC (enableRbacAuthorization: true): the app gets Key Vault Secrets User, which an access-policy vault ignores. Bicep cannot check an existing vault; the deploy hook does (az keyvault show).')
param keyVaultName string = ''
param databricksPatSecretName string = 'databricks-pat'

@description('Event Hubs Capture on (the default). azd\'s first provision deploys it off and postprovision turns it on, with retries: Capture is refused until the namespace\'s new role on the container applies.')
param captureEnabled bool = true

@description('Create the Event Grid subscription: only after the app is published (it needs the webhook key).')
param createEventGridSubscription bool = false

@description('Who is emailed when the backlog alerts fire; empty = alerts in Azure Monitor only.')
param alertEmail string = ''
@description('How often the backlog timer reports; the silence alert waits three intervals.')
@allowed([1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60])
param backlogIntervalMinutes int = 5

@description('Continuous mode straight from Event Hubs: a consumer group for the Lakeflow pipeline and Azure Event Hubs Data Receiver on the hub for the Access Connector (Kafka endpoint, Standard tier or higher).')
param continuousFromEventHubs bool = false
@description('The consumer group the continuous pipeline reads with (created only with continuousFromEventHubs).')
@minLength(1)
@maxLength(50)
param continuousConsumerGroup string = 'lakeflow'

param functionMaximumInstances int = 40
@allowed([512, 2048, 4096])
param functionInstanceMemoryMB int = 2048
param tags object = { app: 'orders-pipeline' }

var suffix = uniqueString(resourceGroup().id)
// Storage account names are 3-24 lowercase letters and digits; Event Hubs namespaces start with a
// letter. azd environment names may hold capitals, '-', '_', '.', '(' and ')': keep letters and
// digits only, lowercased ('orders' stays 'orders', so existing deployments keep their names).
// https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules
var nameLetters = 'abcdefghijklmnopqrstuvwxyz'
var nameChars = '${nameLetters}0123456789'
var cleanPrefix = reduce(
  range(0, length(namePrefix)),
  '',
  (kept, i) => contains(nameChars, toLower(substring(namePrefix, i, 1))) ? '${kept}${toLower(substring(namePrefix, i, 1))}' : kept
)
var prefix = take(!empty(cleanPrefix) && contains(nameLetters, take(cleanPrefix, 1)) ? cleanPrefix : 'o${cleanPrefix}', 11)
var captureAccountName = take('${prefix}cap${suffix}', 24)
var hostAccountName = take('${prefix}fn${suffix}', 24)
var eventHubNamespaceName = '${prefix}-ehns-${suffix}'
var eventHubName = 'orders'
var functionAppName = '${prefix}-fn-${suffix}'
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
    captureEnabled: captureEnabled
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: { location: location, name: '${prefix}-${suffix}', tags: tags }
}

// Every setting lib/config.ts reads that the infrastructure decides; the rest keep the app's defaults.
var appSettings = union(
  {
    APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
    // An identity-based blob trigger connection needs the queue service too (poison blobs):
    // https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-blob-trigger#identity-based-connections
    CaptureStorage__blobServiceUri: storage.outputs.captureBlobEndpoint
    CaptureStorage__queueServiceUri: storage.outputs.captureQueueEndpoint
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
    name: '${prefix}-capture-events-${suffix}'
    captureAccountName: storage.outputs.captureAccountName
    captureContainerName: captureContainerName
    deadLetterContainerName: deadLetterContainerName
    functionAppName: functionApp.outputs.name
    functionAppHostName: functionApp.outputs.defaultHostName
    captureFunctionName: captureFunctionName
    createSubscription: createEventGridSubscription
    tags: tags
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    location: location
    name: '${prefix}-${suffix}'
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
    name: '${prefix}-dbx-access-${suffix}'
    captureAccountName: storage.outputs.captureAccountName
    containerNames: [captureContainerName, manifestContainerName]
    tags: tags
  }
}

module continuousSource 'modules/continuousSource.bicep' = if (continuousFromEventHubs) {
  name: 'continuousSource'
  params: {
    namespaceName: eventHubs.outputs.namespaceName
    eventHubName: eventHubName
    consumerGroupName: continuousConsumerGroup
    principalId: databricksAccess.outputs.principalId
    connectorId: databricksAccess.outputs.id
  }
}

// azd sets each output as an environment variable under the output's own name (functionAppName),
// matching names without regard to case (azure-dev, pkg/infra/provisioning/bicep/bicep_provider.go,
// createOutputParameters): the hooks read these, so keep the names stable and distinct ignoring case.
output resourceGroupName string = resourceGroup().name
output functionAppName string = functionApp.outputs.name
output functionAppHostName string = functionApp.outputs.defaultHostName
output functionAppUrl string = 'https://${functionApp.outputs.defaultHostName}'
output functionAppPrincipalId string = functionApp.outputs.principalId
output eventGridSystemTopicName string = eventGrid.outputs.topicName
output eventHubNamespace string = eventHubs.outputs.namespaceName
output eventHubName string = eventHubName
@description('host:9093 of the hub\'s Kafka endpoint, for continuous mode straight from Event Hubs.')
output eventHubsKafkaBootstrap string = eventHubs.outputs.kafkaBootstrap
@description('The consumer group continuous mode reads with; empty unless continuousFromEventHubs.')
output continuousConsumerGroup string = continuousFromEventHubs ? continuousConsumerGroup : ''
output captureAccountName string = storage.outputs.captureAccountName
@description('abfss:// URL of the capture container, for the Unity Catalog external location and the continuous pipeline.')
output captureUrl string = 'abfss://${captureContainerName}@${captureAccountName}.dfs.${environment().suffixes.storage}/'
output manifestUrl string = 'abfss://${manifestContainerName}@${captureAccountName}.dfs.${environment().suffixes.storage}/'
output accessConnectorId string = databricksAccess.outputs.id
output databricksHost string = databricksHost
output databricksSqlHttpPath string = databricksSqlHttpPath
output databricksCatalog string = databricksCatalog
output databricksSchema string = databricksSchema
output keyVaultName string = keyVaultName
