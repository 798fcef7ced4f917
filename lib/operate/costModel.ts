/**
 * Which mode should I run? The cost model (docs/architecture.md): cost is compute uptime × DBU rate ×
 * price. The event-driven job runs on serverless jobs compute, billed per run (start-up plus run
 * time, no idle tail); the continuous pipeline on serverless pipeline compute, billed all day.
 * Pure: every input is a number someone can check. `costAdvisor.ts` searches the settings with it.
 */

/** The cost model's settings (COST_* in lib/config.ts; `costRates` in lib/host/settings.ts). */
export interface CostRates {
  /** DBUs one hour of a serverless job run consumes (system.billing.usage, per run). */
  jobDbuPerHour: number;
  /** Start-up of a serverless job run, seconds: billed with the run, and part of its latency. */
  jobStartupSeconds: number;
  /** Price of one DBU of serverless jobs compute, in the currency of the price sheet. */
  pricePerDbu: number;
  /** DBUs one hour of the continuous (serverless Lakeflow) pipeline consumes. */
  continuousDbuPerHour: number;
  /** Price of one DBU of serverless pipeline compute. */
  continuousPricePerDbu: number;
  /** The continuous pipeline's trigger interval (`pipelines.trigger.interval`), seconds. */
  continuousTriggerSeconds: number;
  /** What the continuous pipeline takes from picking up a file to gold, seconds. */
  continuousLatencySeconds: number;
  /** The run-duration model until runs are measured: fixed seconds per run … */
  runFixedSeconds: number;
  /** … plus seconds per million events loaded. */
  runSecondsPerMillionEvents: number;
  /** The worst-case freshness the dashboard recommends a setting for, seconds. */
  freshnessTargetSeconds: number;
}

/** A run's execution time as a function of the events it loads (fitted to measured runs). */
export interface RunDurationModel {
  fixedSeconds: number;
  secondsPerMillionEvents: number;
  /**
   * Fitted to measured runs, whose start_time → end_time span (Jobs API) includes the compute's
   * start-up: the estimate must not add COST_JOB_STARTUP_SECONDS again.
   */
  includesStartup?: boolean;
  /** Where the figures come from: the runs they were fitted to, or "default". */
  source: string;
}

/** The three knobs that set the event-driven job's cost and freshness. */
export interface EventDrivenSetting {
  captureWindowSeconds: number;
  captureSizeBytes: number;
  batchWaitSeconds: number;
}

/** An order line's CDC event with Capture's per-record overhead, bytes (the cost model's default). */
export const DEFAULT_BYTES_PER_EVENT = 350;

export interface Workload extends EventDrivenSetting {
  eventsPerSecond: number;
  partitions: number;
  bytesPerEvent: number;
  /** BATCH_MAX_FILES (default 1,000) and BATCH_MAX_BYTES (default 10 GiB). */
  batchMaxFiles?: number;
  batchMaxBytes?: number;
}

export interface ModeEstimate {
  runsPerDay: number;
  computeHoursPerDay: number;
  dbusPerDay: number;
  costPerDay: number;
  /** Age of an event when it reaches gold: typical (average) and worst case, seconds. */
  freshness: { typicalSeconds: number; worstSeconds: number };
}

export interface EventDrivenEstimate extends ModeEstimate {
  eventsPerRun: number;
  runSeconds: number;
  /** false: even runs back to back cannot load the events as fast as they come (freshness unbounded). */
  keepsUp: boolean;
  /** How long a partition's file stays open: the window, or less when the size limit fills first. */
  fileSeconds: number;
  /** The worst case, term by term (their sum is `freshness.worstSeconds`). */
  worst: {
    fileSeconds: number;
    batchWaitSeconds: number;
    queueSeconds: number;
    startupSeconds: number;
    runSeconds: number;
  };
}

