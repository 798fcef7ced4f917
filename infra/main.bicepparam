using 'main.bicep'

// Defaults for a small shop: 4 partitions, one throughput unit (≈1,000 events/s in), a file per
// partition every 5 minutes, batches closing 5 minutes after their first file. The workspace URL and
// the job id come from your Databricks workspace (README, "Deploy to Azure"): pass them with -p.
param namePrefix = 'orders'
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
param createEventGridSubscription = false
