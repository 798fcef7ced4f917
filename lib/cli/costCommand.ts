import { AppConfig } from '../config';
import { LedgerFile, TableLedger, hourOf } from '../ledger/ledger';
import {
  DEFAULT_BYTES_PER_EVENT,
  CostRates,
  ModeEstimate,
  RunDurationModel,
  defaultRunModel,
  fitRunDuration,
  runSamplesOf,
} from '../operate/costModel';
import {
  Advice,
  CAPTURE_LIMITS,
  CostCurve,
  DEFAULT_GRID,
  SettingOption,
  SettingsGrid,
  Traffic,
  advise,
  costCurve,
} from '../operate/costAdvisor';
import { costRates } from '../host/settings';
import { durationOption, integerOption, numberOption, parseCommandArgs, UsageError } from './args';

export const COST_HELP = `orders-pipeline cost --events-per-second N [--freshness 15m] [options]

The cost advisor. With --freshness it recommends the Capture window, Capture size limit and
BATCH_WAIT_SECONDS that cost least while the worst-case freshness (event to gold) stays within the
target, and shows that setting's runs, compute hours, DBUs and cost per day next to continuous mode
(a serverless Lakeflow pipeline running all day) at its own freshness. Without --freshness it prints
the cost-versus-freshness curve: the cheapest setting for a few freshness targets.

It searches every setting of a grid: Capture windows of 60 to 900 s (what Event Hubs allows),
size limits of 10 to 100 MB, batch waits of 0 to 3600 s. Cost = compute uptime × DBU rate × price;
a job run bills its start-up and run time. Worst-case freshness = Capture window (or the time to
fill the size limit, if sooner) + batch wait + queueing behind an active run + start-up + run time.
A target no setting reaches is reported with the best freshness possible, and the command exits 1.

  --events-per-second N      the order change rate (required)
  --freshness D              worst-case freshness target: 900, 90s, 15m, 2h
  --capture-window S         consider only this Capture window (60-900 s)
  --capture-size MB          consider only this Capture size limit (10-500 MB)
  --batch-wait S             consider only this BATCH_WAIT_SECONDS
  --partitions N             event hub partitions (default EVENTHUB_PARTITIONS)
  --bytes-per-event B        average event size (default ${DEFAULT_BYTES_PER_EVENT})
  --from-ledger              fit run durations to the ledger's runs of the last 24 hours
                             (AzureWebJobsStorage must be reachable); else the default model
                             (COST_RUN_FIXED_SECONDS + COST_RUN_SECONDS_PER_MILLION_EVENTS)
  --job-dbu-per-hour X       COST_JOB_DBU_PER_HOUR        --startup-seconds S  COST_JOB_STARTUP_SECONDS
  --price-per-dbu P          COST_PRICE_PER_DBU           (serverless jobs compute)
  --continuous-dbu-per-hour X  COST_CONTINUOUS_DBU_PER_HOUR
  --continuous-price-per-dbu P COST_CONTINUOUS_PRICE_PER_DBU (serverless pipeline compute)
  --json                     the same answer as JSON (an unreachable target: "reachable": false)
`;

/** The target no allowed setting reaches: the answer is printed, then the command fails. */
export class UnreachableFreshness extends Error {
  constructor(targetSeconds: number, bestSeconds: number | null) {
    super(
      `a worst-case freshness of ${duration(targetSeconds)} is unreachable` +
        (bestSeconds === null ? '' : `; the best any allowed setting gives is ${duration(bestSeconds)}`),
    );
    this.name = 'UnreachableFreshness';
  }
}

