import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { AppConfig } from '../config';
import { healthStore, jobLocations } from '../host/pipelinePorts';
import { LocalJobsApi } from '../local/localJobsApi';
import { LakehouseJob, lakehouseJobDefinition } from '../lakehouse/lakehouseJob';
import { LocalLakehouse } from '../lakehouse/localLakehouse';
import { FINAL_STATES, FileState, Ledger, LedgerFile, TableLedger } from '../ledger/ledger';
import { CaptureWatcher, webhookDelivery } from '../local/captureWatcher';
import { recordCaptureFile } from '../pipeline/captureRecording';
import { LocalPipeline } from '../local/localPipeline';
import { captureStoreForConnection } from '../storage/captureStore';
import { integerOption, parseCommandArgs, UsageError, durationOption } from './args';
import { LocalStack } from '../local/localStack';
import { errorMessage } from '../errorMessage';

const jsonLog = (entry: Record<string, unknown>): void => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
};

export const PIPELINE_HELP = `orders-pipeline pipeline [--port N] [--watch-interval MS] [--webhook URL [--function-name NAME] [--key KEY]]

Runs the event-driven loop in this process until Ctrl+C: a watcher standing in for Event Grid lists
the capture container and delivers BlobCreated events to the capture trigger, which records each
file in the ledger; the orchestration (the same decisions as the Durable one) batches files and
calls run-now on DATABRICKS_HOST — with DATABRICKS_HOST=embedded (the local default), on a local
Jobs API running the job on LOCAL_DATA_DIR/lakehouse.duckdb. It resumes from the ledger after a
restart. It serves the Functions app's HTTP endpoints on http://127.0.0.1:PORT: POST /api/orders
(publishes into the local Event Hubs + Capture emulator), GET /api/status, GET /api/gold,
GET /api/dashboard. The backlog timer runs every BACKLOG_INTERVAL_MINUTES. Logs are JSON lines on
stderr.

  --port N              port of the HTTP endpoints (default 7071, as \`func start\` does)

  --watch-interval MS   how often the capture container is listed (default 1000)
  --webhook URL         only deliver the events, to a Functions host started with \`func start\`
                        (e.g. http://localhost:7071): the host's trigger and orchestration do the rest
  --function-name NAME  the blob trigger's name (default captureTrigger)
  --key KEY             the host's blobs_extension system key, if it requires one
`;

export async function pipelineCommand(args: string[], config: AppConfig, signal: AbortSignal): Promise<void> {
  const { values, positionals } = parseCommandArgs(args, {
    'watch-interval': { type: 'string' },
    port: { type: 'string' },
    webhook: { type: 'string' },
    'function-name': { type: 'string' },
    key: { type: 'string' },
  });
  if (positionals.length > 0) throw new UsageError(`pipeline takes no arguments, got "${positionals[0]}"`);
  const intervalMs = integerOption(values['watch-interval'], 'watch-interval', 1000, 50);
  if (values.webhook) {
    const store = captureStoreForConnection(config.CaptureStorage, config.CAPTURE_CONTAINER);
    const deliver = webhookDelivery(values.webhook, values['function-name'] ?? 'captureTrigger', values.key);
    const watcher = new CaptureWatcher(store, config.CAPTURE_CONTAINER, deliver, {
      intervalMs,
      onError: (error) => jsonLog({ event: 'deliveryFailed', error: errorMessage(error) }),
    });
    watcher.start();
    jsonLog({ event: 'watching', container: config.CAPTURE_CONTAINER, webhook: values.webhook });
    if (!signal.aborted) await once(signal, 'abort');
    await watcher.stop();
    return;
  }
  const stack = await LocalStack.open(config, {
    port: integerOption(values.port, 'port', 7071, 0),
    watchIntervalMs: intervalMs,
    log: jsonLog,
  });
  const { pipeline, http } = stack;
  jsonLog({
    event: 'started',
    container: config.CAPTURE_CONTAINER,
    jobsApi: pipeline.jobsApiUrl ?? (config.DATABRICKS_HOST as { url: string }).url,
    publish: `${http.url}/api/orders`,
    status: `${http.url}/api/status`,
    gold: `${http.url}/api/gold`,
    dashboard: `${http.url}/api/dashboard`,
  });
  try {
    // A failed orchestration is logged and restarted by the backlog timer's watchdog, as in Azure.
    await once(signal, 'abort');
  } finally {
    await stack.close();
  }
}

