/**
 * Peak memory and speed of reading one large Capture file as a stream.
 *   npm run bench:capture-read -- [--mb 500] [--codec null|deflate]
 * Writes the file once under .local/bench/, then reads it in a fresh process (so the writer's
 * memory does not count) with the full schema and without the property maps.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readCaptureBlocks, readCaptureBlocksWithoutProperties } from '../lib/capture/captureFileReader';
import { CaptureFileEncoder } from '../lib/capture/captureFileWriter';
import { formatEnqueuedTimeUtc } from '../lib/capture/enqueuedTime';
import { CaptureCodec } from '../lib/capture/schema';
import { changeStream } from '../lib/orders/changeStream';
import { emptyFoldCounts, foldOrderLines } from '../lib/orders/foldOrderLines';
import { keyOf } from '../lib/orders/replay';
import { syntheticOrderTransactions } from '../lib/orders/syntheticOrders';

async function write(file: string, targetBytes: number, codec: CaptureCodec): Promise<number> {
  const encoder = new CaptureFileEncoder(codec);
  const out = fs.createWriteStream(file);
  const put = (chunk: Buffer): Promise<void> =>
    new Promise((resolve, reject) => out.write(chunk, (error) => (error ? reject(error) : resolve())));
  await put(encoder.header());
  let bytes = 0;
  let records = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const lines = foldOrderLines(syntheticOrderTransactions({ seed: 1, rows: 1e9 }), emptyFoldCounts());
  for (const event of changeStream(lines, { seed: 1 })) {
    const encoded = encoder.encodeRecord({
      SequenceNumber: records,
      Offset: String(records * 400),
      EnqueuedTimeUtc: formatEnqueuedTimeUtc(new Date(event.ts_ms)),
      SystemProperties: { 'x-opt-sequence-number': records, 'x-opt-partition-key': keyOf(event) },
      Properties: {},
      Body: Buffer.from(JSON.stringify(event)),
    });
    records++;
    pending.push(encoded);
    pendingBytes += encoded.length;
    if (pendingBytes >= 1024 * 1024) {
      const block = await encoder.block(pending);
      await put(block);
      bytes += block.length;
      pending = [];
      pendingBytes = 0;
      if (bytes >= targetBytes) break;
    }
  }
  await new Promise<void>((resolve) => out.end(resolve));
  return records;
}

async function read(file: string, lean: boolean): Promise<void> {
  const started = performance.now();
  let records = 0;
  let bodyBytes = 0;
  const source = fs.createReadStream(file, { highWaterMark: 256 * 1024 });
  const blocks = lean
    ? readCaptureBlocksWithoutProperties(source, { file })
    : readCaptureBlocks(source, { file });
  for await (const block of blocks) {
    for (const record of block.records) bodyBytes += record.Body?.length ?? 0;
    records += block.records.length;
  }
  const seconds = (performance.now() - started) / 1000;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  console.log(
    JSON.stringify({
      mode: lean ? 'without maps' : 'full record',
      records,
      bodyMb: +(bodyBytes / 1048576).toFixed(1),
      seconds: +seconds.toFixed(2),
      recordsPerSecond: Math.round(records / seconds),
      peakRssMb: Math.round(peakRssMb),
    }),
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mb: { type: 'string' },
      codec: { type: 'string' },
      read: { type: 'string' },
      lean: { type: 'boolean' },
    },
  });
  if (values.read) return read(values.read, Boolean(values.lean));
  const mb = Number(values.mb ?? 500);
  const codec = (values.codec ?? 'null') as CaptureCodec;
  const dir = path.resolve('.local', 'bench');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `capture-${mb}mb-${codec}.avro`);
  if (!fs.existsSync(file)) {
    const records = await write(file, mb * 1048576, codec);
    console.log(
      `wrote ${file}: ${(fs.statSync(file).size / 1048576).toFixed(0)} MB, ${records} records, codec ${codec}`,
    );
  }
  for (const lean of [false, true]) {
    const args = [__filename, '--read', file, ...(lean ? ['--lean'] : [])];
    const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
    if (result.status !== 0) throw new Error(`reader exited with ${result.status}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
