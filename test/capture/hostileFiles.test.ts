import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import fc from 'fast-check';
import {
  CaptureFileError,
  CaptureFileErrorKind,
  MAX_BLOCK_BYTES,
  PART_RECORDS,
  readCaptureBlocksWithoutProperties,
  readCaptureRecords,
  summarizeCaptureFile,
} from '../../lib/capture/captureFileReader';
import { CapturePathFormat } from '../../lib/capture/capturePath';
import { captureType, minEncodedBytes } from '../../lib/capture/schema';
import { JobRunner, JobTaskError } from '../../lib/databricks/jobRunner';
import { Run } from '../../lib/databricks/jobsApi';
import { BronzeDecoder } from '../../lib/lakehouse/bronzeDecoder';
import { lakehouseJobDefinition } from '../../lib/lakehouse/lakehouseJob';
import { Ledger, LedgerFile } from '../../lib/ledger/ledger';
import { LocalJobRuns } from '../../lib/local/localJobRuns';
import { recordCaptureFile } from '../../lib/pipeline/captureRecording';
import { runOutcome } from '../../lib/pipeline/pipelineActions';
import { CAPTURE_FIXTURES, OTHER_WRITER_SCHEMA, expectedCaptureRecords } from '../support/fixtures';
import { eventually } from '../support/pipelineFixtures';

const NULL_FILE = 'ordersns/orders/0/2026/11/24/09/16/48.avro';
const DEFLATE_FILE = 'ordersns/orders/1/2026/11/24/09/16/48.avro';
const EMPTY_FILE = 'ordersns/orders/2/2026/11/24/09/16/48.avro';
const FIXTURES = [NULL_FILE, DEFLATE_FILE, EMPTY_FILE];
const KINDS: CaptureFileErrorKind[] = ['truncated', 'corrupt', 'unsupported', 'oversized'];
const fixture = (file: string): Buffer => fs.readFileSync(path.join(CAPTURE_FIXTURES, file));

/** Avro's zig-zag varint `long`, for any count or size a hostile file may claim. */
function avroLong(value: number | bigint): Buffer {
  const n = BigInt(value);
  let v = n >= 0n ? n * 2n : -n * 2n - 1n;
  const bytes: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v > 0n);
  return Buffer.from(bytes);
}

interface Layout {
  /** The header, up to and including its sync marker. */
  header: Buffer;
  sync: Buffer;
  blocks: { offset: number; count: number; size: number; data: Buffer; end: number }[];
}

/** A container file's structure, read here independently of the reader under test. */
function layoutOf(bytes: Buffer): Layout {
  let pos = 4;
  const long = (): number => {
    let result = 0;
    let multiplier = 1;
    for (;;) {
      const byte = bytes[pos++];
      result += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      multiplier *= 128;
    }
  };
  for (let n = long(); n !== 0; n = long()) {
    if (n < 0) long();
    for (let i = 0; i < Math.abs(n) * 2; i++) {
      const length = long();
      pos += length;
    }
  }
  const sync = bytes.subarray(pos, pos + 16);
  pos += 16;
  const header = bytes.subarray(0, pos);
  const blocks: Layout['blocks'] = [];
  while (pos < bytes.length) {
    const offset = pos;
    const count = long();
    const size = long();
    const data = bytes.subarray(pos, pos + size);
    pos += size + 16;
    blocks.push({ offset, count, size, data, end: pos });
  }
  return { header, sync, blocks };
}

function block(
  count: number | bigint,
  data: Buffer,
  sync: Buffer,
  size: number | bigint = data.length,
): Buffer {
  return Buffer.concat([avroLong(count), avroLong(size), data, sync]);
}

/** A fixture's header (and so its codec and sync marker) followed by the given blocks. */
function fileWith(file: string, blocks: (sync: Buffer) => Buffer[]): Buffer {
  const { header, sync } = layoutOf(fixture(file));
  return Buffer.concat([header, ...blocks(sync)]);
}

async function* chunks(bytes: Buffer, size = 4096): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

