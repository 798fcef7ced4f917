/**
 * The backlog timer's cost as history grows, in Azurite: per size, a fresh Azurite holding that
 * many historical Capture blobs (finished in the ledger, the watermark where a steady-state timer
 * has it) and 100 new files of the current hour, recorded by the trigger and still open.
 *   npm run bench:backlog -- [--sizes 10000,30000,100000] [--new 100] [--partitions 4]
 *     [--runs 5] [--walk] [--seed store|upload] [--concurrency 48] [--on-disk]
 *
 * Per size it prints the seeding rate, the first timer run after the seed and `--runs` steady-state
 * runs: seconds in runBacklog, listed partition-hours, ledger rows read and blobs listed (counted
 * by wrappers around the ledger and capture store ports), the time spent waiting on those listings,
 * and Azurite's own listing of the whole container for comparison. `--walk` also times one run
 * without a watermark (the whole retention period listed, as on a first start or a lost watermark).
 *
 * Seeding. `--seed upload` (the plain way) uploads one small Capture file under every name,
 * `--concurrency` in flight. Azurite's blob index (LokiJS) looks every new name up with a scan of
 * all blobs, so that costs O(n) per blob and O(n²) in all: hours for 100k on 2 cores. The
 * default `--seed store` therefore writes the historical names straight into the blob index of an
 * on-disk Azurite before it starts: every name a copy of the index entry Azurite made for one of
 * the uploaded new files, sharing its stored content. The new files themselves are uploaded through
 * the API, and the ledger rows of the history always go through the Table API, in transactions of
 * up to 100 rows per partition key.
 *
 * Layout: the look-back hours a steady timer lists again (its watermark minus a Capture window and
 * an hour) hold `--new` finished files each, like the current hour; the rest of the history is
 * spread round-robin over the partitions and the older hours of the retention period, named as
 * Capture names them. So the arrival rate the timer sees is the same at every size; only what lies
 * behind the watermark grows.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TransactionAction } from '@azure/data-tables';
import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { encodeCaptureFile } from '../lib/capture/captureFileWriter';
import { formatEnqueuedTimeUtc } from '../lib/capture/enqueuedTime';
import { AppConfig, loadConfig } from '../lib/config';
import { backlogPorts } from '../lib/host/pipelinePorts';
import { backlogSettings } from '../lib/host/settings';
import { Ledger, hourOf, ledgerKeys, storageTableClient } from '../lib/ledger/ledger';
import { blobCreatedEvent } from '../lib/local/captureWatcher';
import { LocalPipeline } from '../lib/local/localPipeline';
import { BacklogReport, BacklogSettings, WatermarkStore, runBacklog } from '../lib/operate/backlog';
import { CaptureStore } from '../lib/storage/captureStore';
import { openBenchStack } from './benchStack';

const HOUR = 3_600_000;

// ---- counting wrappers around the timer's ports ----

/** How often an iterable was opened, the items it yielded, and the time spent waiting on it. */
interface Meter {
  calls: number;
  items: number;
  ms: number;
}

interface Meters {
  history: Meter;
  open: Meter;
  dead: Meter;
  blobs: Meter;
}

const meters = (): Meters => {
  const meter = (): Meter => ({ calls: 0, items: 0, ms: 0 });
  return { history: meter(), open: meter(), dead: meter(), blobs: meter() };
};

async function* metered<T>(source: AsyncIterable<T>, meter: Meter): AsyncIterable<T> {
  meter.calls++;
  const iterator = source[Symbol.asyncIterator]();
  let done = false;
  try {
    for (;;) {
      const started = performance.now();
      const next = await iterator.next();
      meter.ms += performance.now() - started;
      if (next.done) {
        done = true;
        return;
      }
      meter.items++;
      yield next.value;
    }
  } finally {
    if (!done) await iterator.return?.();
  }
}

function meteredLedger(inner: Ledger, m: Meters): Ledger {
  return {
    insert: (file) => inner.insert(file),
    get: (filePath) => inner.get(filePath),
    update: (changes) => inner.update(changes),
    restoreOpen: (filePath) => inner.restoreOpen(filePath),
    requeue: (file) => inner.requeue(file),
    list: (options) => metered(inner.list(options), m.history),
    listOpen: (options) => metered(inner.listOpen(options), m.open),
    listDeadLettered: (options) => metered(inner.listDeadLettered(options), m.dead),
  };
}

