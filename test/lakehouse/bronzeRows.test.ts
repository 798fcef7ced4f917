import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { CaptureFileError, MAX_BLOCK_BYTES } from '../../lib/capture/captureFileReader';
import { parseJsonText } from '../../lib/cdc/jsonText';
import { encodeCaptureFile } from '../../lib/capture/captureFileWriter';
import { BronzeDecoder } from '../../lib/lakehouse/bronzeDecoder';
import { BronzeColumns, isStrictJson } from '../../lib/lakehouse/bronzeRows';
import { CAPTURE_FIXTURES } from '../support/fixtures';

describe('isStrictJson', () => {
  // What DuckDB's JSON reader accepts beyond RFC 8259, found on DuckDB 1.5: the reason for the check.
  const lenient = [
    '{"a":1,}',
    '{"a":[1,]}',
    '{"a":1 , }',
    '{"a":NaN}',
    '{"a":nan}',
    '{"a":inf}',
    '{"a":-Infinity}',
  ];

  it('refuses what DuckDB would take leniently, and DuckDB does take it', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      for (const text of lenient) {
        expect(isStrictJson(text)).toBe(false);
        const reader = await connection.runAndReadAll('SELECT json_valid($1) AS valid', [text]);
        expect(reader.getRowObjects()[0].valid).toBe(true);
      }
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });

  it('with DuckDB, accepts exactly the strict JSON the validator accepts', async () => {
    const exact = (text: string): boolean => {
      try {
        parseJsonText(text);
        return true;
      } catch {
        return false;
      }
    };
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.json(),
            fc.string(),
            fc.json().map((t) => t.replace(/}$/, ',}')),
            fc.json().map((t) => t.replace(/\d+/, 'NaN')),
            fc.constantFrom('"Infant"', '{"name":"nanny"}', '"\\u0041"', '"\\ud800"', '"\\ud83d\\ude00"'),
          ),
          async (text) => {
            const reader = await connection.runAndReadAll('SELECT json_valid($1) AS valid', [text]);
            const duckdb = reader.getRowObjects()[0].valid === true;
            // The loader's verdict combined with DuckDB's own is the validator's (lib/cdc/jsonText.ts).
            expect(isStrictJson(text) && duckdb).toBe(exact(text));
          },
        ),
        { numRuns: 1500 },
      );
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});

