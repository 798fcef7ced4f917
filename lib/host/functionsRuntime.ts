import { AppConfig, ConfigError, loadConfig } from '../config';
import { backlogSettings, databricksAuth, statusCost, warehouseSettings } from './settings';
import type { BacklogReport, OrchestrationWatch } from '../operate/backlog';
import type { GoldAnswer, GoldCache } from '../operate/goldReport';
import type { PipelineStatus } from '../operate/status';
import type { ReportStore } from '../operate/reportStore';
import type { OrderEventSink } from '../publish/orderPublisher';
import { TriggerOutcome, recordCaptureFile } from '../pipeline/captureRecording';
import { PipelinePorts } from '../pipeline/pipelineActions';
import { FileRef } from '../pipeline/pipelineDecision';

/**
 * What the Functions app shares between invocations: the configuration, validated once at start,
 * and the orchestration's ports, opened on first use.
 */
let config: AppConfig | undefined;
let ports: Promise<PipelinePorts> | undefined;
let reports: Promise<ReportStore> | undefined;

/** One report store per instance: the status API is polled, and each new store creates its table. */
function functionsReports(): Promise<ReportStore> {
  reports ??= import('./pipelinePorts').then(({ reportStore }) => reportStore(functionsConfig()));
  return reports;
}

export function functionsConfig(): AppConfig {
  if (!config) {
    const loaded = loadConfig(process.env);
    if (loaded.DATABRICKS_HOST.kind === 'embedded') {
      throw new ConfigError([
        {
          setting: 'DATABRICKS_HOST',
          message:
            '"embedded" is for the CLI only; in the Functions host run `orders-pipeline jobs-api` and set its URL',
        },
      ]);
    }
    config = loaded;
  }
  return config;
}

export function functionsPorts(): Promise<PipelinePorts> {
  if (!ports) {
    const settings = functionsConfig();
    const host = settings.DATABRICKS_HOST as { kind: 'url'; url: string };
    // Loaded on first use: the Storage and identity SDKs are most of the app's import time.
    ports = Promise.all([import('./pipelinePorts'), databricksAuth(settings)]).then(
      ([{ openPipelinePorts }, auth]) =>
        openPipelinePorts(settings, { host: host.url, auth }, (entry) => console.log(JSON.stringify(entry))),
    );
    // A failed open is retried on the next invocation rather than cached.
    ports.catch(() => (ports = undefined));
  }
  return ports;
}

/** The blob trigger's binding data this app reads (`context.triggerMetadata`). */
export interface BlobTriggerMetadata {
  /** `container/path` of the blob. */
  blobTrigger?: unknown;
  uri?: unknown;
  properties?: { createdOn?: unknown; CreatedOn?: unknown };
}

/** The capture trigger's work for one blob the Functions host handed over (content and metadata). */
export async function onCaptureBlob(
  content: Buffer,
  metadata: BlobTriggerMetadata,
  signal: (file: FileRef) => Promise<void>,
): Promise<{ path: string; outcome: TriggerOutcome }> {
  const settings = functionsConfig();
  const blobTrigger = String(metadata.blobTrigger ?? '');
  const prefix = `${settings.CAPTURE_CONTAINER}/`;
  if (!blobTrigger.startsWith(prefix)) {
    throw new Error(`blob "${blobTrigger}" is not in the capture container ${settings.CAPTURE_CONTAINER}`);
  }
  const path = blobTrigger.slice(prefix.length);
  const created = new Date(String(metadata.properties?.createdOn ?? metadata.properties?.CreatedOn ?? ''));
  const outcome = await recordCaptureFile(
    {
      path,
      url: String(metadata.uri ?? path),
      bytes: content.length,
      createdAt: Number.isNaN(created.getTime()) ? new Date() : created,
      content: async function* () {
        yield content;
      },
    },
    { ledger: (await functionsPorts()).ledger, pathFormat: settings.CAPTURE_PATH_FORMAT, signal },
  );
  return { path, outcome };
}

/**
 * The backlog timer's run in the Functions host: re-triggered files are signalled like new ones; the
 * report is logged (the alerts query that line) and stored for the status API.
 */
export async function functionsBacklog(
  signal: (file: FileRef) => Promise<void>,
  orchestration: OrchestrationWatch,
  log: (entry: Record<string, unknown>) => void,
): Promise<BacklogReport> {
  const settings = functionsConfig();
  const ports = await functionsPorts();
  const [{ runBacklog }, { backlogPorts }, { publishReport }, { captureStoreForConnection }] =
    await Promise.all([
      import('../operate/backlog'),
      import('./pipelinePorts'),
      import('../operate/reportStore'),
      import('../storage/captureStore'),
    ]);
  const report = await runBacklog(
    backlogPorts(
      settings,
      ports,
      captureStoreForConnection(settings.CaptureStorage, settings.CAPTURE_CONTAINER),
      signal,
      orchestration,
    ),
    backlogSettings(settings),
  );
  await publishReport(report, log, await functionsReports());
  return report;
}

let sink: Promise<OrderEventSink> | undefined;

/** Event Hubs with the app's identity: namespace EVENTHUB_NAMESPACE, hub EVENTHUB_NAME. */
export function functionsSink(): Promise<OrderEventSink> {
  if (!sink) {
    const settings = functionsConfig();
    sink = Promise.all([
      import('@azure/event-hubs'),
      import('@azure/identity'),
      import('../publish/orderPublisher'),
    ]).then(
      ([{ EventHubProducerClient }, { DefaultAzureCredential }, { EventHubsSink }]) =>
        new EventHubsSink(
          new EventHubProducerClient(
            `${settings.EVENTHUB_NAMESPACE}.servicebus.windows.net`,
            settings.EVENTHUB_NAME,
            new DefaultAzureCredential(),
          ),
        ),
    );
  }
  return sink;
}

/**
 * The status API's answer in Azure, as complete as the local one: the ledger's last 24 hours, the
 * job's runs, the timer's stored report and the cost comparison (gold: functionsGold).
 */
export async function functionsStatus(now = Date.now()): Promise<PipelineStatus> {
  const { collectStatus } = await import('../operate/status');
  return collectStatus(
    { ...(await functionsPorts()), reports: await functionsReports() },
    { now, cost: statusCost(functionsConfig()) },
  );
}

let goldCache: GoldCache | undefined;

/** `GET /api/gold` in Azure: the KPIs from the SQL warehouse (one session per read, cached). */
export async function functionsGold(options: { fresh?: boolean } = {}): Promise<GoldAnswer> {
  const settings = functionsConfig();
  const host = settings.DATABRICKS_HOST as { kind: 'url'; url: string };
  const { GoldCache, warehouseGold } = await import('../operate/goldReport');
  goldCache ??= new GoldCache(settings.GOLD_CACHE_SECONDS * 1000);
  return goldCache.get(
    async () => warehouseGold(warehouseSettings(settings), host.url, await databricksAuth(settings)),
    options,
  );
}
