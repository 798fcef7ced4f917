import { AppConfig, SETTINGS } from '../config';
import { LedgerFile, TableLedger, hourOf } from '../ledger/ledger';
import {
  CostComparison,
  DEFAULT_RUN_DURATION,
  compareModes,
  fitRunDuration,
  runSamplesOf,
} from '../operate/costModel';
import { costRates } from '../host/settings';
import { numberOption, parseCommandArgs, UsageError } from './args';

export const COST_HELP = `orders-pipeline cost --events-per-second N [options]

Estimates, per day, the runs, DBUs, cost and freshness of this event-driven design against a
continuously running pipeline (Lakeflow / Delta Live Tables), and the event rate where they cost
the same. Cost = compute uptime × DBU rate × price; the job's uptime is its runs plus a start-up
each, the continuous pipeline's the whole day. Workload defaults are production's.

  --events-per-second N      the order change rate (required)
  --capture-window S         Capture time window (default 60)
  --capture-size MB          Capture size limit (default 100)
  --batch-wait S             BATCH_WAIT_SECONDS (default 300)
  --partitions N             event hub partitions (default 4)
  --bytes-per-event B        average event size (default 350)
  --from-ledger              fit run durations to the ledger's runs of the last 24 hours
                             (AzureWebJobsStorage must be reachable); else the default model
  --job-dbu-per-hour X       COST_JOB_DBU_PER_HOUR       --startup-seconds S   COST_JOB_STARTUP_SECONDS
  --continuous-dbu-per-hour X COST_CONTINUOUS_DBU_PER_HOUR --price-per-dbu P  COST_PRICE_PER_DBU
  --json                     the comparison as JSON
`;

export async function costCommand(args: string[], config: AppConfig): Promise<void> {
  const { values, positionals } = parseCommandArgs(args, {
    'events-per-second': { type: 'string' },
    'capture-window': { type: 'string' },
    'capture-size': { type: 'string' },
    'batch-wait': { type: 'string' },
    partitions: { type: 'string' },
    'bytes-per-event': { type: 'string' },
    'from-ledger': { type: 'boolean' },
    'job-dbu-per-hour': { type: 'string' },
    'startup-seconds': { type: 'string' },
    'continuous-dbu-per-hour': { type: 'string' },
    'price-per-dbu': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError(`cost takes no arguments, got "${positionals[0]}"`);
  if (values['events-per-second'] === undefined) throw new UsageError('cost needs --events-per-second N');
  const configured = costRates(config);
  const rates = {
    ...configured,
    jobDbuPerHour: numberOption(values['job-dbu-per-hour'], 'job-dbu-per-hour', configured.jobDbuPerHour),
    jobStartupSeconds: numberOption(
      values['startup-seconds'],
      'startup-seconds',
      configured.jobStartupSeconds,
    ),
    continuousDbuPerHour: numberOption(
      values['continuous-dbu-per-hour'],
      'continuous-dbu-per-hour',
      configured.continuousDbuPerHour,
    ),
    pricePerDbu: numberOption(values['price-per-dbu'], 'price-per-dbu', configured.pricePerDbu),
  };
  let runModel = DEFAULT_RUN_DURATION;
  if (values['from-ledger']) {
    const ledger = await TableLedger.open(
      config.AzureWebJobsStorage,
      config.LEDGER_TABLE,
      config.CAPTURE_PATH_FORMAT,
    );
    const rows: LedgerFile[] = [];
    for await (const row of ledger.list({ fromHour: hourOf(new Date(Date.now() - 24 * 3_600_000)) }))
      rows.push(row);
    runModel = fitRunDuration(runSamplesOf(rows), DEFAULT_RUN_DURATION);
  }
  const comparison = compareModes(
    {
      eventsPerSecond: numberOption(values['events-per-second'], 'events-per-second', 0),
      captureWindowSeconds: numberOption(
        values['capture-window'],
        'capture-window',
        Number(SETTINGS.CAPTURE_WINDOW_SECONDS.default),
        1,
      ),
      captureSizeBytes: numberOption(values['capture-size'], 'capture-size', 100, 1) * 1024 * 1024,
      batchWaitSeconds: numberOption(
        values['batch-wait'],
        'batch-wait',
        Number(SETTINGS.BATCH_WAIT_SECONDS.default),
      ),
      partitions: numberOption(
        values.partitions,
        'partitions',
        Number(SETTINGS.EVENTHUB_PARTITIONS.default),
        1,
      ),
      bytesPerEvent: numberOption(values['bytes-per-event'], 'bytes-per-event', 350, 1),
    },
    rates,
    runModel,
  );
  process.stdout.write(values.json ? `${JSON.stringify(comparison)}\n` : formatComparison(comparison));
}

export function formatComparison(c: CostComparison): string {
  const e = c.eventDriven;
  const k = c.continuous;
  const money = (n: number) => n.toFixed(2);
  const time = (s: number) =>
    s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 60 ? `${(s / 60).toFixed(1)} min` : `${Math.round(s)} s`;
  const row = (label: string, a: string, b: string) =>
    `  ${label.padEnd(22)}${a.padStart(16)}${b.padStart(16)}`;
  return [
    `At ${c.workload.eventsPerSecond} events/s (${Math.round(c.workload.eventsPerSecond * 86_400).toLocaleString('en')} a day), per day:`,
    row('', 'event-driven', 'continuous'),
    row('runs', e.runsPerDay.toFixed(0), '1 (always on)'),
    row('compute hours', e.computeHoursPerDay.toFixed(2), k.computeHoursPerDay.toFixed(2)),
    row('DBUs', e.dbusPerDay.toFixed(1), k.dbusPerDay.toFixed(1)),
    row('cost', money(e.costPerDay), money(k.costPerDay)),
    row('freshness, typical', time(e.freshness.typicalSeconds), time(k.freshness.typicalSeconds)),
    row('freshness, worst', time(e.freshness.worstSeconds), time(k.freshness.worstSeconds)),
    '',
    `  ${e.keepsUp ? '' : 'The job cannot keep up at this rate even with runs back to back. '}` +
      `Cheaper here: ${c.cheaper === 'eventDriven' ? 'event-driven' : 'continuous'}` +
      (c.breakEvenEventsPerSecond === null
        ? '; the event-driven job stays cheaper at any rate up to 10^6 events/s.'
        : `; the two cost the same at about ${c.breakEvenEventsPerSecond} events/s.`),
    `  Runs: ${Math.round(e.eventsPerRun).toLocaleString('en')} events each, ${time(e.runSeconds)} plus start-up; run model: ${c.runModel.fixedSeconds.toFixed(0)} s + ${c.runModel.secondsPerMillionEvents.toFixed(0)} s per million events (${c.runModel.source}).`,
    '',
  ].join('\n');
}