export interface CostComparison {
  workload: Workload;
  runModel: RunDurationModel;
  eventDriven: EventDrivenEstimate;
  continuous: ModeEstimate;
  cheaper: 'eventDriven' | 'continuous';
  /** The event rate above which the continuous pipeline costs less (null: never within 10^6/s). */
  breakEvenEventsPerSecond: number | null;
}

export const DAY_SECONDS = 86_400;
const DEFAULT_BATCH_MAX_FILES = 1000;
const DEFAULT_BATCH_MAX_BYTES = 10 * 1024 ** 3;

/** Least squares over measured runs (events, seconds); the fallback when there are fewer than two sizes. */
export function fitRunDuration(
  samples: { events: number; seconds: number }[],
  fallback: RunDurationModel,
): RunDurationModel {
  const distinct = new Set(samples.map((s) => s.events));
  if (samples.length < 2 || distinct.size < 2) {
    if (samples.length === 0) return fallback;
    const mean = samples.reduce((n, s) => n + s.seconds, 0) / samples.length;
    // One size cannot separate fixed from per-event time: the mean is the whole run.
    return {
      fixedSeconds: mean,
      secondsPerMillionEvents: 0,
      includesStartup: true,
      source: `${samples.length} measured run(s), one size`,
    };
  }
  const n = samples.length;
  const mx = samples.reduce((a, s) => a + s.events, 0) / n;
  const my = samples.reduce((a, s) => a + s.seconds, 0) / n;
  const sxx = samples.reduce((a, s) => a + (s.events - mx) ** 2, 0);
  const sxy = samples.reduce((a, s) => a + (s.events - mx) * (s.seconds - my), 0);
  const slope = Math.max(0, sxy / sxx);
  return {
    fixedSeconds: Math.max(0, my - slope * mx),
    secondsPerMillionEvents: slope * 1e6,
    includesStartup: true,
    source: `${n} measured runs`,
  };
}

/**
 * The event-driven job under one setting, in steady state.
 *
 * - A partition's file closes after `w` = min(Capture window, time to fill the size limit at the
 *   partition's byte rate). Windows are aligned across partitions; a window in which no partition
 *   saw an event writes no file (Poisson arrivals: probability p = 1 − e^(−rate·w) that it has one).
 * - A batch opens at its first file and takes the files of the next windows that close within
 *   BATCH_WAIT_SECONDS: k = ⌊wait / w⌋ + 1 windows (fewer when BATCH_MAX_FILES or BATCH_MAX_BYTES
 *   fills first). The next batch opens at the next window with events, so batches open on average
 *   (k − 1)·w + w / p apart.
 * - At most one run is active and a batch whose wait is over keeps taking files until the active
 *   run ends (lib/pipeline/pipelineDecision.ts). Runs are therefore max(that spacing, back-to-back
 *   spacing) apart, where back to back each run loads what came during the previous one:
 *   spacing = (start-up + fixed) / (1 − rate × seconds per event). If loading alone takes longer
 *   than the events take to arrive, the job cannot keep up.
 * - Billed: runs × (start-up + run time); serverless jobs compute has no idle tail.
 * - Worst-case freshness (an event that opens a file that opens a batch) =
 *     w + batch wait + queueing behind an active run + start-up + run time,
 *   where the batch wait is BATCH_WAIT_SECONDS (or (k − 1)·w when a batch cap closes it first) and
 *   the queue is max(0, start-up + run time − batch wait): the previous run may have started just
 *   before the batch opened.
 */
