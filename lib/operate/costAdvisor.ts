/**
 * The cost advisor: the cheapest setting of the event-driven job (Capture window, Capture size
 * limit, BATCH_WAIT_SECONDS) whose worst-case freshness stays within a target, found by evaluating
 * every setting of an allowed grid with the cost model (costModel.ts). Pure, like the model.
 */
import {
  CostComparison,
  CostRates,
  EventDrivenEstimate,
  EventDrivenSetting,
  ModeEstimate,
  RunDurationModel,
  Workload,
  compareModes,
  continuousEstimate,
  defaultRunModel,
  eventDrivenEstimate,
  fitRunDuration,
  observedEventsPerSecond,
  runSamplesOf,
} from './costModel';

const MB = 1024 * 1024;

/** Settings the advisor may recommend (each list ascending). */
export interface SettingsGrid {
  captureWindowSeconds: readonly number[];
  captureSizeBytes: readonly number[];
  batchWaitSeconds: readonly number[];
}

/** What Event Hubs Capture accepts (Azure): a time window of 60–900 s, a size window of 10–500 MB. */
export const CAPTURE_LIMITS = {
  windowSeconds: { min: 60, max: 900 },
  sizeMegabytes: { min: 10, max: 500 },
} as const;

/**
 * The grid (9 × 4 × 21 = 756 settings). Windows: Capture's whole range, finer where it is short.
 * Size limits stop at 100 MB, the app's default: the Node worker hands the blob trigger a file's
 * whole content, so bigger files cost the Functions host memory, and at up to 100 MB the size limit
 * only binds above ~100 KB/s per partition, where batches are already full of files. Batch waits:
 * 0 to an hour, every minute up to 10 min.
 */
export const DEFAULT_GRID: SettingsGrid = {
  captureWindowSeconds: [60, 90, 120, 180, 240, 300, 450, 600, 900],
  captureSizeBytes: [10, 25, 50, 100].map((mb) => mb * MB),
  batchWaitSeconds: [
    0, 30, 60, 90, 120, 180, 240, 300, 360, 420, 480, 540, 600, 720, 900, 1200, 1500, 1800, 2400, 3000, 3600,
  ],
};

/** Production's defaults (lib/config.ts `default`, not the local stack's 10 s window and 5 s wait). */
export const PRODUCTION_SETTING: EventDrivenSetting = {
  captureWindowSeconds: 60,
  captureSizeBytes: 100 * MB,
  batchWaitSeconds: 300,
};

/** The freshness targets of the cost-versus-freshness table (`orders-pipeline cost` without --freshness). */
export const CURVE_TARGETS_SECONDS: readonly number[] = [300, 600, 900, 1800, 3600, 7200];

/** The workload without the setting: the rate, the hub's partitions, event size, batch caps. */
export type Traffic = Omit<Workload, keyof EventDrivenSetting>;

export interface SettingOption {
  setting: EventDrivenSetting;
  estimate: EventDrivenEstimate;
}

export interface Advice {
  eventsPerSecond: number;
  targetSeconds: number;
  rates: CostRates;
  runModel: RunDurationModel;
  /** The cheapest setting within the target; null when no allowed setting reaches it. */
  recommended: SettingOption | null;
  /** The freshest setting of the grid (ties: the cheapest): the best freshness possible. */
  fastest: SettingOption | null;
  /** The continuous pipeline on the shortest Capture window of the grid, at its own freshness. */
  continuous: ModeEstimate;
  continuousMeetsTarget: boolean;
  /** The cheaper of the two modes among those within the target (at equal cost, continuous). */
  cheaper: 'eventDriven' | 'continuous' | null;
}

/** The cheapest setting per worst-case freshness: where loosening freshness saves money. */
export interface FrontierPoint extends EventDrivenSetting {
  worstSeconds: number;
  costPerDay: number;
}

export interface CostCurve {
  eventsPerSecond: number;
  rates: CostRates;
  runModel: RunDurationModel;
  points: { targetSeconds: number; recommended: SettingOption | null }[];
  fastest: SettingOption | null;
  continuous: ModeEstimate;
  frontier: FrontierPoint[];
}

