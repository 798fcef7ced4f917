import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  CaptureFileError,
  readCaptureBlocksWithoutProperties,
  readCaptureRecords,
  summarizeCaptureFile,
} from '../../lib/capture/captureFileReader';
import { encodeCaptureFile } from '../../lib/capture/captureFileWriter';
import { CaptureCodec, CapturePropertyValue, CaptureRecord } from '../../lib/capture/schema';
import { CAPTURE_FIXTURES, OTHER_WRITER_SCHEMA, expectedCaptureRecords } from '../support/fixtures';

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** Feeds a buffer in small uneven chunks, as a network stream would. */
function chunked(buffer: Buffer, size = 7): AsyncIterable<Buffer> {
  const chunks: Buffer[] = [];
  for (let i = 0; i < buffer.length; i += size) chunks.push(buffer.subarray(i, i + size));
  return Readable.from(chunks);
}

function asExpected(value: CapturePropertyValue): unknown {
  return Buffer.isBuffer(value) ? { base64: value.toString('base64') } : value;
}

function sampleRecords(n: number): CaptureRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    SequenceNumber: 1000 + i,
    Offset: String(i * 500),
    EnqueuedTimeUtc: '11/24/2026 9:16:48 AM',
    SystemProperties: { 'x-opt-sequence-number': 1000 + i, 'x-opt-partition-key': `T${i}` },
    Properties: { source: 'test', ratio: 0.25, raw: Buffer.from([1, 2, 3]), none: null },
    Body: i % 10 === 9 ? null : Buffer.from(JSON.stringify({ i })),
  }));
}

describe('Capture fixtures (real on-disk form)', () => {
  const expected = expectedCaptureRecords();
  const files = [...new Set(expected.map((r) => r.file))].concat(
    'ordersns/orders/2/2026/11/24/09/16/48.avro',
  );

  it.each(files)('decodes %s exactly', async (file) => {
    const records = await collect(
      readCaptureRecords(chunked(fs.readFileSync(path.join(CAPTURE_FIXTURES, file))), { file }),
    );
    const want = expected.filter((r) => r.file === file);
    expect(records).toHaveLength(want.length);
    records.forEach((record, i) => {
      expect({
        file,
        record_index: i,
        SequenceNumber: record.SequenceNumber,
        Offset: record.Offset,
        EnqueuedTimeUtc: record.EnqueuedTimeUtc,
        SystemProperties: Object.fromEntries(
          Object.entries(record.SystemProperties).map(([k, v]) => [k, asExpected(v)]),
        ),
        Properties: Object.fromEntries(Object.entries(record.Properties).map(([k, v]) => [k, asExpected(v)])),
        Body: record.Body?.toString('utf8'),
      }).toEqual(want[i]);
    });
  });

  it('reads the fixtures without their maps on the fast path', async () => {
    const file = 'ordersns/orders/1/2026/11/24/09/16/48.avro';
    const blocks = await collect(
      readCaptureBlocksWithoutProperties(fs.createReadStream(path.join(CAPTURE_FIXTURES, file)), { file }),
    );
    const records = blocks.flatMap((b) => b.records);
    const want = expected.filter((r) => r.file === file);
    expect(records.map((r) => [r.SequenceNumber, r.Body?.toString()])).toEqual(
      want.map((r) => [r.SequenceNumber, r.Body]),
    );
    expect(records[0]).not.toHaveProperty('Properties');
  });
});

describe('Capture file round trip', () => {
  it.each<CaptureCodec>(['null', 'deflate'])('writes and reads back with codec %s', async (codec) => {
    const records = sampleRecords(2500);
    const file = await encodeCaptureFile(records, { codec, recordsPerBlock: 300 });
    const read = await collect(readCaptureRecords(chunked(file, 1000), { file: 'round-trip.avro' }));
    expect(read).toEqual(records);
  });

  it('writes a header-only file for no records, which reads as empty', async () => {
    const file = await encodeCaptureFile([], { codec: 'deflate' });
    expect(await collect(readCaptureRecords(chunked(file), { file: 'empty.avro' }))).toEqual([]);
  });
});