export function eventDrivenEstimate(
  w: Workload,
  rates: Pick<CostRates, 'jobDbuPerHour' | 'jobStartupSeconds' | 'pricePerDbu'>,
  runModel: RunDurationModel,
): EventDrivenEstimate {
  const rate = Math.max(0, w.eventsPerSecond);
  const startup = runModel.includesStartup ? 0 : rates.jobStartupSeconds;
  const perEvent = runModel.secondsPerMillionEvents / 1e6;
  const partitionBytesPerSecond = (rate * w.bytesPerEvent) / w.partitions;
  const fileSeconds = Math.min(
    w.captureWindowSeconds,
    partitionBytesPerSecond > 0 ? w.captureSizeBytes / partitionBytesPerSecond : Infinity,
  );
  // Windows per batch: those closing within the wait, unless a batch cap closes it first.
  const filesPerWindow = w.partitions * -Math.expm1((-rate * fileSeconds) / w.partitions);
  const bytesPerWindow = rate * w.bytesPerEvent * fileSeconds;
  const capped = Math.max(
    1,
    Math.min(
      filesPerWindow > 0
        ? Math.floor((w.batchMaxFiles ?? DEFAULT_BATCH_MAX_FILES) / filesPerWindow)
        : Infinity,
      bytesPerWindow > 0
        ? Math.floor((w.batchMaxBytes ?? DEFAULT_BATCH_MAX_BYTES) / bytesPerWindow)
        : Infinity,
    ),
  );
  const waited = Math.floor(w.batchWaitSeconds / fileSeconds) + 1;
  const windowsPerBatch = Math.min(waited, capped);
  const batchWaitSeconds =
    windowsPerBatch < waited ? (windowsPerBatch - 1) * fileSeconds : w.batchWaitSeconds;
  const busy = -Math.expm1(-rate * fileSeconds);
  const batchSpacing = busy > 0 ? (windowsPerBatch - 1) * fileSeconds + fileSeconds / busy : Infinity;
  const loading = rate * perEvent;
  const keepsUp = loading < 1;
  const backToBack = keepsUp ? (startup + runModel.fixedSeconds) / (1 - loading) : Infinity;
  const spacing = Math.max(batchSpacing, backToBack);

  let runsPerDay: number;
  let eventsPerRun: number;
  let billedSeconds: number;
  if (!keepsUp) {
    // Runs back to back all day and still fall behind: billed all day, freshness unbounded.
    runsPerDay = DAY_SECONDS / (startup + runModel.fixedSeconds);
    eventsPerRun = (rate * DAY_SECONDS) / runsPerDay;
    billedSeconds = DAY_SECONDS;
  } else if (Number.isFinite(spacing)) {
    runsPerDay = DAY_SECONDS / spacing;
    eventsPerRun = rate * spacing;
    billedSeconds = runsPerDay * (startup + runModel.fixedSeconds + perEvent * eventsPerRun);
  } else {
    runsPerDay = 0;
    eventsPerRun = 0;
    billedSeconds = 0;
  }
  const runSeconds = runModel.fixedSeconds + perEvent * eventsPerRun;
  const busySeconds = startup + runSeconds;
  const queueSeconds = Math.max(0, busySeconds - batchWaitSeconds);
  const worstSeconds = keepsUp ? fileSeconds + batchWaitSeconds + queueSeconds + busySeconds : Infinity;
  const computeHoursPerDay = Math.min(billedSeconds, DAY_SECONDS) / 3600;
  const dbusPerDay = computeHoursPerDay * rates.jobDbuPerHour;
  return {
    runsPerDay,
    eventsPerRun,
    runSeconds,
    keepsUp,
    fileSeconds,
    computeHoursPerDay,
    dbusPerDay,
    costPerDay: dbusPerDay * rates.pricePerDbu,
    freshness: {
      typicalSeconds: keepsUp
        ? fileSeconds / 2 + (batchWaitSeconds + queueSeconds) / 2 + busySeconds
        : Infinity,
      worstSeconds,
    },
    worst: { fileSeconds, batchWaitSeconds, queueSeconds, startupSeconds: startup, runSeconds },
  };
}

/**
 * The continuous pipeline, billed as serverless pipeline compute running all day at its own DBU
 * rate and price. It reads the same Capture files (Auto Loader), so its worst case is a Capture
 * window + its trigger interval + its processing; typical: half of the first two + processing.
 */
