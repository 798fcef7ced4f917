import { ContainerClient } from '@azure/storage-blob';
import { Run } from '../databricks/jobsApi';
import { JobsApiError, JobsClient } from '../databricks/jobsClient';
import { toOpenFile } from '../ledger/fileRefs';
import type { HealthStore } from '../ledger/healthStore';
import { Ledger, LedgerPatch } from '../ledger/ledger';
import { BatchManifest, manifestBlobName, toLakehouseUrl } from '../lakehouse/manifest';
import { ApiFailure, Batch, OpenFile, PipelineAction, PipelineEvent, RunOutcome } from './pipelineDecision';
import { errorMessage } from '../errorMessage';

/** Where batch manifests are written; returns the `manifest_path` the job reads. */
export interface ManifestStore {
  write(manifest: BatchManifest): Promise<string>;
}

/** Manifests as blobs in their own container (never the capture container: its events start work). */
export class BlobManifestStore implements ManifestStore {
  constructor(private readonly container: ContainerClient) {}

  async write(manifest: BatchManifest): Promise<string> {
    const blob = this.container.getBlockBlobClient(manifestBlobName(manifest.batch_id));
    const body = JSON.stringify(manifest);
    try {
      await blob.upload(body, Buffer.byteLength(body), {
        blobHTTPHeaders: { blobContentType: 'application/json' },
      });
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
      await this.container.createIfNotExists();
      await blob.upload(body, Buffer.byteLength(body), {
        blobHTTPHeaders: { blobContentType: 'application/json' },
      });
    }
    return toLakehouseUrl(blob.url);
  }
}

/** The I/O the orchestration's actions need: its ports. */
export interface PipelinePorts {
  ledger: Ledger;
  manifests: ManifestStore;
  jobs: JobsClient;
  jobId: number;
  /** Where the pipeline's health goes for the backlog timer, its alert and the dashboard. */
  health: HealthStore;
  /** One structured log entry (a JSON line locally; the function's logger in Azure). */
  log: (entry: Record<string, unknown>) => void;
  now?: () => number;
}

type IoAction = Exclude<PipelineAction, { kind: 'wait' | 'continueAsNew' }>;

/** Performs one action and reports its result as the decision's next event; never throws for I/O. */
export async function performAction(action: IoAction, ports: PipelinePorts): Promise<PipelineEvent> {
  const now = ports.now ?? Date.now;
  switch (action.kind) {
    case 'readLedger':
      try {
        const files: OpenFile[] = [];
        for await (const file of ports.ledger.listOpen()) {
          if (file.state === 'pending' || file.state === 'batched' || file.state === 'submitted') {
            files.push(toOpenFile(file));
          }
        }
        const resume = (await ports.health.read())?.resumeRequestedAt;
        return { kind: 'ledgerRead', files, ...(resume ? { resumeRequestedAt: Date.parse(resume) } : {}) };
      } catch (error) {
        return { kind: 'ledgerReadFailed', error: failureOf(error) };
      }
    case 'submit':
      return submit(action, ports, now);
    case 'poll':
      try {
        const run = await ports.jobs.getRun(action.runId);
        const outcome = runOutcome(run);
        if (outcome.kind !== 'active') {
          ports.log({ event: 'runEnded', batchId: action.batchId, runId: action.runId, ...outcome });
        }
        return { kind: 'polled', run: outcome };
      } catch (error) {
        return { kind: 'pollFailed', error: failureOf(error) };
      }
    case 'finish':
    case 'deadLetter': {
      const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : undefined);
      const patch: LedgerPatch =
        action.kind === 'finish'
          ? { state: 'succeeded', error: '' }
          : { state: 'deadLettered', error: action.error };
      try {
        await ports.ledger.update(
          action.batch.files.map((file) => ({
            path: file.path,
            patch: {
              ...patch,
              runId: String(action.runId),
              runStartedAt: iso(action.startedAt),
              runFinishedAt: iso(action.finishedAt),
            },
          })),
        );
      } catch (error) {
        return { kind: 'recordFailed', error: failureOf(error) };
      }
      ports.log({
        event: action.kind === 'finish' ? 'batchSucceeded' : 'fileDeadLettered',
        batchId: action.batch.id,
        runId: action.runId,
        files: action.batch.files.length,
        records: action.batch.files.reduce((sum, f) => sum + f.records, 0),
        ...(action.kind === 'deadLetter' ? { file: action.batch.files[0].path, error: action.error } : {}),
      });
      return { kind: 'recorded' };
    }
    case 'reportHealth':
      try {
        await ports.health.write(action.health, new Date(now()));
      } catch (error) {
        return { kind: 'healthReportFailed', error: failureOf(error) };
      }
      ports.log({ event: 'pipelineHealth', ...action.health });
      return { kind: 'healthReported' };
  }
}