export const PROCESS_HELP = `orders-pipeline process <capture path or prefix>... [--since T] [--until T] [--timeout D]

Backfills or reprocesses Capture files through the same workflow as new ones. Each argument is a
path or prefix in the capture container (e.g. ordersns/orders/3/2026/11/24/). Files the ledger
has never seen are recorded as the trigger would record them; files it knows are put back to
pending (their loads are idempotent, re-applied changes are no-ops by lsn); files with no records
stay skipped. --since and --until (ISO times, inclusive) select by the file's Capture window time.

With DATABRICKS_HOST=embedded (the local default) the work runs in this process; with a workspace
URL, the deployed orchestration picks the files up from the ledger and this command reports
progress until they are done. Progress goes to stderr, the summary to stdout. --timeout (default
60m; 90s, 15m, 2h) bounds the wait: past it, the summary lists the unfinished files with their state
and last error, and the command exits non-zero.
`;

/** How long `process` waits for its files by default: longer than any healthy batch takes. */
const PROCESS_TIMEOUT_MS = 60 * 60_000;

export class ProcessTimeoutError extends Error {
  constructor(
    readonly unfinished: number,
    readonly total: number,
    timeoutMs: number,
  ) {
    super(`${unfinished} of ${total} files not finished after ${timeoutMs / 1000} s (see the summary)`);
    this.name = 'ProcessTimeoutError';
  }
}

export async function processCommand(args: string[], config: AppConfig, signal: AbortSignal): Promise<void> {
  const { values, positionals } = parseCommandArgs(args, {
    since: { type: 'string' },
    until: { type: 'string' },
    timeout: { type: 'string' },
  });
  if (positionals.length === 0) throw new UsageError('process needs at least one capture path or prefix');
  const timeoutMs = durationOption(values.timeout, 'timeout', PROCESS_TIMEOUT_MS);
  const since = timeOption(values.since, 'since');
  const until = timeOption(values.until, 'until');
  const started = performance.now();
  const embedded = config.DATABRICKS_HOST.kind === 'embedded';
  const ledger: Ledger = await TableLedger.open(
    config.AzureWebJobsStorage,
    config.LEDGER_TABLE,
    config.CAPTURE_PATH_FORMAT,
  );
  const store = captureStoreForConnection(config.CaptureStorage, config.CAPTURE_CONTAINER);
  let pipeline: LocalPipeline | undefined;
  try {
    const selected: string[] = [];
    for (const prefix of positionals) {
      for await (const file of store.list({ prefix: prefix.replace(/^\/+/, ''), signal })) {
        const time = config.CAPTURE_PATH_FORMAT.matches(file.path)
          ? config.CAPTURE_PATH_FORMAT.parse(file.path).windowStart.getTime()
          : undefined;
        if (time !== undefined && ((since && time < since) || (until && time > until))) continue;
        if (!selected.includes(file.path)) selected.push(file.path);
        const known = await ledger.get(file.path);
        if (!known) {
          await recordCaptureFile(
            {
              path: file.path,
              url: store.fileUrl(file.path),
              bytes: file.bytes,
              createdAt: file.createdAt,
              content: () => store.read(file.path, { signal }),
            },
            // No signal: the orchestration takes every selected file from the ledger at once.
            { ledger, pathFormat: config.CAPTURE_PATH_FORMAT, signal: async () => undefined },
          );
        } else if (known.records > 0 && known.state !== 'rejected') {
          await ledger.requeue(known);
        }
      }
    }
    if (selected.length === 0) throw new UsageError(`no Capture files under ${positionals.join(', ')}`);
    if (embedded) {
      // Opened once every selected file is pending: its first ledger sweep batches them together.
      pipeline = await LocalPipeline.open({ config, log: () => undefined, watchIntervalMs: 0 });
    } else {
      // A deployed orchestration paused by a permanent error (a token since renewed, say) tries
      // again at its next ledger sweep instead of waiting out the pause.
      await healthStore(config).requestResume(new Date());
    }
    const finished = await waitUntilFinal(ledger, selected, signal, Date.now() + timeoutMs);
    const unfinished = finished.filter((r) => !FINAL_STATES.includes(r.state));
    const counts: Partial<Record<FileState, number>> = {};
    for (const row of finished) counts[row.state] = (counts[row.state] ?? 0) + 1;
    const runs = new Set(finished.map((r) => r.runId).filter(Boolean)).size;
    process.stdout.write(
      `${JSON.stringify({
        files: selected.length,
        ...counts,
        records: finished.reduce((n, r) => n + r.records, 0),
        runs,
        seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
        deadLettered: finished
          .filter((r) => r.state === 'deadLettered')
          .map((r) => ({ path: r.path, error: r.error })),
        ...(unfinished.length > 0
          ? { unfinished: unfinished.map((r) => ({ path: r.path, state: r.state, error: r.error })) }
          : {}),
      })}\n`,
    );
    if (unfinished.length > 0) throw new ProcessTimeoutError(unfinished.length, selected.length, timeoutMs);
  } finally {
    await pipeline?.close();
  }
}

