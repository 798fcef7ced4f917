import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { AppConfig } from '../config';
import type { DatabricksAuth } from '../databricks/jobsClient';
import { LocalJobsApi } from './localJobsApi';
import { LakehouseJob, lakehouseJobDefinition } from '../lakehouse/lakehouseJob';
import { BatchResult, LocalLakehouse } from '../lakehouse/localLakehouse';
import { CaptureStore, captureStoreForConnection } from '../storage/captureStore';
import { CaptureWatcher } from './captureWatcher';
import {
  BlobCreatedEvent,
  CaptureTriggerDeps,
  TriggerOutcome,
  capturedBlobOf,
  recordCaptureFile,
} from '../pipeline/captureRecording';
import { BacklogPorts, BacklogReport, runBacklog } from '../operate/backlog';
import { PipelineStatus, collectStatus } from '../operate/status';
import { GoldAnswer, goldAnswer, warehouseGold } from '../operate/goldReport';
import { LocalDriver } from './localDriver';
import { PipelinePorts } from '../pipeline/pipelineActions';
import { backlogPorts, jobLocations, openPipelinePorts, reportStore } from '../host/pipelinePorts';
import { ReportStore, publishReport } from '../operate/reportStore';
import {
  backlogSettings,
  databricksAuth,
  pipelineSettings,
  statusCost,
  warehouseSettings,
} from '../host/settings';
import { PipelineEvent, PipelineState } from '../pipeline/pipelineDecision';
import { errorMessage } from '../errorMessage';

export interface LocalPipelineOptions {
  config: AppConfig;
  log: PipelinePorts['log'];
  /** How often the stand-in for Event Grid lists the capture container; 0 = never (deliver by hand). */
  watchIntervalMs?: number;
  onDecision?: (state: PipelineState, event: PipelineEvent) => void;
  /** Runs the backlog timer this often (BACKLOG_INTERVAL_MINUTES in the CLI); 0 or unset = never. */
  backlogIntervalMs?: number;
}

/**
 * The event-driven loop in one process: the capture trigger (fed by a container watcher standing in
 * for Event Grid), the orchestration's local driver, and — with DATABRICKS_HOST=embedded — a local
 * Jobs API running the job on the DuckDB lakehouse under LOCAL_DATA_DIR.
 */
export class LocalPipeline {
  readonly watcher: CaptureWatcher;
  private backlogTimer?: NodeJS.Timeout;
  private backlogPortsOnce?: BacklogPorts;
  private readonly reports: ReportStore;
  private backlogRun?: Promise<unknown>;

  private constructor(
    readonly config: AppConfig,
    readonly ports: PipelinePorts,
    readonly captureStore: CaptureStore,
    private currentDriver: LocalDriver,
    private readonly startDriver: () => LocalDriver,
    watchIntervalMs: number,
    private readonly embedded?: { api: LocalJobsApi; lakehouse: LocalLakehouse; job: LakehouseJob },
  ) {
    this.reports = reportStore(config);
    this.watcher = new CaptureWatcher(
      captureStore,
      config.CAPTURE_CONTAINER,
      async (event) => {
        await this.deliver(event);
      },
      {
        intervalMs: watchIntervalMs,
        onError: (error) => ports.log({ event: 'watchFailed', error: errorMessage(error) }),
      },
    );
    if (watchIntervalMs > 0) this.watcher.start();
  }