async function settle<T>(work: () => Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * A failure must be a CaptureFileError with a kind, an offset inside the file, and the file's name.
 * Plain checks, not expect(): this runs for thousands of cases.
 */
function expectTyped(error: unknown, file: string, length: number): asserts error is CaptureFileError {
  if (!(error instanceof CaptureFileError)) {
    throw new Error(`${file}: expected a CaptureFileError, got ${String(error)}`, { cause: error });
  }
  const { kind, offset, message } = error;
  if (
    !KINDS.includes(kind) ||
    !(Number.isSafeInteger(offset) && offset >= 0 && offset <= length) ||
    !message.startsWith(`${file}: ${kind} Capture file at byte ${offset}: `)
  ) {
    throw new Error(`not a well-formed CaptureFileError for a file of ${length} bytes: ${message}`);
  }
}

const slowest = { ms: 0 };

/**
 * Reads a (perhaps hostile) file three ways: the trigger's summary, the bronze fast path and the
 * full decode. Every failure is typed; a decode that succeeds agrees with the summary's count and
 * with the other decode.
 */
async function readThreeWays(bytes: Buffer, file = 'hostile.avro') {
  const started = performance.now();
  const summary = await settle(() => summarizeCaptureFile(chunks(bytes), { file }));
  const lean = await settle(async () =>
    (await collect(readCaptureBlocksWithoutProperties(chunks(bytes), { file }))).flatMap((b) => b.records),
  );
  const full = await settle(() => collect(readCaptureRecords(chunks(bytes), { file })));
  slowest.ms = Math.max(slowest.ms, performance.now() - started);
  for (const outcome of [summary, lean, full])
    if (!outcome.ok) expectTyped(outcome.error, file, bytes.length);
  // The summary reads the same structure the decoders do, and checks less.
  if (!summary.ok && (lean.ok || full.ok)) throw new Error('a file the summary refuses decoded');
  for (const decoded of [lean, full]) {
    if (decoded.ok && !(summary.ok && summary.value.records === decoded.value.length)) {
      throw new Error(`decoded ${decoded.value.length} records, the summary says ${JSON.stringify(summary)}`);
    }
  }
  if (lean.ok && full.ok) {
    const fields = (r: {
      SequenceNumber: number;
      Offset: string;
      EnqueuedTimeUtc: string;
      Body: Buffer | null;
    }) => [r.SequenceNumber, r.Offset, r.EnqueuedTimeUtc, r.Body?.toString('base64')] as const;
    expect(lean.value.map(fields)).toEqual(full.value.map(fields));
  }
  return { summary, lean, full };
}

function expectedBodies(file: string, records?: number): string[] {
  return expectedCaptureRecords()
    .filter((r) => r.file === file)
    .slice(0, records)
    .map((r) => r.Body);
}

/** Peak RSS growth across `work`, in MB. */
async function peakRssGrowthMb(work: () => Promise<void>): Promise<number> {
  const before = process.resourceUsage().maxRSS;
  await work();
  return (process.resourceUsage().maxRSS - before) / 1024;
}

describe('Capture files that lie about their record count', () => {
  it('derives the fewest bytes of a record from the schema: 6 for EventData', () => {
    expect(minEncodedBytes(captureType())).toBe(6);
    // Other writers' EventData (maps of strings, a plain bytes Body) take 6 too; a float takes 4.
    const other = captureType({
      ...OTHER_WRITER_SCHEMA,
      fields: [
        ...OTHER_WRITER_SCHEMA.fields,
        { name: 'Extra', type: ['null', 'float'] },
        { name: 'Fixed', type: { type: 'fixed', name: 'F', size: 3 } },
      ],
    });
    expect(minEncodedBytes(other)).toBe(6 + 1 + 3);
  });

  it.each([
    ['null', NULL_FILE],
    ['deflate', DEFLATE_FILE],
  ])(
    'refuses a block claiming 2^50 records in 30 bytes (codec %s), in the summary and the decoders, at its offset',
    async (codec, file) => {
      const data = codec === 'deflate' ? zlib.deflateRawSync(Buffer.alloc(30)) : Buffer.alloc(30);
      const liar = fileWith(file, (sync) => [block(2 ** 50, data, sync)]);
      const offset = layoutOf(fixture(file)).header.length;
      const { summary, lean, full } = await readThreeWays(liar, 'liar.avro');
      for (const outcome of [summary, lean, full]) {
        expect(outcome.ok).toBe(false);
        expect((outcome as { error: CaptureFileError }).error).toMatchObject({ kind: 'corrupt', offset });
      }
      expect((summary as { error: Error }).error.message).toMatch(
        /block header says 1125899906842624 records in \d+ bytes.*, which hold at most \d+ \(a record takes at least 6 bytes\)/,
      );
    },
  );

  it('bounds the count exactly: 5 empty records fit in 30 bytes, 6 do not', async () => {
    const fits = await readThreeWays(fileWith(NULL_FILE, (sync) => [block(5, Buffer.alloc(30), sync)]));
    expect(fits.summary).toMatchObject({ ok: true, value: { records: 5 } });
    expect(fits.full).toMatchObject({ ok: true });
    const over = await readThreeWays(fileWith(NULL_FILE, (sync) => [block(6, Buffer.alloc(30), sync)]));
    expect(over.summary).toMatchObject({ ok: false, error: { kind: 'corrupt' } });
  });

  it('has the capture trigger dead-letter such a file before any run, with no records counted', async () => {
    const liar = fileWith(NULL_FILE, (sync) => [block(2 ** 50, Buffer.alloc(30), sync)]);
    const inserted: LedgerFile[] = [];
    const ledger = {
      get: async () => undefined,
      insert: async (row: LedgerFile) => {
        inserted.push(row);
        return 'inserted' as const;
      },
    } as unknown as Ledger;
    const signal = jest.fn(async () => undefined);
    const outcome = await recordCaptureFile(
      {
        path: NULL_FILE,
        url: `http://127.0.0.1/capture/${NULL_FILE}`,
        bytes: liar.length,
        createdAt: new Date(),
        content: () => chunks(liar),
      },
      { ledger, pathFormat: new CapturePathFormat(), signal },
    );
    expect(outcome).toBe('deadLettered');
    expect(inserted).toEqual([
      expect.objectContaining({
        state: 'deadLettered',
        records: 0,
        error: expect.stringMatching(
          /corrupt Capture file at byte \d+: block header says 1125899906842624 records/,
        ),
      }),
    ]);
    expect(signal).not.toHaveBeenCalled();
  });
});

describe('deflate bombs and oversized blocks', () => {
  it('stops inflating a block at MAX_BLOCK_BYTES and reports it as oversized at its offset', async () => {
    // 64 MiB and 1 KiB of zeros deflate to about 65 KB: one record's worth claimed.
    const bomb = fileWith(DEFLATE_FILE, (sync) => [
      block(1, zlib.deflateRawSync(Buffer.alloc(MAX_BLOCK_BYTES + 1024)), sync),
    ]);
    const offset = layoutOf(fixture(DEFLATE_FILE)).header.length;
    let outcome: Awaited<ReturnType<typeof readThreeWays>> | undefined;
    const growth = await peakRssGrowthMb(async () => {
      outcome = await readThreeWays(bomb, 'bomb.avro');
    });
    // The summary does not inflate; each decoder stops at the limit.
    expect(outcome!.summary).toMatchObject({ ok: true, value: { records: 1 } });
    for (const decoded of [outcome!.lean, outcome!.full]) {
      expect(decoded).toMatchObject({ ok: false, error: { kind: 'oversized', offset } });
    }
    expect((outcome!.full as { error: Error }).error.message).toMatch(
      /inflates past the limit of 67108864 bytes/,
    );
    expect(growth).toBeLessThan(400);
  });

  it('refuses a stored block over MAX_BLOCK_BYTES before reading it', async () => {
    const oversized = fileWith(NULL_FILE, (sync) => [block(1, Buffer.alloc(30), sync, MAX_BLOCK_BYTES + 1)]);
    const { summary, full } = await readThreeWays(oversized);
    expect(summary).toMatchObject({ ok: false, error: { kind: 'oversized' } });
    expect(full).toMatchObject({ ok: false, error: { kind: 'oversized' } });
  });

  it('hands a block of many minimal records over in parts of at most PART_RECORDS', async () => {
    const count = 3 * PART_RECORDS + 5;
    const dense = fileWith(DEFLATE_FILE, (sync) => [
      block(count, zlib.deflateRawSync(Buffer.alloc(count * 6)), sync),
    ]);
    const parts = await collect(readCaptureBlocksWithoutProperties(chunks(dense), { file: 'dense.avro' }));
    expect(parts.map((p) => p.records.length)).toEqual([PART_RECORDS, PART_RECORDS, PART_RECORDS, 5]);
    expect(new Set(parts.map((p) => p.offset)).size).toBe(1);
    expect(parts[3].records[4]).toEqual({ SequenceNumber: 0, Offset: '', EnqueuedTimeUtc: '', Body: null });
  });
});

describe('damaged maps', () => {
  // One record whose SystemProperties map claims what its bytes cannot hold. avsc loops over a map's
  // stated count, reading past the buffer, and skips a block backwards by a negative size.
  const record = (map: Buffer) =>
    Buffer.concat([avroLong(7), avroLong(1), Buffer.from('7'), avroLong(0), map]);
  const cases: [string, Buffer][] = [
    ['a map claiming 2^40 entries in a few bytes', record(avroLong(2 ** 40))],
    // Count -1 with a byte size of -2: skipping it jumps back onto its own count, for ever.
    ['a map block whose byte size jumps backwards', record(Buffer.concat([avroLong(-1), avroLong(-2)]))],
  ];

  it.each(cases)('refuses %s at once, in the bronze decode worker', async (_, data) => {
    const file = fileWith(NULL_FILE, (sync) => [block(1, data, sync)]);
    const decoder = new BronzeDecoder();
    expect(decoder.inWorker).toBe(true);
    try {
      // In the worker, a decoder that loops forever shows as a deadline missed, not a hung test.
      const decoding = decoder.decode('map.avro', chunks(file), () => undefined);
      const deadline = new Promise((resolve) =>
        setTimeout(() => resolve('still decoding after 10 s'), 10_000),
      );
      const outcome = await Promise.race([
        decoding.then(
          () => 'decoded',
          (error: unknown) => error,
        ),
        deadline,
      ]);
      expect(outcome).toBeInstanceOf(CaptureFileError);
      expect(outcome).toMatchObject({ kind: 'corrupt', offset: layoutOf(fixture(NULL_FILE)).header.length });
    } finally {
      await decoder.close();
    }
    // And on this thread, by every reader.
    const { summary, lean, full } = await readThreeWays(file);
    expect(summary).toMatchObject({ ok: true, value: { records: 1 } });
    expect(lean).toMatchObject({ ok: false, error: { kind: 'corrupt' } });
    expect(full).toMatchObject({ ok: false, error: { kind: 'corrupt' } });
  });
});

describe('fuzzing the real fixtures', () => {
  const files = FIXTURES.map((file) => ({ file, bytes: fixture(file), layout: layoutOf(fixture(file)) }));
  beforeEach(() => (slowest.ms = 0));
  afterEach(() => expect(slowest.ms).toBeLessThan(2000));

  it('reads each fixture unchanged exactly', async () => {
    for (const { file, bytes } of files) {
      const { full } = await readThreeWays(bytes);
      expect(full.ok && full.value.map((r) => r.Body?.toString('utf8'))).toEqual(expectedBodies(file));
    }
  });

  it('flips every byte of every fixture: a typed error or a consistent result, in bounded memory', async () => {
    const growth = await peakRssGrowthMb(async () => {
      for (const { bytes } of files) {
        // Every byte of the headers (magic, codec, schema, sync marker) and of the deflate file (what
        // Capture writes); the null file's 19 KB of plain records every 31st byte (they are alike:
        // strings, varints, maps), which keeps this to seconds.
        const stride = bytes.length > 10_000 ? 31 : 1;
        for (let i = 0; i < bytes.length; i += i < 600 ? 1 : stride) {
          const mutated = Buffer.from(bytes);
          mutated[i] ^= 0xff;
          await readThreeWays(mutated);
        }
      }
    });
    expect(growth).toBeLessThan(256);
  });

  it('writes random bytes at random places', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...files),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        async ({ bytes }, writes) => {
          const mutated = Buffer.from(bytes);
          for (const [at, value] of writes) mutated[at % mutated.length] = value;
          await readThreeWays(mutated);
        },
      ),
      { numRuns: 600 },
    );
  });

  it('truncates at every block boundary and near it: truncated, or exactly the blocks before', async () => {
    for (const { file, bytes, layout } of files) {
      const ends = [layout.header.length, ...layout.blocks.map((b) => b.end)];
      for (const end of ends) {
        for (const cut of [end - 17, end - 16, end - 1, end, end + 1, end + 2]) {
          if (cut <= 0 || cut > bytes.length) continue;
          const { summary, full } = await readThreeWays(bytes.subarray(0, cut));
          const whole = layout.blocks.filter((b) => b.end <= cut);
          if (ends.includes(cut)) {
            // A file cut exactly after a block is a shorter valid file: the records of its blocks.
            const records = whole.reduce((n, b) => n + b.count, 0);
            expect(summary).toMatchObject({ ok: true, value: { records, blocks: whole.length } });
            expect(full.ok && full.value.map((r) => r.Body?.toString('utf8'))).toEqual(
              expectedBodies(file, records),
            );
          } else {
            expect(summary).toMatchObject({ ok: false, error: { kind: 'truncated' } });
          }
        }
      }
    }
  });

  it('inflates and shrinks block counts and sizes: refused with a typed error unless unchanged', async () => {
    const withBlocks = files.filter((f) => f.layout.blocks.length > 0);
    const huge = fc.oneof(
      fc.constant(2 ** 50),
      fc.constant(Number.MAX_SAFE_INTEGER),
      fc.integer({ min: 2 ** 31, max: 2 ** 53 }),
      fc.constant(MAX_BLOCK_BYTES + 1),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...withBlocks),
        fc.nat(),
        fc.oneof(fc.integer({ min: -3, max: 3 }), fc.integer({ min: -1000, max: 100_000 }), huge),
        fc.oneof(fc.constant(0), fc.integer({ min: -64, max: 64 }), huge),
        async ({ bytes, layout }, which, countChange, sizeChange) => {
          const target = layout.blocks[which % layout.blocks.length];
          const count = countChange > 2 ** 31 ? countChange : Math.max(0, target.count + countChange);
          const size = sizeChange > 2 ** 31 ? sizeChange : Math.max(0, target.size + sizeChange);
          const mutated = Buffer.concat([
            bytes.subarray(0, target.offset),
            avroLong(count),
            avroLong(size),
            bytes.subarray(target.end - 16 - target.size),
          ]);
          const { summary, lean, full } = await readThreeWays(mutated);
          if (count === target.count && size === target.size) {
            expect(full.ok && full.value.length).toBe(layout.blocks.reduce((n, b) => n + b.count, 0));
          } else {
            expect([lean.ok, full.ok]).toEqual([false, false]);
            if (count > 2 ** 31 || size > MAX_BLOCK_BYTES) expect(summary.ok).toBe(false);
          }
        },
      ),
      { numRuns: 600 },
    );
  });
});