function meteredStore(inner: CaptureStore, m: Meters): CaptureStore {
  return {
    description: inner.description,
    fileUrl: (filePath) => inner.fileUrl(filePath),
    list: (options) => metered(inner.list(options), m.blobs),
    read: (filePath, options) => inner.read(filePath, options),
    create: (filePath) => inner.create(filePath),
  };
}

// ---- layout of the history ----

interface CaptureFile {
  path: string;
  windowStart: number;
}

interface Layout {
  now: number;
  windowMs: number;
  currentHour: number;
  watermark: number;
  oldest: number;
  /** The new files of the current hour. */
  fresh: CaptureFile[];
  /** The k-th historical file: the look-back hours first, then round-robin over the older ones. */
  historical(k: number): CaptureFile;
  /** Historical files that go into the look-back hours (sizes start there). */
  recent: number;
}

/** The watermark a steady-state timer holds at `now`: past every hour it may call complete. */
function steadyWatermark(settings: BacklogSettings, now: number): number {
  let hour = Math.floor(now / HOUR) * HOUR;
  while (hour + settings.captureWindowMs + settings.graceMs >= now) hour -= HOUR;
  return hour;
}

function planLayout(config: AppConfig, fresh: number, largest: number): Layout {
  const settings = backlogSettings(config);
  const partitions = settings.partitions;
  const file = (partition: number, windowStart: number): CaptureFile => ({
    path: config.CAPTURE_PATH_FORMAT.build({
      namespace: config.EVENTHUB_NAMESPACE,
      eventHub: config.EVENTHUB_NAME,
      partitionId: String(partition),
      windowStart: new Date(windowStart),
    }),
    windowStart,
  });
  // A fixed `now` half way through the current hour: the same hours at every size and run.
  const currentHour = Math.floor(Date.now() / HOUR) * HOUR;
  const now = currentHour + HOUR / 2;
  const watermark = steadyWatermark(settings, now);
  const lookBack = Math.floor((watermark - settings.captureWindowMs - HOUR) / HOUR) * HOUR;
  const oldest = Math.floor((now - settings.retentionMs) / HOUR) * HOUR + HOUR;
  const recent = ((currentHour - lookBack) / HOUR) * fresh;
  const slots = ((lookBack - oldest) / HOUR) * partitions;
  const rounds = Math.ceil(Math.max(0, largest - recent) / slots);
  const stepMs = Math.max(1, Math.floor(3600 / Math.max(1, rounds))) * 1000;
  if (rounds * stepMs > HOUR) throw new Error('more files than one a second per partition-hour');
  return {
    now,
    windowMs: settings.captureWindowMs,
    currentHour,
    watermark,
    oldest,
    recent,
    fresh: Array.from({ length: fresh }, (_, i) => file(i % partitions, currentHour + (i + 1) * 1000)),
    historical: (k) => {
      if (k < recent) {
        const i = k % fresh;
        return file(i % partitions, lookBack + Math.floor(k / fresh) * HOUR + (i + 1) * 1000);
      }
      const slot = (k - recent) % slots;
      const round = Math.floor((k - recent) / slots);
      return file(slot % partitions, oldest + Math.floor(slot / partitions) * HOUR + round * stepMs);
    },
  };
}

// ---- seeding ----

async function inParallel<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

async function uploadAll(
  container: ContainerClient,
  files: CaptureFile[],
  body: Buffer,
  concurrency: number,
): Promise<void> {
  const started = performance.now();
  let done = 0;
  await inParallel(files, concurrency, async (file) => {
    await container.uploadBlockBlob(file.path, body, body.length);
    if (++done % 10_000 === 0) {
      const rate = Math.round(done / ((performance.now() - started) / 1000));
      console.error(`  uploaded ${done} (${rate} blobs/s so far)`);
    }
  });
}

/** The part of LokiJS (Azurite's own copy) that writing its blob index takes. */
interface LokiCollection {
  data: Record<string, unknown>[];
  adaptiveBinaryIndices: boolean;
  insert(docs: Record<string, unknown>[]): unknown;
  ensureAllIndexes(force?: boolean): void;
}
interface LokiDb {
  loadDatabase(options: object, callback: (error?: unknown) => void): void;
  saveDatabase(callback: (error?: unknown) => void): void;
  getCollection(name: string): LokiCollection | null;
}
type LokiConstructor = new (file: string, options: object) => LokiDb;

/** Azurite 3's blob index file and collection (lib/local/azurite.ts starts Azurite from npm). */
const BLOB_DB = '__azurite_db_blob__.json';
const BLOBS = '$BLOBS_COLLECTION$';

