import { RestError, TableClient } from '@azure/data-tables';
import { CapturePathFormat } from '../capture/capturePath';
import { Run } from '../databricks/jobsApi';
import { JobsClient } from '../databricks/jobsClient';
import { FINAL_STATES, Ledger, LedgerFile, hourOf, pathHour } from '../ledger/ledger';
import { CaptureTriggerDeps, recordCaptureFile } from '../pipeline/captureRecording';
import { CaptureStore } from '../storage/captureStore';
import { errorMessage } from '../errorMessage';
import type { HealthStore, StoredHealth } from '../ledger/healthStore';

const HOUR = 3_600_000;

/** What the backlog timer reports (docs/architecture.md): one JSON line, and the dashboard's. */
export interface BacklogReport {
  at: string;
  unfinished: { files: number; bytes: number; oldestAgeSeconds: number | null };
  lostEvents: { found: number; retriggered: string[] };
  /** Null when the Jobs API did not answer (the alerts say why). */
  runs: { active: number; queued: number } | null;
  deadLettered: { files: number; newest: { path: string; error: string }[] };
  /** Now − the newest capture time among files whose batch succeeded; null before the first. */
  freshnessSeconds: number | null;
  /** The orchestration's health as it last wrote it; null before it first ran. */
  pipeline: StoredHealth | null;
  /** With files open: whether the orchestration was running, and whether the timer started it. */
  watchdog: OrchestrationCheck | null;
  alerts: string[];
  watermark: string | null;
  listedHours: number;
  seconds: number;
}

export interface BacklogSettings {
  format: CapturePathFormat;
  namespace: string;
  eventHub: string;
  partitions: number;
  captureWindowMs: number;
  graceMs: number;
  retentionMs: number;
  /** Failures in a row that are not a batch's fault before the report alerts. */
  platformAlertAfter: number;
}

/** Where the timer stopped: every file of every hour before `hour` is in the ledger. */
export interface BacklogWatermark {
  hour: number | null;
  newestSucceededCapture: number | null;
}

/** The watermark's store: one row of the ledger's state table. */
export class WatermarkStore {
  private ready?: Promise<unknown>;

  constructor(private readonly table: TableClient) {}

  async read(): Promise<BacklogWatermark> {
    await (this.ready ??= this.table.createTable());
    try {
      const row = await this.table.getEntity<{ hour?: number; newestSucceededCapture?: number }>(
        'backlog',
        'watermark',
      );
      return { hour: row.hour ?? null, newestSucceededCapture: row.newestSucceededCapture ?? null };
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404)
        return { hour: null, newestSucceededCapture: null };
      throw error;
    }
  }

  async write(watermark: BacklogWatermark): Promise<void> {
    await this.table.upsertEntity(
      {
        partitionKey: 'backlog',
        rowKey: 'watermark',
        hour: watermark.hour ?? undefined,
        newestSucceededCapture: watermark.newestSucceededCapture ?? undefined,
      },
      'Replace',
    );
  }
}

/**
 * The listing prefix of one partition's files of one hour: the format with its tokens filled in up
 * to the first one finer than the hour (or unknown). Files under it are still checked for their
 * hour, so any token order stays correct; the default layout lists exactly one hour.
 */
