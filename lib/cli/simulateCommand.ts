import { AppConfig } from '../config';
import { EventHubEmulator } from '../local/captureEmulator';
import { emulatorSettings } from '../host/settings';
import { OrderSource, ReplaySummary, replayOrders } from '../orders/replay';
import { CaptureStore, captureStoreForConnection, openCaptureStore } from '../storage/captureStore';
import { parseLocation } from '../storage/location';
import {
  booleanText,
  fractionOption,
  integerOption,
  numberOption,
  parseCommandArgs,
  UsageError,
} from './args';
import { ProgressBar } from './progress';

export const SIMULATE_HELP = `orders-pipeline simulate [options]

Replays orders as CDC events through the local Event Hubs + Capture emulator, which writes
Capture Avro files (same schema, path layout and window rules as Azure) to --out.

  --events N          events to publish (default 10000)
  --rate N|max        events per second, or max for as fast as possible (default max)
  --partitions N      event hub partitions (default EVENTHUB_PARTITIONS)
  --window S          Capture time window in seconds (default CAPTURE_WINDOW_SECONDS)
  --size-limit MB     Capture size window in MB (default CAPTURE_SIZE_LIMIT_BYTES)
  --skip-empty B      true|false: skip header-only files for idle windows (default CAPTURE_SKIP_EMPTY_ARCHIVES)
  --codec C           deflate|null (default CAPTURE_CODEC)
  --out LOCATION      dir:PATH, PATH, or a container URL http(s)://…/container[/prefix]
                      (default: CAPTURE_CONTAINER on CaptureStorage, i.e. local Azurite)
  --source S          synthetic (default) or the path of the Kaggle "Sales Transaction v.4a.csv"
  --seed N            seed of the synthetic orders and of the change mix (default 1)
  --updates F         share of events that update a line (default 0.08)
  --deletes F         share of events that delete a line (default 0.02)
  --duplicates F      share of events redelivered (default 0.01)
  --late F            share of changes delivered late, out of lsn order (default 0.01)
  --first-lsn N       source.lsn of the first change (default 1)
  --json              print the summary as JSON on stdout
`;

const OPTIONS = {
  events: { type: 'string' },
  rate: { type: 'string' },
  partitions: { type: 'string' },
  window: { type: 'string' },
  'size-limit': { type: 'string' },
  'skip-empty': { type: 'string' },
  codec: { type: 'string' },
  out: { type: 'string' },
  source: { type: 'string' },
  seed: { type: 'string' },
  updates: { type: 'string' },
  deletes: { type: 'string' },
  duplicates: { type: 'string' },
  late: { type: 'string' },
  'first-lsn': { type: 'string' },
  json: { type: 'boolean' },
} as const;

export interface SimulateDefaults {
  events?: number;
  rate?: number;
  /** A running hub to publish into (left open at the end); else one is opened on the store. */
  emulator?: EventHubEmulator;
  /** The store to write to when --out is not given. */
  store?: CaptureStore;
}

export async function simulateCommand(
  args: string[],
  config: AppConfig,
  signal: AbortSignal,
  defaults: SimulateDefaults = {},
): Promise<ReplaySummary> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  if (positionals.length > 0) throw new UsageError(`simulate takes no arguments, got "${positionals[0]}"`);
  const codec = values.codec ?? config.CAPTURE_CODEC;
  if (codec !== 'deflate' && codec !== 'null')
    throw new UsageError(`--codec must be deflate or null, not "${codec}"`);
  const seed = integerOption(values.seed, 'seed', 1);
  const events = integerOption(values.events, 'events', defaults.events ?? 10_000, 1);
  const rate =
    values.rate === 'max'
      ? Infinity
      : values.rate === undefined
        ? (defaults.rate ?? Infinity)
        : numberOption(values.rate, 'rate', 0, 1);
  const source: OrderSource =
    values.source === undefined || values.source === 'synthetic'
      ? { kind: 'synthetic', seed }
      : { kind: 'csv', path: values.source };
  const store = values.out
    ? openCaptureStore(parseLocation(values.out))
    : (defaults.store ?? captureStoreForConnection(config.CaptureStorage, config.CAPTURE_CONTAINER));

  const emulator =
    defaults.emulator ??
    (await EventHubEmulator.open(
      {
        ...emulatorSettings(config),
        partitionCount: integerOption(values.partitions, 'partitions', config.EVENTHUB_PARTITIONS, 1),
        windowSeconds: integerOption(values.window, 'window', config.CAPTURE_WINDOW_SECONDS, 1),
        sizeLimitBytes: Math.round(
          numberOption(values['size-limit'], 'size-limit', config.CAPTURE_SIZE_LIMIT_BYTES / 1048576, 0.001) *
            1048576,
        ),
        skipEmptyArchives: booleanText(
          values['skip-empty'],
          'skip-empty',
          config.CAPTURE_SKIP_EMPTY_ARCHIVES,
        ),
        codec,
      },
      store,
    ));
  emulator.startTimer();
  process.stderr.write(`simulate: ${events} events → ${store.description}\n`);
  const progress = new ProgressBar(events, 'simulate');
  const summary = await replayOrders(emulator, {
    source,
    events,
    rate,
    seed,
    firstLsn: integerOption(values['first-lsn'], 'first-lsn', 1),
    mix: {
      updates: fractionOption(values.updates, 'updates'),
      deletes: fractionOption(values.deletes, 'deletes'),
      duplicates: fractionOption(values.duplicates, 'duplicates'),
      late: fractionOption(values.late, 'late'),
    },
    signal,
    onProgress: ({ events: done, files }) => progress.update(done, `${files} files`),
    closeWhenDone: !defaults.emulator,
  });
  progress.done();
  if (values.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    process.stdout.write(formatSummary(summary, store.description));
  }
  return summary;
}

function formatSummary(s: ReplaySummary, where: string): string {
  const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MB`;
  return [
    `${s.interrupted ? 'Interrupted; flushed' : 'Replayed'} ${s.events} events in ${s.seconds.toFixed(1)} s (${Math.round(s.eventsPerSecond)} events/s)`,
    `  changes: ${s.changes.inserts} inserts, ${s.changes.snapshots} snapshot reads, ${s.changes.updates} updates, ${s.changes.deletes} deletes, ${s.changes.duplicates} redelivered, ${s.changes.late} late`,
    `  order lines: ${s.lines.rows} rows read, ${s.lines.exactDuplicates} exact duplicates dropped, ${s.lines.folded} repeated lines folded`,
    `  Capture files: ${s.files} (${s.emptyFiles} empty), ${mb(s.fileBytes)} written for ${mb(s.bodyBytes)} of event bodies`,
    `  location: ${where}`,
    '',
  ].join('\n');
}