function loki(): LokiConstructor {
  const fromAzurite = createRequire(require.resolve('azurite/dist/src/azurite.js'));
  return fromAzurite('lokijs') as LokiConstructor;
}

const callback = (resolve: () => void, reject: (error: unknown) => void) => (error?: unknown) =>
  error ? reject(error) : resolve();

/**
 * Adds `files` to the blob index in `azuriteDir` (Azurite stopped), each a copy of the entry of
 * `template` (a blob Azurite stored) with its own name and times, sharing the template's content.
 */
async function writeBlobIndex(
  azuriteDir: string,
  template: string,
  files: CaptureFile[],
  windowMs: number,
): Promise<void> {
  const Loki = loki();
  const db = new Loki(path.join(azuriteDir, BLOB_DB), { persistenceMethod: 'fs' });
  await new Promise<void>((resolve, reject) => db.loadDatabase({}, callback(resolve, reject)));
  const blobs = db.getCollection(BLOBS);
  const found = blobs?.data.find((doc) => doc.name === template);
  if (!blobs || !found)
    throw new Error(`no blob ${template} in ${BLOB_DB}: this Azurite's store differs; use --seed upload`);
  const entry = JSON.parse(JSON.stringify(found)) as Record<string, unknown>;
  delete entry.$loki;
  delete entry.meta;
  const properties = entry.properties as Record<string, unknown>;
  // One index sort at the end instead of one sorted insert per name and index.
  blobs.adaptiveBinaryIndices = false;
  blobs.insert(
    files.map((file, i) => {
      const created = new Date(file.windowStart + windowMs).toISOString();
      return {
        ...entry,
        name: file.path,
        properties: {
          ...properties,
          creationTime: created,
          lastModified: created,
          accessTierChangeTime: created,
          etag: `"0x${(0x1d000000000000 + i).toString(16).toUpperCase()}"`,
        },
      };
    }),
  );
  blobs.ensureAllIndexes(true);
  blobs.adaptiveBinaryIndices = true;
  await new Promise<void>((resolve, reject) => db.saveDatabase(callback(resolve, reject)));
}

/** The historical files' ledger rows, finished, in transactions of ≤ 100 rows of one hour. */
async function writeLedgerRows(
  config: AppConfig,
  store: CaptureStore,
  files: CaptureFile[],
  bytes: number,
): Promise<number> {
  const table = storageTableClient(config.AzureWebJobsStorage, config.LEDGER_TABLE);
  const windowMs = config.CAPTURE_WINDOW_SECONDS * 1000;
  let newest = 0;
  const byHour = new Map<string, TransactionAction[]>();
  for (const file of files) {
    const keys = ledgerKeys(file.path, config.CAPTURE_PATH_FORMAT);
    const capturedAt = new Date(file.windowStart + windowMs).toISOString();
    newest = Math.max(newest, file.windowStart + windowMs);
    const row = {
      ...keys,
      path: file.path,
      url: store.fileUrl(file.path),
      state: 'succeeded',
      bytes,
      records: 1,
      capturedAt,
      triggeredAt: capturedAt,
      attempts: 1,
    };
    const actions = byHour.get(keys.partitionKey) ?? [];
    actions.push(['upsert', row, 'Replace']);
    byHour.set(keys.partitionKey, actions);
  }
  const transactions: TransactionAction[][] = [];
  for (const actions of byHour.values())
    for (let i = 0; i < actions.length; i += 100) transactions.push(actions.slice(i, i + 100));
  const started = performance.now();
  let done = 0;
  await inParallel(transactions, 8, async (actions) => {
    await table.submitTransaction(actions);
    const before = done;
    done += actions.length;
    if (Math.floor(done / 20_000) > Math.floor(before / 20_000)) {
      const rate = Math.round(done / ((performance.now() - started) / 1000));
      console.error(`  ledger rows ${done} (${rate} rows/s so far)`);
    }
  });
  return newest;
}

/** Azurite's resident memory (Linux: the child of this process running azurite), or null. */
function azuriteRssMb(): number | null {
  try {
    for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent !== process.pid || !fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('azurite'))
        continue;
      const rss = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      return rss ? Math.round(Number(rss[1]) / 1024) : null;
    }
  } catch {
    return null;
  }
  return null;
}

// ---- one size ----