/** The files' rows once every one is final, or as they are at the deadline. */
async function waitUntilFinal(
  ledger: Ledger,
  paths: string[],
  signal: AbortSignal,
  deadline: number,
): Promise<LedgerFile[]> {
  let last = '';
  for (;;) {
    signal.throwIfAborted();
    const rows = (await Promise.all(paths.map((p) => ledger.get(p)))) as LedgerFile[];
    const done = rows.filter((r) => FINAL_STATES.includes(r.state)).length;
    const line = `process: ${done}/${paths.length} files finished`;
    if (line !== last) process.stderr.write(`${line}\n`);
    last = line;
    if (done === paths.length || Date.now() >= deadline) return rows;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function timeOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new UsageError(`--${name} must be an ISO time, not "${value}"`);
  return time;
}

export const JOBS_API_HELP = `orders-pipeline jobs-api [--port N]

Runs the local Jobs API in the foreground until Ctrl+C: the Jobs API 2.2 paths and JSON of a
Databricks workspace, with one job (DATABRICKS_JOB_ID, parameters batch_id and manifest_path) that
runs bronze, silver and gold on LOCAL_DATA_DIR/lakehouse.duckdb. For \`func start\`: set
DATABRICKS_HOST to the URL it prints and DATABRICKS_TOKEN to the token (a random one is printed if
DATABRICKS_TOKEN is unset).
`;

export async function jobsApiCommand(args: string[], config: AppConfig, signal: AbortSignal): Promise<void> {
  const { values, positionals } = parseCommandArgs(args, { port: { type: 'string' } });
  if (positionals.length > 0) throw new UsageError(`jobs-api takes no arguments, got "${positionals[0]}"`);
  const token = config.DATABRICKS_TOKEN ?? randomBytes(24).toString('base64url');
  const lakehouse = await LocalLakehouse.open(path.join(config.LOCAL_DATA_DIR, 'lakehouse.duckdb'), {
    pathFormat: config.CAPTURE_PATH_FORMAT,
  });
  const api = await LocalJobsApi.start({
    token,
    job: lakehouseJobDefinition(config.DATABRICKS_JOB_ID),
    runner: new LakehouseJob(lakehouse, jobLocations(config)),
    statePath: path.join(config.LOCAL_DATA_DIR, 'jobs-api.json'),
    runTimeoutMs: config.LOCAL_RUN_TIMEOUT_MINUTES * 60_000,
    port: integerOption(values.port, 'port', 8090, 0),
  });
  process.stdout.write(`DATABRICKS_HOST=${api.url}\nDATABRICKS_JOB_ID=${config.DATABRICKS_JOB_ID}\n`);
  if (!config.DATABRICKS_TOKEN) process.stdout.write(`DATABRICKS_TOKEN=${token}\n`);
  if (!signal.aborted) await once(signal, 'abort');
  await api.close();
  await lakehouse.close();
}
