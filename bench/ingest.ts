/**
 * The local lakehouse end to end: 1,000,000 CDC events (90% inserts, 8% updates, 2% deletes) in 100
 * Capture files → bronze → silver → gold on DuckDB from a cold database, then 100 new files of the
 * same mix into the warm tables; and the SQL-only floor: the same events already in bronze, through
 * the same silver and gold SQL. The ingest and the floor each run in a process of their own, so the
 * peak RSS reported is the lakehouse's, not the generator's.
 *   npm run bench:ingest -- [--events 1000000] [--files 100]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { CaptureFileEncoder } from '../lib/capture/captureFileWriter';
import { CapturePathFormat } from '../lib/capture/capturePath';
import { formatEnqueuedTimeUtc } from '../lib/capture/enqueuedTime';
import { BatchFile, BatchResult, LocalLakehouse } from '../lib/lakehouse/localLakehouse';
import { changeStream } from '../lib/orders/changeStream';
import { emptyFoldCounts, foldOrderLines } from '../lib/orders/foldOrderLines';
import { keyOf } from '../lib/orders/replay';
import { syntheticOrderTransactions } from '../lib/orders/syntheticOrders';
import { DirectoryCaptureStore } from '../lib/storage/captureStore';

const MIX = { updates: 0.08, deletes: 0.02, duplicates: 0, late: 0 };

async function writeFiles(root: string, events: number, files: number): Promise<[BatchFile[], BatchFile[]]> {
  const store = new DirectoryCaptureStore(root);
  const format = new CapturePathFormat();
  const encoder = new CaptureFileEncoder('deflate');
  const lines = foldOrderLines(syntheticOrderTransactions({ seed: 7, rows: events * 2 }), emptyFoldCounts());
  const stream = changeStream(lines, { seed: 7, events: events * 2, mix: MIX });
  const perFile = Math.ceil(events / files);
  const runs: BatchFile[][] = [[], []];
  for (let f = 0; f < files * 2; f++) {
    const windowStart = new Date(Date.UTC(2026, 10, 24, 9, 0, 0) + f * 60_000);
    const filePath = format.build({
      namespace: 'ordersns',
      eventHub: 'orders',
      partitionId: String(f % 8),
      windowStart,
    });
    const parts = [encoder.header()];
    let block: Buffer[] = [];
    for (let i = 0; i < perFile; i++) {
      const next = stream.next();
      if (next.done) break;
      block.push(
        encoder.encodeRecord({
          SequenceNumber: f * perFile + i,
          Offset: String((f * perFile + i) * 400),
          EnqueuedTimeUtc: formatEnqueuedTimeUtc(windowStart),
          SystemProperties: { 'x-opt-partition-key': keyOf(next.value) },
          Properties: {},
          Body: Buffer.from(JSON.stringify(next.value)),
        }),
      );
      if (block.length === 2000) {
        parts.push(await encoder.block(block));
        block = [];
      }
    }
    if (block.length > 0) parts.push(await encoder.block(block));
    fs.mkdirSync(path.dirname(path.join(root, filePath)), { recursive: true });
    fs.writeFileSync(path.join(root, filePath), Buffer.concat(parts));
    runs[f < files ? 0 : 1].push({ store, path: filePath });
  }
  return [runs[0], runs[1]];
}

/** Wall seconds, CPU seconds (all threads: the decode worker and DuckDB's too) and main-thread use. */
interface StepFigures {
  seconds: number;
  cpuSeconds: number;
  mainThreadBusy: number;
}

async function measured<T>(work: () => Promise<T>): Promise<[T, StepFigures]> {
  const loop = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await work();
  const used = process.cpuUsage(cpu);
  return [
    value,
    {
      seconds: +((performance.now() - started) / 1000).toFixed(2),
      cpuSeconds: +((used.user + used.system) / 1e6).toFixed(2),
      mainThreadBusy: +performance.eventLoopUtilization(loop).utilization.toFixed(2),
    },
  ];
}

/** Runs a batch's steps one by one (as `ingest` does), measuring each. */
async function ingestMeasured(
  lakehouse: LocalLakehouse,
  files: BatchFile[],
  batchId: string,
  steps: ('bronze' | 'silver' | 'gold')[] = ['bronze', 'silver', 'gold'],
): Promise<{ result: BatchResult; steps: Record<string, StepFigures> }> {
  let result: BatchResult | undefined;
  const figures: Record<string, StepFigures> = {};
  for (const step of steps) {
    const run = () =>
      step === 'bronze'
        ? lakehouse.bronze(files, { batchId })
        : step === 'silver'
          ? lakehouse.silver(batchId, result)
          : lakehouse.gold(batchId, result);
    [result, figures[step]] = await measured(run);
  }
  return { result: result!, steps: figures };
}