/** One size's figures, as printed in JSON and in the table. */
interface SizeResult {
  historicalBlobs: number;
  newBlobs: number;
  blobsInContainer: number;
  seed: {
    mode: 'store' | 'upload';
    blobsPerSecond: number;
    /** Store seeding: Azurite's start on the filled store (it loads the index). */
    azuriteStartSeconds: number | null;
    ledgerRowsPerSecond: number;
  };
  firstRunSeconds: number;
  steadySeconds: { median: number; max: number };
  listedPartitionHours: number;
  ledgerRowsRead: { history: number; open: number };
  blobsListed: number;
  listCalls: number;
  /** Time runBacklog waited on Azurite (and the SDK) for the listings and the ledger reads. */
  waitSeconds: { listing: number; ledgerHistory: number; ledgerOpen: number };
  fullContainerListSeconds: number;
  azuriteRssMb: number | null;
  walk?: { seconds: number; listedPartitionHours: number; ledgerRowsRead: number; blobsListed: number };
  problems: string[];
}

interface Options {
  fresh: number;
  partitions: number;
  concurrency: number;
  runs: number;
  walk: boolean;
  seed: 'store' | 'upload';
  onDisk: boolean;
}

/** The settings of every stack: the timer's defaults, and no batch closing while it is measured. */
const settingsFor = (partitions: number) => ({
  EVENTHUB_PARTITIONS: String(partitions),
  BATCH_WAIT_SECONDS: '86400',
});

const median = (sorted: number[]): number => sorted[Math.floor((sorted.length - 1) / 2)];
const round3 = (seconds: number): number => +seconds.toFixed(3);

/** The store seeding's starting point: an on-disk Azurite that stored the new files. */
async function templateStore(options: Options, layout: Layout, body: Buffer): Promise<string> {
  const template = await openBenchStack('backlog-template', settingsFor(options.partitions), {
    azuriteOnDisk: true,
  });
  try {
    const container = BlobServiceClient.fromConnectionString(
      template.azurite.connectionString,
    ).getContainerClient(template.config.CAPTURE_CONTAINER);
    await container.create();
    for (const file of layout.fresh) await container.uploadBlockBlob(file.path, body, body.length);
    await template.azurite.stop(); // LokiJS saves the index on close
    const copy = fs.mkdtempSync(
      path.join(path.dirname(template.config.LOCAL_DATA_DIR), 'bench-backlog-store-'),
    );
    fs.cpSync(path.join(template.config.LOCAL_DATA_DIR, 'azurite'), copy, { recursive: true });
    return copy;
  } finally {
    await template.close();
  }
}