export function hourPrefix(settings: BacklogSettings, partitionId: string, hourStart: number): string {
  const time = new Date(hourStart);
  const values: Record<string, string> = {
    Namespace: settings.namespace,
    EventHub: settings.eventHub,
    PartitionId: partitionId,
    Year: String(time.getUTCFullYear()).padStart(4, '0'),
    Month: String(time.getUTCMonth() + 1).padStart(2, '0'),
    Day: String(time.getUTCDate()).padStart(2, '0'),
    Hour: String(time.getUTCHours()).padStart(2, '0'),
  };
  let prefix = '';
  for (const [, literal, token] of settings.format.format.matchAll(/([^{]*)(?:\{(\w+)\})?/g)) {
    prefix += literal;
    if (token === undefined) break;
    if (!(token in values)) return prefix;
    prefix += values[token];
  }
  return prefix;
}

/** The orchestration as the watchdog sees it: its status before the check, and whether it started it. */
export interface OrchestrationCheck {
  status: string;
  started: boolean;
}

/** Starts the singleton orchestration when it is not running (failed, terminated, missing). */
export interface OrchestrationWatch {
  ensureRunning(): Promise<OrchestrationCheck>;
}

export interface BacklogPorts {
  ledger: Ledger;
  watermarks: WatermarkStore;
  captureStore: CaptureStore;
  jobs: JobsClient;
  jobId: number;
  health: HealthStore;
  /** The watchdog's view of the orchestration; without it the timer only reports. */
  orchestration?: OrchestrationWatch;
  /** The trigger's dependencies, to re-trigger a lost file through the normal path. */
  trigger: CaptureTriggerDeps;
}

/**
 * One run of the backlog timer: reads the ledger's open and dead-letter sets and the active runs,
 * lists the capture container only for the hours since the watermark (minus a capture window and
 * an hour), re-triggers files the ledger never saw once they are past the grace period, and moves
 * the watermark past hours whose files are all recorded.
 */
export async function runBacklog(
  ports: BacklogPorts,
  settings: BacklogSettings,
  now = Date.now(),
): Promise<BacklogReport> {
  const started = performance.now();
  const saved = await ports.watermarks.read();
  const currentHour = Math.floor(now / HOUR) * HOUR;
  const from = Math.max(
    now - settings.retentionMs,
    (saved.hour ?? now - settings.retentionMs) - settings.captureWindowMs - HOUR,
  );
  const firstHour = Math.floor(from / HOUR) * HOUR;

  const known = new Map<string, LedgerFile>();
  for await (const row of ports.ledger.list({
    fromHour: hourOf(new Date(firstHour)),
    toHour: hourOf(new Date(currentHour)),
  })) {
    known.set(row.path, row);
  }
  let newestSucceeded = saved.newestSucceededCapture;
  for (const row of known.values()) {
    if (row.state === 'succeeded')
      newestSucceeded = Math.max(newestSucceeded ?? 0, Date.parse(row.capturedAt));
  }

  const retriggered: string[] = [];
  let watermark = saved.hour;
  let stillComplete = true;
  let listedHours = 0;
  for (let hour = firstHour; hour <= currentHour; hour += HOUR) {
    const hourText = hourOf(new Date(hour));
    let complete = hour + HOUR + settings.captureWindowMs + settings.graceMs < now;
    for (let partition = 0; partition < settings.partitions; partition++) {
      listedHours++;
      for await (const file of ports.captureStore.list({
        prefix: hourPrefix(settings, String(partition), hour),
      })) {
        if (pathHour(file.path, settings.format) !== hourText || known.has(file.path)) continue;
        const windowEnd = settings.format.parse(file.path).windowStart.getTime() + settings.captureWindowMs;
        if (windowEnd + settings.graceMs > now) {
          complete = false;
          continue;
        }
        await recordCaptureFile(
          {
            path: file.path,
            url: ports.captureStore.fileUrl(file.path),
            bytes: file.bytes,
            createdAt: file.createdAt,
            content: () => ports.captureStore.read(file.path),
          },
          ports.trigger,
        );
        retriggered.push(file.path);
      }
    }
    if (stillComplete && complete) watermark = hour + HOUR;
    else stillComplete = false;
  }
  await ports.watermarks.write({ hour: watermark, newestSucceededCapture: newestSucceeded });

  const open: LedgerFile[] = [];
  for await (const row of ports.ledger.listOpen()) if (!FINAL_STATES.includes(row.state)) open.push(row);
  const dead: LedgerFile[] = [];
  for await (const row of ports.ledger.listDeadLettered()) dead.push(row);
  // A Jobs API that refuses or fails must not silence the report: it is what raises the alert.
  let runs: Run[] | string = [];
  try {
    for await (const run of ports.jobs.listRuns({ jobId: ports.jobId, activeOnly: true })) runs.push(run);
  } catch (error) {
    runs = errorMessage(error);
  }
  const health = await ports.health.read();
  // The watchdog: open files wait for an orchestration that a failure may have stopped, and no new
  // file may come to restart it.
  const watchdog = open.length > 0 && ports.orchestration ? await ports.orchestration.ensureRunning() : null;

  return backlogReport(
    { open, dead, runs, retriggered, newestSucceeded, watermark, listedHours, health, watchdog },
    now,
    settings,
    started,
  );
}

/** The report from what was read: pure, so its figures and alerts are tested on their own. */
export function backlogReport(
  read: {
    open: LedgerFile[];
    dead: LedgerFile[];
    /** The active runs, or why they could not be listed. */
    runs: Run[] | string;
    retriggered: string[];
    newestSucceeded: number | null;
    watermark: number | null;
    listedHours: number;
    health: StoredHealth | null;
    watchdog?: OrchestrationCheck | null;
  },
  now: number,
  settings: BacklogSettings,
  started = performance.now(),
): BacklogReport {
  const oldest = read.open.reduce<number | null>((min, f) => {
    const t = Date.parse(f.capturedAt);
    return min === null || t < min ? t : min;
  }, null);
  // Capture stamps files with its own clock; a file stamped a moment ahead of ours is 0 s old, not -1.
  const oldestAgeSeconds = oldest === null ? null : Math.max(0, Math.round((now - oldest) / 1000));
  const runs = typeof read.runs === 'string' ? null : read.runs;
  const queued = runs?.filter((r) => r.state.life_cycle_state === 'QUEUED').length ?? 0;
  const alerts: string[] = [];
  if (typeof read.runs === 'string') alerts.push(`cannot list the job's runs: ${read.runs}`);
  if (oldestAgeSeconds !== null && oldestAgeSeconds * 1000 > settings.retentionMs / 2) {
    alerts.push(
      `the oldest unfinished file is ${(oldestAgeSeconds / 86_400).toFixed(1)} days old: past half the ${settings.retentionMs / 86_400_000}-day retention of raw files`,
    );
  }
  if (read.dead.length > 0) alerts.push(`${read.dead.length} dead-lettered file(s) need a look`);
  if (read.retriggered.length > 0)
    alerts.push(`${read.retriggered.length} file(s) had no BlobCreated event; re-triggered`);
  if (read.watchdog?.started) {
    alerts.push(
      `the orchestration was ${read.watchdog.status} with ${read.open.length} file(s) open; the watchdog started it again`,
    );
  }
  const health = read.health;
  if (health?.pausedUntil && health.pausedUntil > now) {
    alerts.push(
      `submissions paused until ${new Date(health.pausedUntil).toISOString()} after a permanent Jobs API error: ${health.pauseReason ?? ''}`,
    );
  }
  if (health && health.platformFailures >= settings.platformAlertAfter) {
    alerts.push(
      `${health.platformFailures} failures in a row that are not a batch's fault (retrying with backoff): ${health.lastPlatformError ?? ''}`,
    );
  }
  return {
    at: new Date(now).toISOString(),
    unfinished: {
      files: read.open.length,
      bytes: read.open.reduce((n, f) => n + f.bytes, 0),
      oldestAgeSeconds,
    },
    lostEvents: { found: read.retriggered.length, retriggered: read.retriggered },
    runs: runs && { active: runs.length - queued, queued },
    deadLettered: {
      files: read.dead.length,
      newest: [...read.dead]
        .sort((a, b) => b.triggeredAt.localeCompare(a.triggeredAt))
        .slice(0, 20)
        .map((f) => ({ path: f.path, error: f.error ?? '' })),
    },
    freshnessSeconds: read.newestSucceeded === null ? null : Math.round((now - read.newestSucceeded) / 1000),
    pipeline: health,
    watchdog: read.watchdog ?? null,
    alerts,
    watermark: read.watermark === null ? null : new Date(read.watermark).toISOString(),
    listedHours: read.listedHours,
    seconds: Number(((performance.now() - started) / 1000).toFixed(3)),
  };
}
