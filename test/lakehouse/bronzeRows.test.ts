import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { CaptureFileError } from '../../lib/capture/captureFileReader';
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
