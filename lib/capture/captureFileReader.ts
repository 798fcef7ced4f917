import zlib from 'node:zlib';
import avro from 'avsc';
import { AVRO_MAGIC } from './captureFileWriter';
import {
  CAPTURE_SCHEMA,
  CAPTURE_SCHEMA_WITHOUT_PROPERTIES,
  CaptureRecord,
  CaptureRecordWithoutProperties,
  captureType,
  mapValues,
  unwrapPropertyValue,
} from './schema';
import { errorMessage } from '../errorMessage';

export type CaptureFileErrorKind = 'truncated' | 'corrupt' | 'unsupported';

/** A Capture file that cannot be read, with where in it the problem lies. */
export class CaptureFileError extends Error {
  constructor(
    readonly kind: CaptureFileErrorKind,
    readonly file: string,
    readonly offset: number,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${kind} Capture file at byte ${offset}: ${detail}`, options);
    this.name = 'CaptureFileError';
  }
}

export interface CaptureReadOptions {
  /** Named in errors: the blob path or file path. */
  file: string;
  signal?: AbortSignal;
}

export interface CaptureBlock<R> {
  /** Byte offset of the block in the file. */
  offset: number;
  records: R[];
}

interface Decoding<R> {
  /** Reader schema to resolve the writer's against; undefined to decode with the writer's own. */
  readerSchema?: object;
  convert: (decoded: Record<string, unknown>) => R;
}

type WrappedMap = Parameters<typeof mapValues<Parameters<typeof unwrapPropertyValue>[0], unknown>>[0];

// The full record decodes with the writer's own schema: resolving against ours would turn `bytes`
// values into strings (Avro promotes bytes to string, and string comes first in the union).
const FULL: Decoding<CaptureRecord> = {
  convert: (r) => ({
    SequenceNumber: r.SequenceNumber as number,
    Offset: r.Offset as string,
    EnqueuedTimeUtc: r.EnqueuedTimeUtc as string,
    SystemProperties: mapValues(r.SystemProperties as WrappedMap, unwrapPropertyValue),
    Properties: mapValues(r.Properties as WrappedMap, unwrapPropertyValue),
    Body: r.Body as Buffer | null,
  }),
};

const WITHOUT_PROPERTIES: Decoding<CaptureRecordWithoutProperties> = {
  readerSchema: CAPTURE_SCHEMA_WITHOUT_PROPERTIES,
  convert: (r) => ({
    SequenceNumber: r.SequenceNumber as number,
    Offset: r.Offset as string,
    EnqueuedTimeUtc: r.EnqueuedTimeUtc as string,
    Body: r.Body as Buffer | null,
  }),
};

/** Records of a Capture file, decoded as a stream with the writer schema of the file's header. */
export async function* readCaptureRecords(
  source: AsyncIterable<Uint8Array>,
  options: CaptureReadOptions,
): AsyncGenerator<CaptureRecord> {
  for await (const block of readBlocks(source, options, FULL)) yield* block.records;
}

/** Blocks of records without SystemProperties and Properties (skipped, not decoded): the fast path. */
export function readCaptureBlocksWithoutProperties(
  source: AsyncIterable<Uint8Array>,
  options: CaptureReadOptions,
): AsyncGenerator<CaptureBlock<CaptureRecordWithoutProperties>> {
  return readBlocks(source, options, WITHOUT_PROPERTIES);
}

export function readCaptureBlocks(
  source: AsyncIterable<Uint8Array>,
  options: CaptureReadOptions,
): AsyncGenerator<CaptureBlock<CaptureRecord>> {
  return readBlocks(source, options, FULL);
}

// Files of one hub share one schema: build each decoding type and resolver once.
const decoders = new Map<string, { type: avro.Type; resolver?: ReturnType<avro.Type['createResolver']> }>();

function decoderFor(
  writerSchemaText: string,
  readerSchema: object | undefined,
  file: string,
  offset: number,
) {
  const cacheKey = `${readerSchema ? 'lean' : 'full'}\u0000${writerSchemaText}`;
  let entry = decoders.get(cacheKey);
  if (!entry) {
    try {
      const writer = avro.Type.forSchema(JSON.parse(writerSchemaText) as avro.Schema);
      // Throws unless the header declares a record that resolves to Capture's EventData.
      captureType(CAPTURE_SCHEMA).createResolver(writer);
      const reader = readerSchema && captureType(readerSchema);
      entry = reader ? { type: reader, resolver: reader.createResolver(writer) } : { type: writer };
    } catch (error) {
      throw new CaptureFileError(
        'unsupported',
        file,
        offset,
        `header schema is not a Capture EventData schema`,
        {
          cause: error,
        },
      );
    }
    decoders.set(cacheKey, entry);
  }
  return entry;
}

/** A block as stored: its record count and (still compressed) data. */
interface RawBlock {
  offset: number;
  count: number;
  data: Buffer;
}

/** Walks the container's structure (header, blocks, sync markers) without decoding any record. */
async function* walkBlocks(input: ByteReader, signal: AbortSignal | undefined): AsyncGenerator<RawBlock> {
  const sync = await input.bytes(16, 'the sync marker');
  for (;;) {
    signal?.throwIfAborted();
    const blockOffset = input.offset;
    if (await input.atEnd()) return;
    const count = await input.long('a block count');
    const size = await input.long('a block size');
    if (count < 0 || size < 0 || size > 0x7fffffff) {
      throw input.error('corrupt', blockOffset, `block header says ${count} records in ${size} bytes`);
    }
    const data = await input.bytes(size, `a block of ${size} bytes`);
    const marker = await input.bytes(16, 'the sync marker after a block');
    if (!marker.equals(sync))
      throw input.error('corrupt', input.offset - 16, 'sync marker does not match the header');
    yield { offset: blockOffset, count, data };
  }
}

/** Reads the magic and header metadata; returns the codec and the writer schema's text. */
async function readHeader(input: ByteReader): Promise<{ codec: 'null' | 'deflate'; schemaText: string }> {
  const magic = await input.bytes(4, 'the Avro magic number');
  if (!magic.equals(AVRO_MAGIC))
    throw input.error('corrupt', 0, 'not an Avro object container file (bad magic)');
  const metadata = await readMetadata(input);
  const codec = metadata.get('avro.codec')?.toString() ?? 'null';
  if (codec !== 'null' && codec !== 'deflate') {
    throw input.error('unsupported', 4, `codec "${codec}" (Capture writes deflate or null)`);
  }
  const schemaText = metadata.get('avro.schema')?.toString();
  if (schemaText === undefined) throw input.error('corrupt', 4, 'header has no avro.schema');
  return { codec, schemaText };
}

/** What a Capture file holds, from its structure alone: records and blocks, no record decoded. */
export interface CaptureFileSummary {
  records: number;
  blocks: number;
  bytes: number;
}

/**
 * Counts a Capture file's records from its block headers, checking the header schema and every
 * sync marker: cheap enough for the trigger, and it catches truncated or foreign files before a run.
 */
export async function summarizeCaptureFile(
  source: AsyncIterable<Uint8Array>,
  { file, signal }: CaptureReadOptions,
): Promise<CaptureFileSummary> {
  const input = new ByteReader(source[Symbol.asyncIterator](), file);
  try {
    const { schemaText } = await readHeader(input);
    decoderFor(schemaText, undefined, file, 4);
    const summary = { records: 0, blocks: 0, bytes: 0 };
    for await (const block of walkBlocks(input, signal)) {
      summary.records += block.count;
      summary.blocks += 1;
    }
    summary.bytes = input.offset;
    return summary;
  } finally {
    await input.close();
  }
}

async function* readBlocks<R>(
  source: AsyncIterable<Uint8Array>,
  { file, signal }: CaptureReadOptions,
  decoding: Decoding<R>,
): AsyncGenerator<CaptureBlock<R>> {
  const input = new ByteReader(source[Symbol.asyncIterator](), file);
  try {
    const { codec, schemaText } = await readHeader(input);
    const { type, resolver } = decoderFor(schemaText, decoding.readerSchema, file, 4);
    for await (const { offset: blockOffset, count, data } of walkBlocks(input, signal)) {
      let raw = data;
      if (codec === 'deflate') {
        try {
          // Synchronous: a block is small, and the hop to the thread pool cost more than the inflate
          // (measured: decoding twice as fast).
          raw = zlib.inflateRawSync(data);
        } catch (error) {
          throw input.error(
            'corrupt',
            blockOffset,
            `deflate block does not inflate: ${errorMessage(error)}`,
            error,
          );
        }
      }
      const records: R[] = new Array(count);
      let pos = 0;
      for (let i = 0; i < count; i++) {
        let decoded: { value: unknown; offset: number };
        try {
          decoded = type.decode(raw, pos, resolver);
        } catch (error) {
          throw input.error('corrupt', blockOffset, `record ${i} of the block does not decode`, error);
        }
        if (decoded.offset < 0)
          throw input.error('corrupt', blockOffset, `record ${i} of ${count} runs past the block`);
        records[i] = decoding.convert(decoded.value as Record<string, unknown>);
        pos = decoded.offset;
      }
      if (pos !== raw.length) {
        throw input.error(
          'corrupt',
          blockOffset,
          `${raw.length - pos} bytes left after the block's ${count} records`,
        );
      }
      yield { offset: blockOffset, records };
    }
  } finally {
    await input.close();
  }
}

