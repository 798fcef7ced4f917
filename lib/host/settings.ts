import type { AppConfig } from '../config';
import type { DatabricksAuth } from '../databricks/jobsClient';
import type { CaptureSettings } from '../capture/captureSettings';
import type { BacklogSettings } from '../operate/backlog';
import { type CostRates, DEFAULT_BYTES_PER_EVENT, type Workload } from '../operate/costModel';
import type { WarehouseSettings } from '../operate/goldReport';
import type { PipelineSettings } from '../pipeline/pipelineDecision';

/**
 * The validated configuration turned into each component's own settings. Core modules take these
 * narrow values and never read the configuration, so they can be driven by tests and benches with
 * plain objects.
 */

/** Actions between two continue-as-new of the Durable orchestration (keeps its history small). */
const MAX_STEPS = 200;
const HOUR_MS = 3_600_000;

export function pipelineSettings(config: AppConfig): PipelineSettings {
  return {
    batchWaitMs: config.BATCH_WAIT_SECONDS * 1000,
    batchMaxFiles: config.BATCH_MAX_FILES,
    batchMaxBytes: config.BATCH_MAX_BYTES,
    pollMs: config.RUN_POLL_SECONDS * 1000,
    maxAttempts: config.RUN_MAX_ATTEMPTS,
    retryBaseMs: config.RETRY_BASE_SECONDS * 1000,
    retryMaxMs: config.RETRY_MAX_SECONDS * 1000,
    sweepMs: config.LEDGER_SWEEP_SECONDS * 1000,
    platformAlertAfter: config.PLATFORM_ALERT_AFTER,
    pauseMs: config.PERMANENT_ERROR_PAUSE_MINUTES * 60_000,
    maxSteps: MAX_STEPS,
  };
}

export function backlogSettings(config: AppConfig): BacklogSettings {
  return {
    format: config.CAPTURE_PATH_FORMAT,
    namespace: config.EVENTHUB_NAMESPACE,
    eventHub: config.EVENTHUB_NAME,
    partitions: config.EVENTHUB_PARTITIONS,
    captureWindowMs: config.CAPTURE_WINDOW_SECONDS * 1000,
    graceMs: config.BACKLOG_GRACE_MINUTES * 60_000,
    retentionMs: config.RETENTION_DAYS * 24 * HOUR_MS,
    platformAlertAfter: config.PLATFORM_ALERT_AFTER,
  };
}

/** The emulated hub and its Capture as configured (CAPTURE_* and EVENTHUB_* settings). */
export function emulatorSettings(config: AppConfig): CaptureSettings {
  return {
    namespace: config.EVENTHUB_NAMESPACE,
    eventHub: config.EVENTHUB_NAME,
    partitionCount: config.EVENTHUB_PARTITIONS,
    windowSeconds: config.CAPTURE_WINDOW_SECONDS,
    sizeLimitBytes: config.CAPTURE_SIZE_LIMIT_BYTES,
    skipEmptyArchives: config.CAPTURE_SKIP_EMPTY_ARCHIVES,
    codec: config.CAPTURE_CODEC,
    pathFormat: config.CAPTURE_PATH_FORMAT,
  };
}

/** The cost model's rates, prices and target (COST_* settings). */
export function costRates(config: AppConfig): CostRates {
  return {
    jobDbuPerHour: config.COST_JOB_DBU_PER_HOUR,
    jobStartupSeconds: config.COST_JOB_STARTUP_SECONDS,
    pricePerDbu: config.COST_PRICE_PER_DBU,
    continuousDbuPerHour: config.COST_CONTINUOUS_DBU_PER_HOUR,
    continuousPricePerDbu: config.COST_CONTINUOUS_PRICE_PER_DBU,
    continuousTriggerSeconds: config.COST_CONTINUOUS_TRIGGER_SECONDS,
    continuousLatencySeconds: config.COST_CONTINUOUS_LATENCY_SECONDS,
    runFixedSeconds: config.COST_RUN_FIXED_SECONDS,
    runSecondsPerMillionEvents: config.COST_RUN_SECONDS_PER_MILLION_EVENTS,
    freshnessTargetSeconds: config.COST_FRESHNESS_TARGET_SECONDS,
  };
}

/** What the status API's cost comparison assumes besides the observed rate: the configured setting. */
export function statusCost(config: AppConfig): {
  rates: CostRates;
  workload: Omit<Workload, 'eventsPerSecond'>;
} {
  return {
    rates: costRates(config),
    workload: {
      partitions: config.EVENTHUB_PARTITIONS,
      captureWindowSeconds: config.CAPTURE_WINDOW_SECONDS,
      captureSizeBytes: config.CAPTURE_SIZE_LIMIT_BYTES,
      batchWaitSeconds: config.BATCH_WAIT_SECONDS,
      batchMaxFiles: config.BATCH_MAX_FILES,
      batchMaxBytes: config.BATCH_MAX_BYTES,
      bytesPerEvent: DEFAULT_BYTES_PER_EVENT,
    },
  };
}

/**
 * A PAT when one is configured (the fallback), else the app's Entra ID identity. The identity SDK
 * is loaded only here: it is a large share of the Functions app's import time.
 */
export async function databricksAuth(config: AppConfig): Promise<DatabricksAuth> {
  if (config.DATABRICKS_TOKEN) return { token: config.DATABRICKS_TOKEN };
  const { DefaultAzureCredential } = await import('@azure/identity');
  return { credential: new DefaultAzureCredential() };
}

/** The SQL warehouse that serves gold, or undefined while DATABRICKS_SQL_HTTP_PATH is unset. */
export function warehouseSettings(config: AppConfig): WarehouseSettings | undefined {
  if (!config.DATABRICKS_SQL_HTTP_PATH) return undefined;
  return {
    httpPath: config.DATABRICKS_SQL_HTTP_PATH,
    catalog: config.DATABRICKS_CATALOG,
    schema: config.DATABRICKS_SCHEMA,
  };
}