describe('local runs that never end', () => {
  /** Runs whose job hangs: one that stops when told to, one that ignores its signal. */
  class HangingRunner implements JobRunner {
    readonly taskKeys = ['bronze', 'silver', 'gold'];
    readonly started: string[] = [];

    constructor(private readonly heedsSignal: (batchId: string) => boolean) {}

    run(parameters: Record<string, string>, { signal }: { signal: AbortSignal }): Promise<void> {
      this.started.push(parameters.batch_id);
      if (parameters.batch_id === 'fine') return Promise.resolve();
      return new Promise<void>((_, reject) => {
        if (!this.heedsSignal(parameters.batch_id)) return;
        signal.addEventListener('abort', () =>
          reject(new JobTaskError('bronze', String((signal.reason as Error).message))),
        );
      });
    }
  }

  it.each([
    ['stops when told to', true, /^Run timed out after 0\.3 seconds \(LOCAL_RUN_TIMEOUT_MINUTES\)\.$/],
    [
      'ignores its signal',
      false,
      /^Run timed out after 0\.3 seconds .* The job did not stop within 0\.3 seconds\.$/,
    ],
  ])('ends a run whose job %s TIMEDOUT, and starts the run queued behind it', async (_, heeds, message) => {
    const runner = new HangingRunner(() => heeds);
    const runs = new LocalJobRuns({
      job: lakehouseJobDefinition(7),
      runner,
      runPageUrl: (id) => `http://local/run/${id}`,
      runTimeoutMs: 300,
    });
    const stuck = runs.submit({ batch_id: 'stuck', manifest_path: 'm' });
    const next = runs.submit({ batch_id: 'fine', manifest_path: 'm' });
    await eventually(
      'the next run done',
      async () => runs.get(next)!.state.life_cycle_state === 'TERMINATED',
      10_000,
    );
    const run: Run = runs.get(stuck)!;
    expect(run.state).toMatchObject({
      life_cycle_state: 'TERMINATED',
      result_state: 'TIMEDOUT',
      user_cancelled_or_timedout: true,
      state_message: expect.stringMatching(message),
    });
    expect(run.status?.termination_details).toMatchObject({ code: 'CANCELED', type: 'CLIENT_ERROR' });
    expect(run.tasks!.map((t) => t.state!.result_state)).toEqual([
      'TIMEDOUT',
      'UPSTREAM_FAILED',
      'UPSTREAM_FAILED',
    ]);
    // The orchestration counts it against the batch, so a file that hangs runs is isolated.
    expect(runOutcome(run)).toMatchObject({ kind: 'failed', notTheBatch: false });
    expect(runs.get(next)!.state.result_state).toBe('SUCCESS');
    expect(runner.started).toEqual(['stuck', 'fine']);
    await runs.close(new Error('test over'));
  });
});