async function submit(
  action: Extract<PipelineAction, { kind: 'submit' }>,
  ports: PipelinePorts,
  now: () => number,
): Promise<PipelineEvent> {
  const { batch, attempt } = action;
  try {
    const batchedAt = new Date(now()).toISOString();
    await ports.ledger.update(
      batch.files.map((file) => ({
        path: file.path,
        patch: {
          state: 'batched',
          batchId: batch.id,
          batchAttempt: attempt,
          batchDepth: batch.depth,
          batchedAt,
        },
      })),
    );
    const manifestPath = await ports.manifests.write(manifestOf(batch));
    const submittedAt = new Date(now()).toISOString();
    const { run_id: runId } = await ports.jobs.runNow({
      job_id: ports.jobId,
      job_parameters: { batch_id: batch.id, manifest_path: manifestPath },
      idempotency_token: action.idempotencyToken,
    });
    await ports.ledger.update(
      batch.files.map((file) => ({
        path: file.path,
        patch: { state: 'submitted', runId: String(runId), submittedAt, attempts: file.attempts + 1 },
      })),
    );
    ports.log({ event: 'runSubmitted', batchId: batch.id, attempt, runId, files: batch.files.length });
    return { kind: 'submitted', runId };
  } catch (error) {
    const failure = failureOf(error);
    ports.log({ event: 'submitFailed', batchId: batch.id, attempt, ...failure });
    return { kind: 'submitFailed', error: failure };
  }
}

export function manifestOf(batch: Batch): BatchManifest {
  return {
    batch_id: batch.id,
    files: batch.files.map((f) => ({ url: toLakehouseUrl(f.url), bytes: f.bytes, records: f.records })),
  };
}

const STILL_RUNNING = new Set([
  'QUEUED',
  'PENDING',
  'RUNNING',
  'TERMINATING',
  'BLOCKED',
  'WAITING_FOR_RETRY',
]);
/** Results that say the job never ran the batch: retried without counting against it. */
const NOT_THE_BATCH = new Set([
  'CANCELED',
  'MAXIMUM_CONCURRENT_RUNS_REACHED',
  'EXCLUDED',
  'UPSTREAM_CANCELED',
]);

/** What a run's state means to the orchestration (Jobs API 2.2 `state`; `status` says the same). */
export function runOutcome(run: Run): RunOutcome {
  const lifeCycle = run.state.life_cycle_state;
  if (STILL_RUNNING.has(lifeCycle)) return { kind: 'active' };
  const startedAt = run.start_time ? run.start_time + (run.queue_duration ?? 0) : undefined;
  const finishedAt = run.end_time || undefined;
  const result = run.state.result_state;
  if (lifeCycle === 'TERMINATED' && result === 'SUCCESS') {
    return { kind: 'succeeded', startedAt: startedAt ?? run.end_time ?? 0, finishedAt: finishedAt ?? 0 };
  }
  const failedTask = run.tasks?.find(
    (t) =>
      t.state?.result_state &&
      t.state.result_state !== 'SUCCESS' &&
      t.state.result_state !== 'UPSTREAM_FAILED',
  );
  const message =
    failedTask?.state?.state_message ||
    run.status?.termination_details?.message ||
    run.state.state_message ||
    `run ended ${lifeCycle}${result ? ` ${result}` : ''}`;
  const notTheBatch =
    lifeCycle === 'SKIPPED' || lifeCycle === 'INTERNAL_ERROR' || NOT_THE_BATCH.has(result ?? '');
  return { kind: 'failed', message, notTheBatch, startedAt, finishedAt };
}

/** An error as the decision sees it. */
export function failureOf(error: unknown): ApiFailure {
  if (error instanceof JobsApiError) {
    const gone =
      error.errorCode === 'RESOURCE_DOES_NOT_EXIST' ||
      (error.errorCode === 'INVALID_PARAMETER_VALUE' && /run .* does not exist/i.test(error.detail));
    return {
      kind: gone ? 'runNotFound' : error.transient ? 'transient' : 'permanent',
      message: error.message,
      retryAfterMs: error.retryAfterMs,
    };
  }
  // Storage and network failures of the ledger or manifest writes: worth another try.
  return { kind: 'transient', message: errorMessage(error) };
}