export function continuousEstimate(
  rates: Pick<
    CostRates,
    'continuousDbuPerHour' | 'continuousPricePerDbu' | 'continuousTriggerSeconds' | 'continuousLatencySeconds'
  >,
  captureWindowSeconds: number,
): ModeEstimate {
  const dbusPerDay = 24 * rates.continuousDbuPerHour;
  return {
    runsPerDay: 1,
    computeHoursPerDay: 24,
    dbusPerDay,
    costPerDay: dbusPerDay * rates.continuousPricePerDbu,
    freshness: {
      typicalSeconds:
        captureWindowSeconds / 2 + rates.continuousTriggerSeconds / 2 + rates.continuousLatencySeconds,
      worstSeconds: captureWindowSeconds + rates.continuousTriggerSeconds + rates.continuousLatencySeconds,
    },
  };
}

/** One setting of the event-driven job against the continuous pipeline on the same Capture window. */
export function compareModes(
  workload: Workload,
  rates: CostRates,
  runModel: RunDurationModel,
): CostComparison {
  const eventDriven = eventDrivenEstimate(workload, rates, runModel);
  const continuous = continuousEstimate(rates, workload.captureWindowSeconds);
  return {
    workload,
    runModel,
    eventDriven,
    continuous,
    // At equal cost the continuous pipeline wins: it is fresher.
    cheaper: eventDriven.costPerDay < continuous.costPerDay ? 'eventDriven' : 'continuous',
    breakEvenEventsPerSecond: breakEven(workload, rates, runModel, continuous.costPerDay),
  };
}

function breakEven(
  w: Workload,
  rates: CostRates,
  runModel: RunDurationModel,
  continuousCost: number,
): number | null {
  const cost = (eventsPerSecond: number) =>
    eventDrivenEstimate({ ...w, eventsPerSecond }, rates, runModel).costPerDay;
  if (cost(1e6) < continuousCost) return null;
  let low = 0;
  let high = 1e6;
  for (let i = 0; i < 60; i++) {
    const mid = (low + high) / 2;
    if (cost(mid) < continuousCost) low = mid;
    else high = mid;
  }
  return Number(high.toPrecision(3));
}

/** Until runs are measured: a serverless run's fixed work and its load rate (assumptions, see README). */
export const DEFAULT_RUN_DURATION: RunDurationModel = {
  fixedSeconds: 60,
  secondsPerMillionEvents: 30,
  source: 'default (no measured runs)',
};

/** The configured run model (COST_RUN_FIXED_SECONDS, COST_RUN_SECONDS_PER_MILLION_EVENTS). */
export function defaultRunModel(
  rates: Pick<CostRates, 'runFixedSeconds' | 'runSecondsPerMillionEvents'>,
): RunDurationModel {
  return {
    fixedSeconds: rates.runFixedSeconds,
    secondsPerMillionEvents: rates.runSecondsPerMillionEvents,
    source: DEFAULT_RUN_DURATION.source,
  };
}

/** Measured runs from ledger rows: events (records of the run's files) and execution seconds. */
export function runSamplesOf(
  rows: { runId?: string; records: number; runStartedAt?: string; runFinishedAt?: string; state: string }[],
): { events: number; seconds: number }[] {
  const runs = new Map<string, { events: number; seconds: number }>();
  for (const row of rows) {
    if (row.state !== 'succeeded' || !row.runId || !row.runStartedAt || !row.runFinishedAt) continue;
    const run = runs.get(row.runId) ?? {
      events: 0,
      seconds: (Date.parse(row.runFinishedAt) - Date.parse(row.runStartedAt)) / 1000,
    };
    run.events += row.records;
    runs.set(row.runId, run);
  }
  return [...runs.values()];
}

/** The event rate the ledger saw: its records over the span of their capture times (at least a minute). */
export function observedEventsPerSecond(rows: { records: number; capturedAt: string }[]): number {
  if (rows.length === 0) return 0;
  const times = rows.map((r) => Date.parse(r.capturedAt));
  const span = Math.max(60, (Math.max(...times) - Math.min(...times)) / 1000);
  return rows.reduce((n, r) => n + r.records, 0) / span;
}