/** Every setting of the grid, estimated. */
export function evaluateGrid(
  traffic: Traffic,
  rates: CostRates,
  runModel: RunDurationModel,
  grid: SettingsGrid = DEFAULT_GRID,
): SettingOption[] {
  const options: SettingOption[] = [];
  for (const captureWindowSeconds of grid.captureWindowSeconds)
    for (const captureSizeBytes of grid.captureSizeBytes)
      for (const batchWaitSeconds of grid.batchWaitSeconds) {
        const setting = { captureWindowSeconds, captureSizeBytes, batchWaitSeconds };
        options.push({ setting, estimate: eventDrivenEstimate({ ...traffic, ...setting }, rates, runModel) });
      }
  return options;
}

/** Costs within this relative difference are equal (floating point): the fresher setting wins. */
const SAME_COST = 1e-9;
const sameCost = (a: number, b: number) => Math.abs(a - b) <= SAME_COST * Math.max(Math.abs(a), Math.abs(b));

/** Between equals: bigger files (fewer files, ledger rows and trigger calls), then the shorter wait. */
function tieBreak(a: SettingOption, b: SettingOption): number {
  return (
    b.setting.captureSizeBytes - a.setting.captureSizeBytes ||
    b.setting.captureWindowSeconds - a.setting.captureWindowSeconds ||
    a.setting.batchWaitSeconds - b.setting.batchWaitSeconds
  );
}

/** The cheapest option whose worst-case freshness is within the target (then the freshest of those). */
export function cheapestWithin(options: SettingOption[], targetSeconds: number): SettingOption | null {
  const within = options.filter(
    (o) => o.estimate.keepsUp && o.estimate.freshness.worstSeconds <= targetSeconds,
  );
  if (within.length === 0) return null;
  const least = Math.min(...within.map((o) => o.estimate.costPerDay));
  return within
    .filter((o) => sameCost(o.estimate.costPerDay, least))
    .sort(
      (a, b) =>
        a.estimate.freshness.worstSeconds - b.estimate.freshness.worstSeconds ||
        a.estimate.costPerDay - b.estimate.costPerDay ||
        tieBreak(a, b),
    )[0];
}

/** The option with the best worst-case freshness (then the cheapest). */
export function fastestOf(options: SettingOption[]): SettingOption | null {
  const feasible = options.filter((o) => o.estimate.keepsUp);
  if (feasible.length === 0) return null;
  return [...feasible].sort(
    (a, b) =>
      a.estimate.freshness.worstSeconds - b.estimate.freshness.worstSeconds ||
      a.estimate.costPerDay - b.estimate.costPerDay ||
      tieBreak(a, b),
  )[0];
}

/** From the freshest to the slowest, each setting that is cheaper than every fresher one. */
export function frontierOf(options: SettingOption[]): FrontierPoint[] {
  const sorted = options
    .filter((o) => o.estimate.keepsUp)
    .sort(
      (a, b) =>
        a.estimate.freshness.worstSeconds - b.estimate.freshness.worstSeconds ||
        a.estimate.costPerDay - b.estimate.costPerDay,
    );
  const points: FrontierPoint[] = [];
  let cheapest = Infinity;
  for (const o of sorted) {
    const cost = o.estimate.costPerDay;
    if (cheapest === Infinity || (cost < cheapest && !sameCost(cost, cheapest))) {
      cheapest = cost;
      points.push({ ...o.setting, worstSeconds: o.estimate.freshness.worstSeconds, costPerDay: cost });
    }
  }
  return points;
}

/**
 * Continuous mode at its own best: it reads Capture with the shortest window Event Hubs allows,
 * whatever window the event-driven grid was pinned to.
 */
function continuousFor(rates: CostRates): ModeEstimate {
  return continuousEstimate(rates, CAPTURE_LIMITS.windowSeconds.min);
}

function adviceFrom(
  options: SettingOption[],
  traffic: Traffic,
  rates: CostRates,
  runModel: RunDurationModel,
  targetSeconds: number,
): Advice {
  const recommended = cheapestWithin(options, targetSeconds);
  const continuous = continuousFor(rates);
  const continuousMeetsTarget = continuous.freshness.worstSeconds <= targetSeconds;
  let cheaper: Advice['cheaper'] = null;
  if (recommended && continuousMeetsTarget)
    cheaper = recommended.estimate.costPerDay < continuous.costPerDay ? 'eventDriven' : 'continuous';
  else if (recommended) cheaper = 'eventDriven';
  else if (continuousMeetsTarget) cheaper = 'continuous';
  return {
    eventsPerSecond: traffic.eventsPerSecond,
    targetSeconds,
    rates,
    runModel,
    recommended,
    fastest: fastestOf(options),
    continuous,
    continuousMeetsTarget,
    cheaper,
  };
}