  static async open(options: LocalPipelineOptions): Promise<LocalPipeline> {
    const { config, log } = options;
    let embedded: { api: LocalJobsApi; lakehouse: LocalLakehouse; job: LakehouseJob } | undefined;
    let jobs: { host: string; auth: DatabricksAuth };
    if (config.DATABRICKS_HOST.kind === 'embedded') {
      const token = config.DATABRICKS_TOKEN ?? randomBytes(24).toString('base64url');
      const lakehouse = await LocalLakehouse.open(path.join(config.LOCAL_DATA_DIR, 'lakehouse.duckdb'), {
        pathFormat: config.CAPTURE_PATH_FORMAT,
      });
      const job = new LakehouseJob(lakehouse, jobLocations(config));
      const api = await LocalJobsApi.start({
        token,
        job: lakehouseJobDefinition(config.DATABRICKS_JOB_ID),
        runner: job,
        statePath: path.join(config.LOCAL_DATA_DIR, 'jobs-api.json'),
        runTimeoutMs: config.LOCAL_RUN_TIMEOUT_MINUTES * 60_000,
      });
      embedded = { api, lakehouse, job };
      jobs = { host: api.url, auth: { token } };
    } else {
      jobs = { host: config.DATABRICKS_HOST.url, auth: await databricksAuth(config) };
    }
    const ports = await openPipelinePorts(config, jobs, log);
    const captureStore = captureStoreForConnection(config.CaptureStorage, config.CAPTURE_CONTAINER);
    const startDriver = () => {
      const driver = LocalDriver.start({
        ports,
        settings: pipelineSettings(config),
        onDecision: options.onDecision,
      });
      driver.done.catch((error: unknown) =>
        log({ event: 'orchestrationFailed', error: errorMessage(error) }),
      );
      return driver;
    };
    const pipeline = new LocalPipeline(
      config,
      ports,
      captureStore,
      startDriver(),
      startDriver,
      options.watchIntervalMs ?? 1000,
      embedded,
    );
    if (options.backlogIntervalMs) {
      const tick = () => {
        pipeline.backlogRun ??= pipeline
          .backlog()
          .catch((error: unknown) => log({ event: 'backlogFailed', error: errorMessage(error) }))
          .finally(() => (pipeline.backlogRun = undefined));
      };
      tick();
      pipeline.backlogTimer = setInterval(tick, options.backlogIntervalMs);
    }
    return pipeline;
  }

  /** The local Jobs API's URL, when this process runs one. */
  get jobsApiUrl(): string | undefined {
    return this.embedded?.api.url;
  }

  /** The orchestration's current driver (the watchdog replaces one that failed). */
  get driver(): LocalDriver {
    return this.currentDriver;
  }

  get lakehouse(): LocalLakehouse | undefined {
    return this.embedded?.lakehouse;
  }

  /** The embedded job's batch results, by run id. */
  get batchResults(): ReadonlyMap<number, BatchResult> {
    return this.embedded?.job.results ?? new Map();
  }

  /** One run of the backlog timer against this stack. */
  async backlog(now = Date.now()): Promise<BacklogReport> {
    this.backlogPortsOnce ??= backlogPorts(
      this.config,
      this.ports,
      this.captureStore,
      (file) => this.driver.signal(file),
      { ensureRunning: async () => this.ensureDriver() },
    );
    const report = await runBacklog(this.backlogPortsOnce, backlogSettings(this.config), now);
    await publishReport(report, this.ports.log, this.reports);
    return report;
  }

  /** The status API's answer, as in Azure: the ledger's last 24 hours, recent runs, the stored report. */
  async status(now = Date.now()): Promise<PipelineStatus> {
    return collectStatus({ ...this.ports, reports: this.reports }, { now, cost: statusCost(this.config) });
  }

  /** The gold API's answer: the embedded DuckDB lakehouse, else the workspace's SQL warehouse if set. */
  async gold(): Promise<GoldAnswer> {
    if (this.lakehouse) return goldAnswer(this.lakehouse, 'duckdb');
    const host = this.config.DATABRICKS_HOST as { kind: 'url'; url: string };
    return warehouseGold(warehouseSettings(this.config), host.url, await databricksAuth(this.config));
  }

  /** The watchdog, locally: a driver whose loop ended by an error is replaced by a new one. */
  private ensureDriver(): { status: string; started: boolean } {
    if (this.currentDriver.running) return { status: 'Running', started: false };
    this.currentDriver = this.startDriver();
    return { status: 'Failed', started: true };
  }

  private triggerDeps(): CaptureTriggerDeps {
    return {
      ledger: this.ports.ledger,
      pathFormat: this.config.CAPTURE_PATH_FORMAT,
      signal: (file) => this.driver.signal(file),
    };
  }

  /** The capture trigger, in process: what the blob trigger does for one BlobCreated event. */
  async deliver(event: BlobCreatedEvent): Promise<TriggerOutcome> {
    const blob = capturedBlobOf(event, this.config.CAPTURE_CONTAINER);
    if (!blob) return 'ignored';
    const outcome = await recordCaptureFile(
      { ...blob, content: () => this.captureStore.read(blob.path) },
      this.triggerDeps(),
    );
    this.ports.log({ event: 'blobCreated', path: blob.path, outcome });
    return outcome;
  }

  async close(): Promise<void> {
    clearInterval(this.backlogTimer);
    await this.backlogRun;
    await this.watcher.stop();
    await this.driver.stop();
    if (this.embedded) {
      await this.embedded.api.close();
      await this.embedded.lakehouse.close();
    }
  }
}