async function readMetadata(input: ByteReader): Promise<Map<string, Buffer>> {
  const metadata = new Map<string, Buffer>();
  const start = input.offset;
  for (;;) {
    let count = await input.long('the header metadata');
    if (count === 0) break;
    if (count < 0) {
      count = -count;
      await input.long('the header metadata block size');
    }
    if (count > 1000) throw input.error('corrupt', start, `header metadata claims ${count} entries`);
    for (let i = 0; i < count; i++) {
      const key = (await input.bytes(await input.length('a metadata key'), 'a metadata key')).toString();
      metadata.set(key, await input.bytes(await input.length('a metadata value'), 'a metadata value'));
    }
  }
  return metadata;
}

/** Pulls bytes from an async iterator on demand, tracking the absolute offset for error messages. */
class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private head = 0; // consumed bytes of chunks[0]
  private ended = false;
  offset = 0;

  constructor(
    private readonly iterator: AsyncIterator<Uint8Array>,
    private readonly file: string,
  ) {}

  error(kind: CaptureFileErrorKind, offset: number, detail: string, cause?: unknown): CaptureFileError {
    return new CaptureFileError(kind, this.file, offset, detail, { cause });
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n && !this.ended) {
      const next = await this.iterator.next();
      if (next.done) {
        this.ended = true;
      } else if (next.value.length > 0) {
        const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
        this.chunks.push(chunk);
        this.buffered += chunk.length;
      }
    }
    return this.buffered >= n;
  }

  async atEnd(): Promise<boolean> {
    return !(await this.fill(1));
  }

  async bytes(n: number, what: string): Promise<Buffer> {
    if (!(await this.fill(n))) {
      throw this.error(
        'truncated',
        this.offset,
        `file ends after ${this.offset + this.buffered} bytes, inside ${what}`,
      );
    }
    let result: Buffer;
    const first = this.chunks[0];
    if (first && first.length - this.head >= n) {
      result = first.subarray(this.head, this.head + n);
      this.head += n;
    } else {
      result = Buffer.allocUnsafe(n);
      let written = 0;
      while (written < n) {
        const chunk = this.chunks[0];
        const take = Math.min(chunk.length - this.head, n - written);
        chunk.copy(result, written, this.head, this.head + take);
        written += take;
        this.head += take;
        if (this.head === chunk.length) {
          this.chunks.shift();
          this.head = 0;
        }
      }
    }
    if (this.chunks[0] && this.head === this.chunks[0].length) {
      this.chunks.shift();
      this.head = 0;
    }
    this.buffered -= n;
    this.offset += n;
    return result;
  }

  /** A zig-zag varint long (Avro `long`), as a safe JS integer. */
  async long(what: string): Promise<number> {
    const start = this.offset;
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < 10; i++) {
      const byte = (await this.bytes(1, what))[0];
      result += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) {
        if (!Number.isSafeInteger(result)) break;
        return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      }
      multiplier *= 128;
    }
    throw this.error('corrupt', start, `${what} is not a valid Avro long`);
  }

  async length(what: string): Promise<number> {
    const start = this.offset;
    const n = await this.long(what);
    if (n < 0 || n > 64 * 1024 * 1024) throw this.error('corrupt', start, `${what} has length ${n}`);
    return n;
  }

  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}