/** The cheapest allowed setting whose worst-case freshness is at most `targetSeconds`. */
export function advise(
  traffic: Traffic,
  rates: CostRates,
  runModel: RunDurationModel,
  targetSeconds: number,
  grid: SettingsGrid = DEFAULT_GRID,
): Advice {
  return adviceFrom(evaluateGrid(traffic, rates, runModel, grid), traffic, rates, runModel, targetSeconds);
}

/** The cheapest setting for each of a few freshness targets, and the whole frontier. */
export function costCurve(
  traffic: Traffic,
  rates: CostRates,
  runModel: RunDurationModel,
  targets: readonly number[] = CURVE_TARGETS_SECONDS,
  grid: SettingsGrid = DEFAULT_GRID,
): CostCurve {
  const options = evaluateGrid(traffic, rates, runModel, grid);
  return {
    eventsPerSecond: traffic.eventsPerSecond,
    rates,
    runModel,
    points: targets.map((targetSeconds) => ({
      targetSeconds,
      recommended: cheapestWithin(options, targetSeconds),
    })),
    fastest: fastestOf(options),
    continuous: continuousFor(rates),
    frontier: frontierOf(options),
  };
}

/** The status API's `cost`: production's setting against continuous, the advice and the frontier. */
export interface StatusCost extends CostComparison {
  /** Whose setting `workload` carries: the configured one, or production's defaults (local stack). */
  settingSource: 'configured' | 'production default';
  advice: Advice;
  frontier: FrontierPoint[];
}

const settingOf = (w: EventDrivenSetting): EventDrivenSetting => ({
  captureWindowSeconds: w.captureWindowSeconds,
  captureSizeBytes: w.captureSizeBytes,
  batchWaitSeconds: w.batchWaitSeconds,
});

/** A setting Event Hubs Capture accepts (the local stack's 10 s window is not one). */
export function captureAllows(setting: EventDrivenSetting): boolean {
  const { windowSeconds, sizeMegabytes } = CAPTURE_LIMITS;
  const megabytes = setting.captureSizeBytes / MB;
  return (
    setting.captureWindowSeconds >= windowSeconds.min &&
    setting.captureWindowSeconds <= windowSeconds.max &&
    megabytes >= sizeMegabytes.min &&
    megabytes <= sizeMegabytes.max
  );
}

/**
 * Everything the status needs, from the ledger rows it read: the observed event rate, the run
 * model fitted to the measured runs (else the configured default), the configured setting against
 * the continuous pipeline — production's defaults instead when Capture would not accept the
 * configured one (the local stack's 10 s window) — the setting recommended for
 * `rates.freshnessTargetSeconds`, and the cost-versus-freshness frontier. `workload` also gives the
 * hub's partitions, event size and batch caps.
 */
export function statusCost(
  rows: {
    runId?: string;
    records: number;
    runStartedAt?: string;
    runFinishedAt?: string;
    state: string;
    capturedAt: string;
  }[],
  rates: CostRates,
  workload: Omit<Workload, 'eventsPerSecond'>,
  grid: SettingsGrid = DEFAULT_GRID,
): StatusCost {
  const runModel = fitRunDuration(runSamplesOf(rows), defaultRunModel(rates));
  const traffic: Traffic = {
    eventsPerSecond: observedEventsPerSecond(rows),
    partitions: workload.partitions,
    bytesPerEvent: workload.bytesPerEvent,
    ...(workload.batchMaxFiles !== undefined ? { batchMaxFiles: workload.batchMaxFiles } : {}),
    ...(workload.batchMaxBytes !== undefined ? { batchMaxBytes: workload.batchMaxBytes } : {}),
  };
  const options = evaluateGrid(traffic, rates, runModel, grid);
  const configured = captureAllows(workload);
  return {
    ...compareModes(
      { ...traffic, ...(configured ? settingOf(workload) : PRODUCTION_SETTING) },
      rates,
      runModel,
    ),
    settingSource: configured ? 'configured' : 'production default',
    advice: adviceFrom(options, traffic, rates, runModel, rates.freshnessTargetSeconds),
    frontier: frontierOf(options),
  };
}