describe('BronzeDecoder', () => {
  const file = 'ordersns/orders/1/2026/11/24/09/16/48.avro';
  const bytes = fs.readFileSync(path.join(CAPTURE_FIXTURES, file));

  async function decode(
    decoder: BronzeDecoder,
    data: Buffer,
  ): Promise<{ records: number; columns: BronzeColumns[] }> {
    const columns: BronzeColumns[] = [];
    const chunks = Array.from({ length: Math.ceil(data.length / 100) }, (_, i) =>
      data.subarray(i * 100, i * 100 + 100),
    );
    const records = await decoder.decode(file, Readable.from(chunks), (c) => columns.push(c));
    return { records, columns };
  }

  it('decodes in a worker thread (from the build) exactly as on this thread', async () => {
    const worker = new BronzeDecoder();
    expect(worker.inWorker).toBe(true);
    const inThread = new BronzeDecoder({ worker: false });
    try {
      const a = await decode(worker, bytes);
      const b = await decode(inThread, bytes);
      expect(a.records).toBe(40);
      expect(a).toEqual(b);
      expect(a.columns.flatMap((c) => c.isJson)).toEqual(new Array(40).fill(true));
      // The decoder serves file after file.
      expect((await decode(worker, bytes)).records).toBe(40);
    } finally {
      await worker.close();
      await inThread.close();
    }
  });

  it('reports a corrupt file from the worker as a CaptureFileError with its file and offset', async () => {
    const decoder = new BronzeDecoder();
    try {
      const truncated = Buffer.from(bytes.subarray(0, bytes.length - 40));
      const failure = decode(decoder, truncated);
      await expect(failure).rejects.toBeInstanceOf(CaptureFileError);
      await expect(failure).rejects.toMatchObject({ file, kind: 'truncated' });
      expect((await decode(decoder, bytes)).records).toBe(40);
    } finally {
      await decoder.close();
    }
  });

  /** All of the file but its last byte, then nothing until released: a decode left in flight. */
  function stalled(data: Buffer): { source: AsyncIterable<Buffer>; release: () => void } {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    async function* source(): AsyncGenerator<Buffer> {
      yield data.subarray(0, data.length - 1);
      await released;
    }
    return { source: source(), release };
  }

  /** What a promise comes to within `ms`: its value, its error, or 'pending'. */
  function within<T>(promise: Promise<T>, ms: number): Promise<T | unknown> {
    return Promise.race([
      promise.catch((error: unknown) => error),
      new Promise((resolve) => setTimeout(() => resolve('pending'), ms)),
    ]);
  }

  it('fails the file in flight at once when its worker dies, naming it, and decodes the next with a new worker', async () => {
    const decoder = new BronzeDecoder();
    const { source, release } = stalled(bytes);
    try {
      const columns: BronzeColumns[] = [];
      const inFlight = decoder.decode(file, source, (c) => columns.push(c));
      // Mid-decode: the worker has handed over the blocks it has, and waits for the rest.
      while (columns.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      const started = Date.now();
      await decoder.close(); // terminates the worker thread, as a crash would end it
      const outcome = await within(inFlight, 5000);
      expect(outcome).toBeInstanceOf(Error);
      expect((outcome as Error).message).toMatch(
        /^ordersns\/orders\/1\/2026\/11\/24\/09\/16\/48\.avro: the bronze decode worker stopped \(exit code \d+\) while decoding it/,
      );
      expect(Date.now() - started).toBeLessThan(2000);
      expect(decoder.inWorker).toBe(true);
      expect((await decode(decoder, bytes)).records).toBe(40);
    } finally {
      release();
      await decoder.close();
    }
  });

  it('stops a decode at once when its signal aborts, even with its source stalled, and decodes the next', async () => {
    const decoder = new BronzeDecoder();
    const { source, release } = stalled(bytes);
    try {
      const controller = new AbortController();
      const inFlight = decoder.decode(file, source, () => undefined, controller.signal);
      await new Promise((resolve) => setTimeout(resolve, 50));
      controller.abort(new Error('run cancelled'));
      expect(await within(inFlight, 2000)).toEqual(new Error('run cancelled'));
      expect((await decode(decoder, bytes)).records).toBe(40);
    } finally {
      release();
      await decoder.close();
    }
  });

  it('reports a deflate bomb from the worker as an oversized CaptureFileError at its block', async () => {
    const decoder = new BronzeDecoder();
    try {
      // A header-only Capture file (deflate), then one block claiming 1 record that inflates past
      // the limit.
      const header = fs.readFileSync(
        path.join(CAPTURE_FIXTURES, 'ordersns/orders/2/2026/11/24/09/16/48.avro'),
      );
      const sync = header.subarray(header.length - 16);
      const deflated = zlib.deflateRawSync(Buffer.alloc(MAX_BLOCK_BYTES + 1024));
      const long = (n: number) => Buffer.from(avroLongBytes(n));
      const bomb = Buffer.concat([header, long(1), long(deflated.length), deflated, sync]);
      const failure = decode(decoder, bomb);
      await expect(failure).rejects.toBeInstanceOf(CaptureFileError);
      await expect(failure).rejects.toMatchObject({ file, kind: 'oversized', offset: header.length });
      expect((await decode(decoder, bytes)).records).toBe(40);
    } finally {
      await decoder.close();
    }
  });

  it('decodes large files with many blocks in order', async () => {
    const records = Array.from({ length: 5000 }, (_, i) => ({
      SequenceNumber: i,
      Offset: String(i),
      EnqueuedTimeUtc: '11/24/2026 9:16:48 AM',
      SystemProperties: {},
      Properties: {},
      Body: Buffer.from(JSON.stringify({ i })),
    }));
    const big = await encodeCaptureFile(records, { recordsPerBlock: 300 });
    const decoder = new BronzeDecoder();
    try {
      const { records: n, columns } = await decode(decoder, big);
      expect(n).toBe(5000);
      expect(columns.flatMap((c) => c.sequenceNumbers)).toEqual(records.map((r) => r.SequenceNumber));
    } finally {
      await decoder.close();
    }
  });
});

/** Avro's zig-zag varint of a non-negative safe integer. */
function avroLongBytes(n: number): number[] {
  let v = n * 2;
  const bytes: number[] = [];
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) byte |= 0x80;
    bytes.push(byte);
  } while (v > 0);
  return bytes;
}