export async function costCommand(args: string[], config: AppConfig): Promise<void> {
  const { values, positionals } = parseCommandArgs(args, {
    'events-per-second': { type: 'string' },
    freshness: { type: 'string' },
    'capture-window': { type: 'string' },
    'capture-size': { type: 'string' },
    'batch-wait': { type: 'string' },
    partitions: { type: 'string' },
    'bytes-per-event': { type: 'string' },
    'from-ledger': { type: 'boolean' },
    'job-dbu-per-hour': { type: 'string' },
    'startup-seconds': { type: 'string' },
    'price-per-dbu': { type: 'string' },
    'continuous-dbu-per-hour': { type: 'string' },
    'continuous-price-per-dbu': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError(`cost takes no arguments, got "${positionals[0]}"`);
  if (values['events-per-second'] === undefined) throw new UsageError('cost needs --events-per-second N');
  const configured = costRates(config);
  const rate = (flag: keyof typeof values, field: keyof CostRates) =>
    numberOption(values[flag] as string | undefined, flag, configured[field]);
  const rates: CostRates = {
    ...configured,
    jobDbuPerHour: rate('job-dbu-per-hour', 'jobDbuPerHour'),
    jobStartupSeconds: rate('startup-seconds', 'jobStartupSeconds'),
    pricePerDbu: rate('price-per-dbu', 'pricePerDbu'),
    continuousDbuPerHour: rate('continuous-dbu-per-hour', 'continuousDbuPerHour'),
    continuousPricePerDbu: rate('continuous-price-per-dbu', 'continuousPricePerDbu'),
  };
  const traffic: Traffic = {
    eventsPerSecond: numberOption(values['events-per-second'], 'events-per-second', 0),
    partitions: integerOption(values.partitions, 'partitions', config.EVENTHUB_PARTITIONS, 1),
    bytesPerEvent: numberOption(values['bytes-per-event'], 'bytes-per-event', DEFAULT_BYTES_PER_EVENT, 1),
    batchMaxFiles: config.BATCH_MAX_FILES,
    batchMaxBytes: config.BATCH_MAX_BYTES,
  };
  const grid = gridOf(values);
  const targetMs =
    values.freshness === undefined ? undefined : durationOption(values.freshness, 'freshness', 0);
  const runModel = values['from-ledger'] ? await ledgerRunModel(config, rates) : defaultRunModel(rates);

  if (targetMs === undefined) {
    const curve = costCurve(traffic, rates, runModel, undefined, grid);
    process.stdout.write(values.json ? `${JSON.stringify(curve)}\n` : formatCurve(curve));
    return;
  }
  const advice = advise(traffic, rates, runModel, targetMs / 1000, grid);
  const reachable = advice.recommended !== null;
  process.stdout.write(values.json ? `${JSON.stringify({ reachable, ...advice })}\n` : formatAdvice(advice));
  if (!reachable)
    throw new UnreachableFreshness(
      advice.targetSeconds,
      advice.fastest?.estimate.freshness.worstSeconds ?? null,
    );
}

/** The default grid, with each dimension given on the command line pinned to that value. */
function gridOf(values: Record<string, string | boolean | undefined>): SettingsGrid {
  const pinned = (name: string, min: number, max: number): number | undefined => {
    const value = values[name] as string | undefined;
    if (value === undefined) return undefined;
    const parsed = numberOption(value, name, 0);
    if (parsed < min || parsed > max)
      throw new UsageError(
        `--${name} must be from ${min} to ${max} (what Event Hubs Capture allows), not ${value}`,
      );
    return parsed;
  };
  const { windowSeconds, sizeMegabytes } = CAPTURE_LIMITS;
  const window = pinned('capture-window', windowSeconds.min, windowSeconds.max);
  const size = pinned('capture-size', sizeMegabytes.min, sizeMegabytes.max);
  const wait =
    values['batch-wait'] === undefined
      ? undefined
      : integerOption(values['batch-wait'] as string, 'batch-wait', 0);
  return {
    captureWindowSeconds: window === undefined ? DEFAULT_GRID.captureWindowSeconds : [window],
    captureSizeBytes: size === undefined ? DEFAULT_GRID.captureSizeBytes : [size * 1024 * 1024],
    batchWaitSeconds: wait === undefined ? DEFAULT_GRID.batchWaitSeconds : [wait],
  };
}

async function ledgerRunModel(config: AppConfig, rates: CostRates): Promise<RunDurationModel> {
  const ledger = await TableLedger.open(
    config.AzureWebJobsStorage,
    config.LEDGER_TABLE,
    config.CAPTURE_PATH_FORMAT,
  );
  const rows: LedgerFile[] = [];
  for await (const row of ledger.list({ fromHour: hourOf(new Date(Date.now() - 24 * 3_600_000)) }))
    rows.push(row);
  return fitRunDuration(runSamplesOf(rows), defaultRunModel(rates));
}

/** Seconds as a person reads them: 45 s, 301 s (rounded up: these are worst cases), 14.5 min, 2 h. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'unbounded';
  const tenths = (n: number) => n.toFixed(1).replace(/\.0$/, '');
  if (seconds >= 3600) return `${tenths(seconds / 3600)} h`;
  if (seconds >= 600) return `${tenths(seconds / 60)} min`;
  return `${Math.ceil(seconds - 1e-9)} s`;
}

const money = (n: number) => n.toFixed(2);
const perDay = (eventsPerSecond: number) => Math.round(eventsPerSecond * 86_400).toLocaleString('en');

export function settingText(option: SettingOption): string {
  const s = option.setting;
  return `Capture window ${s.captureWindowSeconds} s, Capture size limit ${s.captureSizeBytes / 1024 / 1024} MB, BATCH_WAIT_SECONDS ${s.batchWaitSeconds}`;
}

function estimateRows(event: SettingOption, continuous: ModeEstimate): string[] {
  const e = event.estimate;
  const row = (label: string, a: string, b: string) =>
    `  ${label.padEnd(24)}${a.padStart(14)}${b.padStart(14)}`;
  return [
    row('', 'event-driven', 'continuous'),
    row('runs per day', e.runsPerDay.toFixed(0), 'always on'),
    row('compute hours', e.computeHoursPerDay.toFixed(2), continuous.computeHoursPerDay.toFixed(2)),
    row('DBUs', e.dbusPerDay.toFixed(1), continuous.dbusPerDay.toFixed(1)),
    row('cost', money(e.costPerDay), money(continuous.costPerDay)),
    row(
      'worst-case freshness',
      duration(e.freshness.worstSeconds),
      duration(continuous.freshness.worstSeconds),
    ),
  ];
}

function worstText(option: SettingOption): string {
  const w = option.estimate.worst;
  return (
    `Worst case: window ${Math.round(w.fileSeconds)} s + batch wait ${Math.round(w.batchWaitSeconds)} s + ` +
    `queue ${Math.round(w.queueSeconds)} s + start-up ${Math.round(w.startupSeconds)} s + run ` +
    `${Math.round(w.runSeconds)} s = ${duration(option.estimate.freshness.worstSeconds)}.`
  );
}

function footer(rates: CostRates, runModel: RunDurationModel): string[] {
  return [
    `  Run model: ${runModel.fixedSeconds.toFixed(0)} s + ${runModel.secondsPerMillionEvents.toFixed(0)} s per million events, ${runModel.source}.`,
    `  Rates: job ${rates.jobDbuPerHour} DBU/h at ${rates.pricePerDbu} a DBU, ${rates.jobStartupSeconds} s start-up a run; ` +
      `continuous ${rates.continuousDbuPerHour} DBU/h at ${rates.continuousPricePerDbu} a DBU, ` +
      `${rates.continuousTriggerSeconds} s trigger + ${rates.continuousLatencySeconds} s processing.`,
  ];
}

export function formatAdvice(a: Advice): string {
  const head = `At ${a.eventsPerSecond} events/s (${perDay(a.eventsPerSecond)} a day), worst-case freshness within ${duration(a.targetSeconds)}, per day:`;
  const k = a.continuous;
  const continuousLine = a.continuousMeetsTarget
    ? `  Continuous mode meets it (worst case ${duration(k.freshness.worstSeconds)}) at ${money(k.costPerDay)} a day.`
    : `  Continuous mode does not meet it either (worst case ${duration(k.freshness.worstSeconds)}).`;
  if (!a.recommended) {
    const best = a.fastest;
    return [
      head,
      '',
      best
        ? `  Unreachable: the best any allowed setting gives is ${duration(best.estimate.freshness.worstSeconds)}` +
          ` (${settingText(best)}).`
        : '  Unreachable: the job cannot keep up at this rate with any allowed setting.',
      ...(best ? ['', ...estimateRows(best, k), '', `  ${worstText(best)}`] : []),
      continuousLine,
      ...footer(a.rates, a.runModel),
      '',
    ].join('\n');
  }
  const r = a.recommended;
  const ratio = r.estimate.costPerDay > 0 ? k.costPerDay / r.estimate.costPerDay : Infinity;
  const verdict =
    a.cheaper === 'eventDriven'
      ? `  Cheaper within ${duration(a.targetSeconds)}: event-driven` +
        (a.continuousMeetsTarget
          ? Number.isFinite(ratio)
            ? ` (${ratio.toFixed(1)}× less than continuous).`
            : ' (no runs at this rate).'
          : ' (continuous mode does not meet the target).')
      : `  Cheaper within ${duration(a.targetSeconds)}: continuous (${money(k.costPerDay)} against ${money(r.estimate.costPerDay)} a day).`;
  return [
    head,
    '',
    `  Recommended: ${settingText(r)}`,
    '',
    ...estimateRows(r, k),
    '',
    verdict,
    `  ${worstText(r)}`,
    ...footer(a.rates, a.runModel),
    '',
  ].join('\n');
}

export function formatCurve(c: CostCurve): string {
  const cols = (...cells: [string, number][]) =>
    `  ${cells.map(([text, width]) => text.padStart(width)).join('')}`;
  const header = cols(
    ['freshness', 10],
    ['window', 9],
    ['size', 9],
    ['batch wait', 12],
    ['runs', 7],
    ['compute h', 11],
    ['DBUs', 8],
    ['cost', 9],
    ['worst case', 12],
  );
  const rows = c.points.map(({ targetSeconds, recommended: r }) => {
    const target = `≤ ${duration(targetSeconds)}`;
    if (!r)
      return `  ${target.padStart(10)}   unreachable (the best is ${c.fastest ? duration(c.fastest.estimate.freshness.worstSeconds) : 'none: the job cannot keep up'})`;
    const e = r.estimate;
    return cols(
      [target, 10],
      [`${r.setting.captureWindowSeconds} s`, 9],
      [`${r.setting.captureSizeBytes / 1024 / 1024} MB`, 9],
      [`${r.setting.batchWaitSeconds} s`, 12],
      [e.runsPerDay.toFixed(0), 7],
      [e.computeHoursPerDay.toFixed(2), 11],
      [e.dbusPerDay.toFixed(1), 8],
      [money(e.costPerDay), 9],
      [duration(e.freshness.worstSeconds), 12],
    );
  });
  const k = c.continuous;
  return [
    `At ${c.eventsPerSecond} events/s (${perDay(c.eventsPerSecond)} a day), the cheapest event-driven setting for each worst-case freshness, per day:`,
    '',
    header,
    ...rows,
    '',
    `  Continuous mode, at its own worst case of ${duration(k.freshness.worstSeconds)}: always on, ` +
      `${k.computeHoursPerDay.toFixed(2)} compute hours, ${k.dbusPerDay.toFixed(1)} DBUs, ${money(k.costPerDay)} a day.`,
    `  The freshest any allowed setting gets: ${c.fastest ? `${duration(c.fastest.estimate.freshness.worstSeconds)} (${settingText(c.fastest)})` : 'none (the job cannot keep up)'}.`,
    `  Recommend one for a target: orders-pipeline cost --events-per-second ${c.eventsPerSecond} --freshness 15m`,
    ...footer(c.rates, c.runModel),
    '',
  ].join('\n');
}