describe('Capture reader errors', () => {
  let file: Buffer;
  beforeAll(async () => {
    file = await encodeCaptureFile(sampleRecords(200), { codec: 'deflate', recordsPerBlock: 50 });
  });

  async function failure(buffer: Buffer): Promise<CaptureFileError> {
    try {
      await collect(readCaptureRecords(chunked(buffer, 64), { file: 'bad/file.avro' }));
    } catch (error) {
      return error as CaptureFileError;
    }
    throw new Error('expected the read to fail');
  }

  it('names the file and offset of a truncated file', async () => {
    const error = await failure(file.subarray(0, file.length - 30));
    expect(error).toBeInstanceOf(CaptureFileError);
    expect(error.kind).toBe('truncated');
    expect(error.file).toBe('bad/file.avro');
    expect(error.offset).toBeGreaterThan(0);
    expect(error.message).toMatch(/^bad\/file\.avro: truncated Capture file at byte \d+/);
  });

  it('rejects a file that is not Avro', async () => {
    const error = await failure(Buffer.from('{"not":"avro"}'));
    expect(error.kind).toBe('corrupt');
    expect(error.offset).toBe(0);
  });

  it('detects a damaged sync marker', async () => {
    const damaged = Buffer.from(file);
    damaged[damaged.length - 1] ^= 0xff;
    const error = await failure(damaged);
    expect(error.kind).toBe('corrupt');
    expect(error.offset).toBe(file.length - 16);
  });

  it('detects damaged compressed data at the offset of its block', async () => {
    const damaged = Buffer.from(file);
    const middle = Math.floor(file.length / 2);
    for (let i = middle; i < middle + 40; i++) damaged[i] ^= 0x5a;
    const error = await failure(damaged);
    expect(error.kind).toBe('corrupt');
    expect(error.offset).toBeLessThanOrEqual(middle);
  });

  it('refuses codecs Capture never writes', async () => {
    const snappy = Buffer.from(file.toString('latin1').replace('deflate', 'snappy!'), 'latin1');
    const error = await failure(snappy);
    expect(error.kind).toBe('unsupported');
  });
});

describe('Capture file summary (block headers only)', () => {
  it('counts the records of every fixture as the decoder does', async () => {
    const expected = expectedCaptureRecords();
    for (const file of new Set(expected.map((r) => r.file))) {
      const buffer = fs.readFileSync(path.join(CAPTURE_FIXTURES, file));
      const summary = await summarizeCaptureFile(chunked(buffer, 100), { file });
      expect({ file, ...summary }).toEqual({
        file,
        records: expected.filter((r) => r.file === file).length,
        blocks: expect.any(Number),
        bytes: buffer.length,
      });
    }
  });

  it('counts blocks without inflating them, and reports a header-only file as empty', async () => {
    const file = await encodeCaptureFile(sampleRecords(120), { codec: 'deflate', recordsPerBlock: 50 });
    expect(await summarizeCaptureFile(chunked(file, 33), { file: 'f' })).toEqual({
      records: 120,
      blocks: 3,
      bytes: file.length,
    });
    const empty = await encodeCaptureFile([], { codec: 'deflate' });
    expect(await summarizeCaptureFile(chunked(empty), { file: 'e' })).toEqual({
      records: 0,
      blocks: 0,
      bytes: empty.length,
    });
  });

  it('rejects truncated files and damaged sync markers with the reader’s errors', async () => {
    const file = await encodeCaptureFile(sampleRecords(100), { codec: 'null', recordsPerBlock: 50 });
    await expect(
      summarizeCaptureFile(chunked(file.subarray(0, file.length - 5)), { file: 't' }),
    ).rejects.toMatchObject({
      kind: 'truncated',
      file: 't',
    });
    const damaged = Buffer.from(file);
    damaged[damaged.length - 1] ^= 0xff;
    await expect(summarizeCaptureFile(chunked(damaged), { file: 'd' })).rejects.toMatchObject({
      kind: 'corrupt',
      offset: file.length - 16,
    });
  });
});

describe('Capture files from other writers', () => {
  it('reads a header whose maps are not unions and whose Body is plain bytes', async () => {
    const avro = (await import('avsc')).default;
    const schema = OTHER_WRITER_SCHEMA;
    const encoder = new avro.streams.BlockEncoder(avro.Type.forSchema(schema as never), { codec: 'deflate' });
    const chunks: Buffer[] = [];
    encoder.on('data', (chunk: Buffer) => chunks.push(chunk));
    const done = new Promise((resolve) => encoder.on('end', resolve));
    const record = {
      SequenceNumber: 7,
      Offset: '99',
      EnqueuedTimeUtc: '11/24/2026 9:16:48 AM',
      SystemProperties: { 'x-opt-partition-key': 'abc' },
      Properties: { source: 'elsewhere' },
      Body: Buffer.from('{}'),
    };
    encoder.end(record);
    await done;
    const records = await collect(readCaptureRecords(chunked(Buffer.concat(chunks)), { file: 'other.avro' }));
    expect(records).toEqual([record]);
  });

  it('refuses an Avro file that is not a Capture file', async () => {
    const avro = (await import('avsc')).default;
    const encoder = new avro.streams.BlockEncoder(
      avro.Type.forSchema({ type: 'record', name: 'X', fields: [] }),
    );
    const chunks: Buffer[] = [];
    encoder.on('data', (chunk: Buffer) => chunks.push(chunk));
    const done = new Promise((resolve) => encoder.on('end', resolve));
    encoder.end({});
    await done;
    await expect(
      collect(readCaptureRecords(chunked(Buffer.concat(chunks)), { file: 'x.avro' })),
    ).rejects.toThrow(
      /x\.avro: unsupported Capture file at byte 4: header schema is not a Capture EventData schema/,
    );
  });
});