async function measureSize(
  size: number,
  options: Options,
  layout: Layout,
  body: Buffer,
  store: string | undefined,
): Promise<SizeResult> {
  const problems: string[] = [];
  const files = Array.from({ length: size }, (_, k) => layout.historical(k));
  const { now, watermark, fresh } = layout;
  let seedSeconds = 0;
  const openStarted = performance.now();
  const bench = await openBenchStack('backlog', settingsFor(options.partitions), {
    azuriteOnDisk: store !== undefined || options.onDisk,
    beforeAzurite:
      store === undefined
        ? undefined
        : async (dir) => {
            const started = performance.now();
            fs.cpSync(store, dir, { recursive: true });
            await writeBlobIndex(dir, fresh[0].path, files, layout.windowMs);
            seedSeconds = (performance.now() - started) / 1000;
          },
  });
  const azuriteStartSeconds =
    store === undefined ? null : (performance.now() - openStarted) / 1000 - seedSeconds;
  const { config } = bench;
  const pipeline = await LocalPipeline.open({ config, log: () => undefined, watchIntervalMs: 0 });
  try {
    const container = BlobServiceClient.fromConnectionString(
      bench.azurite.connectionString,
    ).getContainerClient(config.CAPTURE_CONTAINER);
    if (store === undefined) {
      await container.createIfNotExists();
      for (const file of fresh) await container.uploadBlockBlob(file.path, body, body.length);
      const started = performance.now();
      await uploadAll(container, files, body, options.concurrency);
      seedSeconds = (performance.now() - started) / 1000;
    }
    // The new files, recorded by the trigger as Event Grid would have delivered them.
    for (const file of fresh) {
      await pipeline.deliver(
        blobCreatedEvent(pipeline.captureStore, config.CAPTURE_CONTAINER, {
          path: file.path,
          bytes: body.length,
          createdAt: new Date(),
        }),
      );
    }
    const ledgerStarted = performance.now();
    const newest = await writeLedgerRows(config, pipeline.captureStore, files, body.length);
    const ledgerSeconds = (performance.now() - ledgerStarted) / 1000;
    const watermarks = new WatermarkStore(
      storageTableClient(config.AzureWebJobsStorage, `${config.LEDGER_TABLE}State`),
    );
    await watermarks.write({ hour: watermark, newestSucceededCapture: newest });
    console.error(
      `history ${size}: blobs ${options.seed === 'store' ? 'written to the store' : 'uploaded'} in ` +
        `${seedSeconds.toFixed(1)} s (${Math.round(size / seedSeconds)}/s)` +
        (azuriteStartSeconds === null
          ? ''
          : `, Azurite started on it in ${azuriteStartSeconds.toFixed(1)} s`) +
        `; ledger rows in ${ledgerSeconds.toFixed(1)} s (${Math.round(size / ledgerSeconds)}/s)`,
    );

    const settings = backlogSettings(config);
    const timed = async () => {
      const m = meters();
      const ports = backlogPorts(
        config,
        {
          ledger: meteredLedger(pipeline.ports.ledger, m),
          jobs: pipeline.ports.jobs,
          jobId: pipeline.ports.jobId,
        },
        meteredStore(pipeline.captureStore, m),
        (file) => pipeline.driver.signal(file),
        {
          ensureRunning: async () => ({
            status: pipeline.driver.running ? 'Running' : 'Failed',
            started: false,
          }),
        },
      );
      const started = performance.now();
      const report: BacklogReport = await runBacklog(ports, settings, now);
      const seconds = (performance.now() - started) / 1000;
      if (report.watermark !== new Date(watermark).toISOString())
        problems.push(`the watermark moved to ${report.watermark}`);
      if (report.lostEvents.found > 0) problems.push(`${report.lostEvents.found} files re-triggered`);
      if (report.unfinished.files !== fresh.length)
        problems.push(`${report.unfinished.files} files unfinished`);
      return { seconds, report, m };
    };
    const first = await timed();
    const steady = [];
    for (let i = 0; i < options.runs; i++) steady.push(await timed());
    const times = steady.map((run) => run.seconds).sort((a, b) => a - b);
    const last = steady[steady.length - 1];
    for (const run of steady) {
      if (run.report.listedHours !== last.report.listedHours || run.m.history.items !== last.m.history.items)
        problems.push('steady runs differ in their work');
    }
    // Azurite's own listing of the whole container, for comparison.
    const listStarted = performance.now();
    let listed = 0;
    for await (const page of container.listBlobsFlat().byPage({ maxPageSize: 5000 }))
      listed += page.segment.blobItems.length;
    const fullListSeconds = (performance.now() - listStarted) / 1000;
    if (listed !== size + fresh.length) problems.push(`${listed} blobs in the container`);

    let walk: SizeResult['walk'];
    if (options.walk) {
      await watermarks.write({ hour: null, newestSucceededCapture: newest });
      const run = await timed();
      walk = {
        seconds: round3(run.seconds),
        listedPartitionHours: run.report.listedHours,
        ledgerRowsRead: run.m.history.items,
        blobsListed: run.m.blobs.items,
      };
    }
    return {
      historicalBlobs: size,
      newBlobs: fresh.length,
      blobsInContainer: listed,
      seed: {
        mode: options.seed,
        blobsPerSecond: Math.round(size / seedSeconds),
        azuriteStartSeconds: azuriteStartSeconds === null ? null : round3(azuriteStartSeconds),
        ledgerRowsPerSecond: Math.round(size / ledgerSeconds),
      },
      firstRunSeconds: round3(first.seconds),
      steadySeconds: { median: round3(median(times)), max: round3(times[times.length - 1]) },
      listedPartitionHours: last.report.listedHours,
      ledgerRowsRead: { history: last.m.history.items, open: last.m.open.items },
      blobsListed: last.m.blobs.items,
      listCalls: last.m.blobs.calls,
      waitSeconds: {
        listing: round3(last.m.blobs.ms / 1000),
        ledgerHistory: round3(last.m.history.ms / 1000),
        ledgerOpen: round3((last.m.open.ms + last.m.dead.ms) / 1000),
      },
      fullContainerListSeconds: round3(fullListSeconds),
      azuriteRssMb: azuriteRssMb(),
      walk,
      problems: [...new Set(problems)],
    };
  } finally {
    await pipeline.close();
    await bench.close();
  }
}

