/**
 * Which mode should I run? The cost model (docs/architecture.md): cost is compute uptime × DBU rate × price,
 * where the event-driven job's uptime is its runs' durations plus a start-up per run, and the
 * continuous pipeline's is the whole day. Pure: every input is a number someone can check.
 */

export interface CostRates {
  /** DBUs one hour of a serverless job run consumes (system.billing.usage, per run). */
  jobDbuPerHour: number;
  /** Billed start-up per run, seconds. */
  jobStartupSeconds: number;
  /** DBUs one hour of the continuous pipeline consumes. */
  continuousDbuPerHour: number;
  /** Price of one DBU, in the currency of the price sheet. */
  pricePerDbu: number;
  /** Typical delay of the continuous pipeline from event to gold, seconds. */
  continuousLatencySeconds: number;
}

/** A run's execution time as a function of the events it loads (fitted to measured runs). */
export interface RunDurationModel {
  fixedSeconds: number;
  secondsPerMillionEvents: number;
  /** Where the figures come from: the runs they were fitted to, or "default". */
  source: string;
}

export interface Workload {
  eventsPerSecond: number;
  partitions: number;
  captureWindowSeconds: number;
  captureSizeBytes: number;
  batchWaitSeconds: number;
  bytesPerEvent: number;
}

export interface ModeEstimate {
  runsPerDay: number;
  computeHoursPerDay: number;
  dbusPerDay: number;
  costPerDay: number;
  /** Age of an event when it reaches gold: typical (average) and worst case, seconds. */
  freshness: { typicalSeconds: number; worstSeconds: number };
}

export interface CostComparison {
  workload: Workload;
  runModel: RunDurationModel;
  /** keepsUp false: runs back to back cannot load the events as fast as they come. */
  eventDriven: ModeEstimate & { eventsPerRun: number; runSeconds: number; keepsUp: boolean };
  continuous: ModeEstimate;
  cheaper: 'eventDriven' | 'continuous';
  /** The event rate above which the continuous pipeline costs less (null: never within 10^6/s). */
  breakEvenEventsPerSecond: number | null;
}

const DAY = 86_400;

/** Least squares over measured runs (events, seconds); the fallback when there are fewer than two sizes. */
export function fitRunDuration(
  samples: { events: number; seconds: number }[],
  fallback: RunDurationModel,
): RunDurationModel {
  const distinct = new Set(samples.map((s) => s.events));
  if (samples.length < 2 || distinct.size < 2) {
    if (samples.length === 0) return fallback;
    const mean = samples.reduce((n, s) => n + s.seconds, 0) / samples.length;
    return { ...fallback, fixedSeconds: mean, source: `${samples.length} measured run(s), one size` };
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
    source: `${n} measured runs`,
  };
}

export function compareModes(
  workload: Workload,
  rates: CostRates,
  runModel: RunDurationModel,
): CostComparison {
  const eventDriven = eventDrivenEstimate(workload, rates, runModel);
  const continuous = continuousEstimate(rates);
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

function eventDrivenEstimate(
  w: Workload,
  rates: CostRates,
  runModel: RunDurationModel,
): ModeEstimate & { eventsPerRun: number; runSeconds: number; keepsUp: boolean } {
  const rate = Math.max(0, w.eventsPerSecond);
  // A partition's file closes at its window's end, or sooner at the size limit.
  const perPartitionBytesPerSecond = (rate * w.bytesPerEvent) / w.partitions;
  const window = Math.min(
    w.captureWindowSeconds,
    perPartitionBytesPerSecond > 0 ? w.captureSizeBytes / perPartitionBytesPerSecond : Infinity,
  );
  // Windows with at least one event (Poisson arrivals): a quiet hub writes no files, starts no runs.
  const busyWindowsPerDay = (DAY / window) * (1 - Math.exp(-rate * window));
  // A batch opens at a window's end and closes after the wait; the next opens at the next window's end.
  const cycle = window * (Math.floor(w.batchWaitSeconds / window) + 1);
  let runsPerDay = Math.min(busyWindowsPerDay, DAY / cycle);
  let eventsPerRun = runsPerDay > 0 ? (rate * DAY) / runsPerDay : 0;
  let runSeconds = runModel.fixedSeconds + (runModel.secondsPerMillionEvents * eventsPerRun) / 1e6;
  let keepsUp = true;
  // Runs never overlap: when a run outlasts the cycle, the next batch waits and grows; the day's busy
  // time is then runs × (fixed + start-up) + all events × per-event time.
  if (runsPerDay > 0 && runSeconds + rates.jobStartupSeconds > DAY / runsPerDay) {
    const perEvent = runModel.secondsPerMillionEvents / 1e6;
    const loading = rate * DAY * perEvent;
    keepsUp = loading < DAY;
    runsPerDay = keepsUp
      ? (DAY - loading) / (runModel.fixedSeconds + rates.jobStartupSeconds)
      : DAY / (runModel.fixedSeconds + rates.jobStartupSeconds);
    eventsPerRun = (rate * DAY) / runsPerDay;
    runSeconds = runModel.fixedSeconds + perEvent * eventsPerRun;
  }
  const billedSeconds = keepsUp ? runsPerDay * (runSeconds + rates.jobStartupSeconds) : DAY;
  const computeHoursPerDay = billedSeconds / 3600;
  const dbusPerDay = computeHoursPerDay * rates.jobDbuPerHour;
  const spacing = runsPerDay > 0 ? DAY / runsPerDay : DAY;
  return {
    runsPerDay,
    eventsPerRun,
    runSeconds,
    keepsUp,
    computeHoursPerDay,
    dbusPerDay,
    costPerDay: dbusPerDay * rates.pricePerDbu,
    freshness: {
      // Half a window in Capture, half the batch spacing waiting for the batch, then start-up and the run.
      typicalSeconds: window / 2 + spacing / 2 + rates.jobStartupSeconds + runSeconds,
      worstSeconds: window + spacing + rates.jobStartupSeconds + runSeconds,
    },
  };
}

function continuousEstimate(rates: CostRates): ModeEstimate {
  const dbusPerDay = 24 * rates.continuousDbuPerHour;
  return {
    runsPerDay: 1,
    computeHoursPerDay: 24,
    dbusPerDay,
    costPerDay: dbusPerDay * rates.pricePerDbu,
    freshness: {
      typicalSeconds: rates.continuousLatencySeconds,
      worstSeconds: 2 * rates.continuousLatencySeconds,
    },
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
