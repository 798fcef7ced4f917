import { DefaultAzureCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import type { AppConfig } from '../config';
import { DatabricksAuth, JobsClient } from '../databricks/jobsClient';
import { TableLedger } from '../ledger/ledger';
import { BlobManifestStore, PipelinePorts } from '../pipeline/pipelineActions';

/** A PAT when one is configured (the fallback), else the app's Entra ID identity. */
export function databricksAuth(config: AppConfig): DatabricksAuth {
  return config.DATABRICKS_TOKEN
    ? { token: config.DATABRICKS_TOKEN }
    : { credential: new DefaultAzureCredential() };
}

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
    log,
  };
}
