using 'main.bicep'

// Defaults for a small shop: 4 partitions, one throughput unit (≈1,000 events/s in), a file per
// partition every 5 minutes, batches closing 5 minutes after their first file. What differs per
// deployment comes from the environment (azd sets AZURE_ENV_NAME and passes its own variables; by
// hand, export them before `az deployment group create`): the workspace URL and the job id from your
// Databricks workspace (README, "Deploy to Azure"), and the switches below.
param namePrefix = readEnvironmentVariable('AZURE_ENV_NAME', 'orders')
param eventHubPartitions = 4
param eventHubThroughputUnits = 1
param captureWindowSeconds = 300
param captureSizeLimitBytes = 104857600
param retentionDays = 7
param batchWaitSeconds = 300
param databricksHost = readEnvironmentVariable('DATABRICKS_HOST', '')
param databricksJobId = int(readEnvironmentVariable('DATABRICKS_JOB_ID', '0'))
param databricksSqlHttpPath = readEnvironmentVariable('DATABRICKS_SQL_HTTP_PATH', '')
param databricksCatalog = 'main'
param databricksSchema = 'orders'
// Second stage, after the app is published (it needs the blobs_extension key).
param captureEnabled = bool(readEnvironmentVariable('CAPTURE_ENABLED', 'true'))
param createEventGridSubscription = bool(readEnvironmentVariable('CREATE_EVENT_GRID_SUBSCRIPTION', 'false'))
param alertEmail = readEnvironmentVariable('ALERT_EMAIL', '')
// PAT fallback only; the vault must use Azure RBAC (enableRbacAuthorization: true).
param keyVaultName = readEnvironmentVariable('KEY_VAULT_NAME', '')
param continuousFromEventHubs = bool(readEnvironmentVariable('CONTINUOUS_FROM_EVENT_HUBS', 'false'))