function printTable(rows: SizeResult[], walk: boolean): void {
  const header = [
    'history',
    'seed blobs/s',
    'ledger rows/s',
    'first s',
    'steady s med/max',
    'part-hours',
    'ledger rows hist+open',
    'blobs listed',
    'wait list/ledger s',
    'full list s',
    'Azurite MB',
    ...(walk ? ['walk s (hours/rows/blobs)'] : []),
  ];
  const cells = rows.map((row) => [
    String(row.historicalBlobs),
    String(row.seed.blobsPerSecond),
    String(row.seed.ledgerRowsPerSecond),
    row.firstRunSeconds.toFixed(3),
    `${row.steadySeconds.median.toFixed(3)} / ${row.steadySeconds.max.toFixed(3)}`,
    String(row.listedPartitionHours),
    `${row.ledgerRowsRead.history}+${row.ledgerRowsRead.open}`,
    String(row.blobsListed),
    `${row.waitSeconds.listing.toFixed(3)} / ${row.waitSeconds.ledgerHistory.toFixed(3)}`,
    row.fullContainerListSeconds.toFixed(2),
    String(row.azuriteRssMb ?? '?'),
    ...(row.walk
      ? [
          `${row.walk.seconds.toFixed(1)} (${row.walk.listedPartitionHours}/${row.walk.ledgerRowsRead}/${row.walk.blobsListed})`,
        ]
      : []),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((cell) => cell[i].length)));
  const line = (cell: string[]) => `| ${cell.map((value, i) => value.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(header));
  console.log(`| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`);
  for (const cell of cells) console.log(line(cell));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string' },
      new: { type: 'string' },
      partitions: { type: 'string' },
      concurrency: { type: 'string' },
      runs: { type: 'string' },
      walk: { type: 'boolean' },
      seed: { type: 'string' },
      'on-disk': { type: 'boolean' },
    },
  });
  const sizes = (values.sizes ?? '10000,30000,100000')
    .split(',')
    .map(Number)
    .sort((a, b) => a - b);
  const options: Options = {
    fresh: Number(values.new ?? 100),
    partitions: Number(values.partitions ?? 4),
    concurrency: Number(values.concurrency ?? 48),
    runs: Number(values.runs ?? 5),
    walk: values.walk ?? false,
    seed: (values.seed ?? 'store') as Options['seed'],
    onDisk: values['on-disk'] ?? false,
  };
  if (sizes.some((n) => !Number.isInteger(n) || n < 1) || !(options.fresh >= 1) || !(options.runs >= 1))
    throw new Error('--sizes takes positive integers (10000,30000,100000); --new and --runs at least 1');
  if (!['store', 'upload'].includes(options.seed)) throw new Error('--seed is store or upload');

  // Every stack has these settings; the layout needs no Storage.
  const layout = planLayout(
    loadConfig(settingsFor(options.partitions), { local: true }),
    options.fresh,
    sizes[sizes.length - 1],
  );
  if (sizes[0] < layout.recent)
    throw new Error(`--sizes start at ${layout.recent} (the look-back hours' files)`);
  // One small valid Capture file (one record), stored under every name.
  const body = await encodeCaptureFile(
    [
      {
        SequenceNumber: 0,
        Offset: '0',
        EnqueuedTimeUtc: formatEnqueuedTimeUtc(new Date()),
        SystemProperties: {},
        Properties: {},
        Body: Buffer.from('{"op":"c"}'),
      },
    ],
    { codec: 'deflate' },
  );
  const store = options.seed === 'store' ? await templateStore(options, layout, body) : undefined;
  try {
    const { now, watermark, oldest, currentHour } = layout;
    console.error(
      `now ${new Date(now).toISOString()}, watermark ${new Date(watermark).toISOString()}, history from ` +
        `${new Date(oldest).toISOString()}; ${options.partitions} partitions, ${options.fresh} new files; ` +
        (options.seed === 'store'
          ? 'history written to the store of an on-disk Azurite'
          : `history uploaded, ${options.concurrency} in flight, Azurite ${options.onDisk ? 'on disk' : 'in memory'}`),
    );
    const rows: SizeResult[] = [];
    for (const size of sizes) {
      const row = await measureSize(size, options, layout, body, store);
      rows.push(row);
      console.log(JSON.stringify(row));
    }
    console.log(
      `\nnow ${new Date(now).toISOString()} · watermark ${new Date(watermark).toISOString()} · ` +
        `current hour ${hourOf(new Date(currentHour))} · ${options.partitions} partitions · ` +
        `${options.fresh} new files · seed ${options.seed}`,
    );
    printTable(rows, options.walk);
  } finally {
    if (store) fs.rmSync(store, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
