/**
 * The local lakehouse end to end: 1,000,000 CDC events (90% inserts, 8% updates, 2% deletes) in 100
 * Capture files → bronze → silver → gold on DuckDB from a cold database, then 100 new files of the
 * same mix into the warm tables; and the SQL-only floor: the same events already in bronze, through
 * the same silver and gold SQL.
 *   npm run bench:ingest -- [--events 1000000] [--files 100]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
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

function report(label: string, events: number, r: BatchResult): void {
  const rate = (seconds: number): number => Math.round(events / seconds);
  console.log(
    JSON.stringify({
      run: label,
      events,
      seconds: +r.seconds.total.toFixed(2),
      eventsPerSecond: rate(r.seconds.total),
      bronze: { seconds: +r.seconds.bronze.toFixed(2), eventsPerSecond: rate(r.seconds.bronze) },
      silver: { seconds: +r.seconds.silver.toFixed(2), eventsPerSecond: rate(r.seconds.silver) },
      gold: { seconds: +r.seconds.gold.toFixed(2), eventsPerSecond: rate(r.seconds.gold) },
      silverUpserts: r.silver.upserts,
      silverDeletes: r.silver.deletes,
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { events: { type: 'string' }, files: { type: 'string' } } });
  const events = Number(values.events ?? 1_000_000);
  const files = Number(values.files ?? 100);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ingest-'));
  try {
    const generated = performance.now();
    const [first, second] = await writeFiles(path.join(dir, 'capture'), events, files);
    console.error(
      `wrote ${files * 2} Capture files in ${((performance.now() - generated) / 1000).toFixed(1)} s`,
    );

    // The generator's garbage is collected now, not while the timed runs share the two cores.
    (globalThis as { gc?: () => void }).gc?.();
    const lakehouse = await LocalLakehouse.open(path.join(dir, 'lakehouse.duckdb'));
    const cold = await lakehouse.ingest(first, { batchId: 'cold' });
    report('cold', events, cold);
    const warm = await lakehouse.ingest(second, { batchId: 'warm' });
    report('warm', events, warm);
    await lakehouse.rows(
      `COPY (SELECT * FROM bronze_order_events WHERE batch_id = 'cold') TO '${dir}/bronze.parquet'`,
    );
    await lakehouse.rows(
      `COPY (SELECT * FROM batch_files WHERE batch_id = 'cold') TO '${dir}/batch_files.parquet'`,
    );
    await lakehouse.close();

    // The floor: the cold run's events already in bronze of a fresh database, SQL steps only.
    const floorDb = await LocalLakehouse.open(path.join(dir, 'floor.duckdb'));
    await floorDb.rows(`INSERT INTO bronze_order_events SELECT * FROM read_parquet('${dir}/bronze.parquet')`);
    await floorDb.rows(`INSERT INTO batch_files SELECT * FROM read_parquet('${dir}/batch_files.parquet')`);
    const floor = await floorDb.applyLoadedBatch('cold');
    report('floor (SQL only, cold)', events, floor);
    await floorDb.close();
    console.log(
      JSON.stringify({
        coldOverFloor: +(cold.seconds.total / floor.seconds.total).toFixed(2),
        target: '≤ 1.6',
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
