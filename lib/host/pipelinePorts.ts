import { DefaultAzureCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import type { AppConfig } from '../config';
import { DatabricksAuth, JobsClient } from '../databricks/jobsClient';
import { TableHealthStore } from '../ledger/healthStore';
import { Ledger, TableLedger, storageTableClient } from '../ledger/ledger';
import { BacklogPorts, OrchestrationWatch, WatermarkStore } from '../operate/backlog';
import { TableReportStore } from '../operate/reportStore';
import { CaptureTriggerDeps } from '../pipeline/captureRecording';
import { BlobManifestStore, PipelinePorts } from '../pipeline/pipelineActions';
import { CaptureStore, containerUrl } from '../storage/captureStore';

/**
 * The orchestration's ports from the configuration: ledger and manifests on Storage, the Jobs API
 * at `jobsHost` (DATABRICKS_HOST, or the URL of a local Jobs API the caller started).
 */
export async function openPipelinePorts(
  config: AppConfig,
  jobs: { host: string; auth: DatabricksAuth },
  log: PipelinePorts['log'],
): Promise<PipelinePorts> {
  const capture = config.CaptureStorage;
  const service =
    'connectionString' in capture
      ? BlobServiceClient.fromConnectionString(capture.connectionString)
      : new BlobServiceClient(capture.serviceUri, new DefaultAzureCredential());
  return {
    ledger: await TableLedger.open(
      config.AzureWebJobsStorage,
      config.LEDGER_TABLE,
      config.CAPTURE_PATH_FORMAT,
    ),
    manifests: new BlobManifestStore(service.getContainerClient(config.MANIFEST_CONTAINER)),
    jobs: new JobsClient(jobs.host, { auth: jobs.auth }),
    jobId: config.DATABRICKS_JOB_ID,
    health: healthStore(config),
    log,
  };
}

/** What the local job may read: the capture and manifest containers on CaptureStorage. */
export function jobLocations(config: AppConfig): { capture: string; manifests: string } {
  return {
    capture: containerUrl(config.CaptureStorage, config.CAPTURE_CONTAINER),
    manifests: containerUrl(config.CaptureStorage, config.MANIFEST_CONTAINER),
  };
}

/** The ledger's state table holds the backlog watermark, its latest report and the pipeline's health. */
function stateTable(config: AppConfig) {
  return storageTableClient(config.AzureWebJobsStorage, `${config.LEDGER_TABLE}State`);
}

export function healthStore(config: AppConfig): TableHealthStore {
  return new TableHealthStore(stateTable(config));
}

export function reportStore(config: AppConfig): TableReportStore {
  return new TableReportStore(stateTable(config));
}

/** The timer's ports: the orchestration's ledger and Jobs client, the capture store, the watermark. */
export function backlogPorts(
  config: AppConfig,
  ports: { ledger: Ledger; jobs: JobsClient; jobId: number },
  captureStore: CaptureStore,
  signal: CaptureTriggerDeps['signal'],
  orchestration?: OrchestrationWatch,
): BacklogPorts {
  return {
    ledger: ports.ledger,
    watermarks: new WatermarkStore(stateTable(config)),
    health: healthStore(config),
    orchestration,
    captureStore,
    jobs: ports.jobs,
    jobId: ports.jobId,
    trigger: { ledger: ports.ledger, pathFormat: config.CAPTURE_PATH_FORMAT, signal },
  };
}