function report(
  label: string,
  events: number,
  run: { result: BatchResult; steps: Record<string, StepFigures> },
): void {
  const seconds = Object.values(run.steps).reduce((n, s) => n + s.seconds, 0);
  const cpuSeconds = Object.values(run.steps).reduce((n, s) => n + s.cpuSeconds, 0);
  console.log(
    JSON.stringify({
      run: label,
      events,
      seconds: +seconds.toFixed(2),
      eventsPerSecond: Math.round(events / seconds),
      cpuSeconds: +cpuSeconds.toFixed(2),
      ...run.steps,
      silverUpserts: run.result.silver.upserts,
      silverDeletes: run.result.silver.deletes,
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
}

/** Cold and warm ingest in this process, so its peak RSS is the lakehouse's alone. */
async function ingestPhase(dir: string, events: number): Promise<void> {
  const store = new DirectoryCaptureStore(path.join(dir, 'capture'));
  const [first, second] = (
    JSON.parse(fs.readFileSync(path.join(dir, 'files.json'), 'utf8')) as string[][]
  ).map((paths) => paths.map((p): BatchFile => ({ store, path: p })));
  const lakehouse = await LocalLakehouse.open(path.join(dir, 'lakehouse.duckdb'));
  report('cold', events, await ingestMeasured(lakehouse, first, 'cold'));
  report('warm', events, await ingestMeasured(lakehouse, second, 'warm'));
  await lakehouse.rows(
    `COPY (SELECT * FROM bronze_order_events WHERE batch_id = 'cold') TO '${dir}/bronze.parquet'`,
  );
  await lakehouse.rows(
    `COPY (SELECT * FROM batch_files WHERE batch_id = 'cold') TO '${dir}/batch_files.parquet'`,
  );
  await lakehouse.close();
}

/**
 * The floor: the cold run's events already in bronze of a fresh database, checkpointed (so writing
 * bronze to disk is not counted), through the silver and gold steps only.
 */
async function floorPhase(dir: string, events: number): Promise<void> {
  const floorDb = await LocalLakehouse.open(path.join(dir, 'floor.duckdb'));
  await floorDb.rows(`INSERT INTO bronze_order_events SELECT * FROM read_parquet('${dir}/bronze.parquet')`);
  await floorDb.rows(`INSERT INTO batch_files SELECT * FROM read_parquet('${dir}/batch_files.parquet')`);
  await floorDb.rows('CHECKPOINT');
  report('floor', events, await ingestMeasured(floorDb, [], 'cold', ['silver', 'gold']));
  await floorDb.close();
}

interface Reported {
  run: string;
  seconds: number;
  eventsPerSecond: number;
  peakRssMb: number;
}

/** Runs a phase in a fresh process (the generator's memory is not counted) and returns its reports. */
function runPhase(phase: string, dir: string, events: number): Reported[] {
  const output = execFileSync(
    process.execPath,
    [__filename, '--phase', phase, '--dir', dir, '--events', String(events)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  process.stdout.write(output);
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Reported);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string' },
      files: { type: 'string' },
      phase: { type: 'string' },
      dir: { type: 'string' },
    },
  });
  const events = Number(values.events ?? 1_000_000);
  if (values.phase === 'ingest') return ingestPhase(values.dir!, events);
  if (values.phase === 'floor') return floorPhase(values.dir!, events);
  const files = Number(values.files ?? 100);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ingest-'));
  try {
    const generated = performance.now();
    const [first, second] = await writeFiles(path.join(dir, 'capture'), events, files);
    fs.writeFileSync(
      path.join(dir, 'files.json'),
      JSON.stringify([first.map((f) => f.path), second.map((f) => f.path)]),
    );
    console.error(
      `wrote ${files * 2} Capture files in ${((performance.now() - generated) / 1000).toFixed(1)} s`,
    );
    const [cold, warm] = runPhase('ingest', dir, events);
    const [floor] = runPhase('floor', dir, events);
    console.log(
      JSON.stringify({
        coldOverFloor: +(cold.seconds / floor.seconds).toFixed(2),
        warmOverFloor: +(warm.seconds / floor.seconds).toFixed(2),
        ingestPeakRssMb: Math.max(cold.peakRssMb, warm.peakRssMb),
        targets: 'end to end ≥ 150k events/s and ≤ 1.3× the floor, cold and warm; ingest peak RSS ≤ 1 GB',
      }),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
