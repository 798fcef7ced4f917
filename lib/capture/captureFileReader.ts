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
  minEncodedBytes,
  unwrapPropertyValue,
} from './schema';
import { errorMessage } from '../errorMessage';

/**
 * truncated: the file ends early; corrupt: its bytes contradict themselves (a bad sync marker, a
 * count its block cannot hold); unsupported: valid Avro but not a Capture file this reader reads;
 * oversized: a block past MAX_BLOCK_BYTES, stored or inflated (a deflate bomb).
 */
export type CaptureFileErrorKind = 'truncated' | 'corrupt' | 'unsupported' | 'oversized';

/**
 * The most bytes one block may take, stored or inflated: 64 MiB. Capture closes a block after
 * about 64 KB of records (Avro's sync interval), so a legitimate block holds at most that plus one
 * event, and an event is at most 1 MB (20 MB on a Dedicated cluster); the local emulator's blocks
 * are 256 KB. A whole file is at most CAPTURE_SIZE_LIMIT_BYTES (100 MB by default, 500 MB at
 * most), but that caps its compressed bytes only: a 260 KB deflate block inflates to 268 MB. This
 * limit leaves three times the largest event as headroom while bounding what one block can cost
 * the decoder (the inflated block, and its records decoded from it).
 */
export const MAX_BLOCK_BYTES = 64 * 1024 * 1024;

/**
 * Deflate's densest output: a 258-byte match coded in 2 bits (1-bit length and distance codes), so
 * compressed bytes inflate to at most 1032 times as many. Bounds a deflate block's records before
 * it is inflated.
 */
const DEFLATE_MAX_RATIO = 1032;

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

/**
 * Records of one block of the file. A block of more than PART_RECORDS records (no Capture block
 * comes near: they close at about 64 KB) comes as several parts with the same offset.
 */
export interface CaptureBlock<R> {
  /** Byte offset of the block in the file. */
  offset: number;
  records: R[];
}

/** The most records one CaptureBlock holds. */
export const PART_RECORDS = 8192;

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
interface Decoder {
  type: avro.Type;
  resolver?: ReturnType<avro.Type['createResolver']>;
  /** The fewest bytes a record of the file's writer schema takes (6 for Capture's EventData). */
  minRecordBytes: number;
}
const decoders = new Map<string, Decoder>();
/** Headers of other schemas (a hostile stream of them) must not grow the cache without end. */
const MAX_CACHED_DECODERS = 16;

function decoderFor(
  writerSchemaText: string,
  readerSchema: object | undefined,
  file: string,
  offset: number,
): Decoder {
  const cacheKey = `${readerSchema ? 'lean' : 'full'}\u0000${writerSchemaText}`;
  let entry = decoders.get(cacheKey);
  if (!entry) {
    try {
      const writer = boundedType(JSON.parse(writerSchemaText) as avro.Schema);
      // Throws unless the header declares a record that resolves to Capture's EventData.
      captureType(CAPTURE_SCHEMA).createResolver(writer);
      // At least 1 byte, whatever the schema: a record of 0 bytes would let a block of 0 bytes hold
      // any count. EventData's fixed fields take 6 (minEncodedBytes).
      const minRecordBytes = Math.max(1, minEncodedBytes(writer));
      const reader = readerSchema && captureType(readerSchema);
      entry = reader
        ? { type: reader, resolver: reader.createResolver(writer), minRecordBytes }
        : { type: writer, minRecordBytes };
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
    if (decoders.size >= MAX_CACHED_DECODERS) decoders.delete(decoders.keys().next().value!);
    decoders.set(cacheKey, entry);
  }
  return entry;
}

/** avsc's read cursor (its Tap): the part the bounded map and array readers below use. */
interface Tap {
  buf: Buffer;
  pos: number;
  readLong(): number;
  readString(): string;
  skipString(): void;
}

/** The per-type read and skip methods avsc calls on each type of a schema while it decodes. */
interface TypeCodec {
  _read(tap: Tap): unknown;
  _skip(tap: Tap): void;
}

/** Fewest bytes of one entry of each bounded map or array type, worked out on first use. */
const entryBytesOf = new WeakMap<avro.Type, number>();

function entryBytes(type: avro.Type, items: avro.Type, keyBytes: number): number {
  let bytes = entryBytesOf.get(type);
  if (bytes === undefined) {
    bytes = keyBytes + minEncodedBytes(items);
    entryBytesOf.set(type, bytes);
  }
  return bytes;
}

/**
 * A map that refuses a count its remaining bytes cannot hold. avsc reads a map or array block by
 * looping over the count the data states, reading past the end of the buffer as zeros, and skips a
 * block backwards when its byte size is negative: one damaged varint means minutes of looping, or
 * a loop that never ends. These are avsc's own methods (avsc 5, lib/types.js) with the count
 * checked first: a map entry takes a key's length byte and at least the fewest bytes of its value.
 * avsc freezes its types, so the bound comes in by subclass, through the typeHook of forSchema.
 */
class BoundedMapType extends avro.types.MapType {
  _read(tap: Tap): Record<string, unknown> {
    const values = this.valuesType as TypeCodec;
    const bytes = entryBytes(this, this.valuesType as avro.Type, 1);
    const map: Record<string, unknown> = {};
    let n: number;
    while ((n = collectionCount(tap, bytes, 'map', true))) {
      while (n--) {
        const key = tap.readString();
        map[key] = values._read(tap);
      }
    }
    return map;
  }

  _skip(tap: Tap): void {
    const values = this.valuesType as TypeCodec;
    const bytes = entryBytes(this, this.valuesType as avro.Type, 1);
    let n: number;
    while ((n = collectionCount(tap, bytes, 'map', false))) {
      while (n--) {
        tap.skipString();
        values._skip(tap);
      }
    }
  }
}

/** An array bounded as BoundedMapType is. No Capture schema has one; items of 0 bytes are refused. */
class BoundedArrayType extends avro.types.ArrayType {
  _read(tap: Tap): unknown[] {
    const items = this.itemsType as unknown as TypeCodec;
    const bytes = entryBytes(this, this.itemsType, 0);
    const array: unknown[] = [];
    let n: number;
    while ((n = collectionCount(tap, bytes, 'array', true))) {
      while (n--) array.push(items._read(tap));
    }
    return array;
  }

  _skip(tap: Tap): void {
    const items = this.itemsType as unknown as TypeCodec;
    const bytes = entryBytes(this, this.itemsType, 0);
    let n: number;
    while ((n = collectionCount(tap, bytes, 'array', false))) {
      while (n--) items._skip(tap);
    }
  }
}

/** Builds a writer schema's type with bounded maps and arrays (BoundedMapType). */
function boundedType(schema: avro.Schema): avro.Type {
  return avro.Type.forSchema(schema, {
    typeHook: (node, opts) => {
      if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
      const kind = (node as { type?: unknown }).type;
      if (kind === 'map') return new BoundedMapType(node, opts);
      if (kind === 'array') return new BoundedArrayType(node, opts);
      return undefined;
    },
  });
}

/**
 * Reads the count of a map or array block, checked against the bytes left (a negative count comes
 * with the block's byte size, Avro spec: reading skips the size, skipping jumps over the block).
 * Returns the entries still to read or skip; 0 at the end.
 */
function collectionCount(tap: Tap, entryBytes: number, what: string, reading: boolean): number {
  for (;;) {
    let n = tap.readLong();
    if (n < 0) {
      n = -n;
      const size = tap.readLong();
      const left = tap.buf.length - tap.pos;
      if (!(size >= 0 && size <= left)) throw new Error(`${what} block says ${size} bytes with ${left} left`);
      if (!reading) {
        tap.pos += size;
        continue;
      }
    }
    const left = tap.buf.length - tap.pos;
    if (n > 0 && entryBytes === 0) throw new Error(`${what} block says ${n} entries of 0 bytes`);
    if (n * entryBytes > left) throw new Error(`${what} block says ${n} entries with ${left} bytes left`);
    return n;
  }
}

/** A block as stored: its record count and (still compressed) data. */
interface RawBlock {
  offset: number;
  count: number;
  data: Buffer;
}

/** What bounds a block's header: its codec, and the fewest bytes a record of its schema takes. */
interface BlockLimits {
  codec: 'null' | 'deflate';
  minRecordBytes: number;
}

/**
 * Walks the container's structure (header, blocks, sync markers) without decoding any record.
 * Each block header is checked against what its bytes can hold: a block past MAX_BLOCK_BYTES is
 * refused before it is read, and its count may not exceed its bytes (inflated at most
 * DEFLATE_MAX_RATIO times, and to MAX_BLOCK_BYTES at most) over the fewest bytes of a record.
 */
async function* walkBlocks(
  input: ByteReader,
  signal: AbortSignal | undefined,
  limits: BlockLimits,
): AsyncGenerator<RawBlock> {
  const sync = await input.bytes(16, 'the sync marker');
  for (;;) {
    signal?.throwIfAborted();
    const blockOffset = input.offset;
    if (await input.atEnd()) return;
    const count = await input.long('a block count');
    const size = await input.long('a block size');
    if (count < 0 || size < 0) {
      throw input.error('corrupt', blockOffset, `block header says ${count} records in ${size} bytes`);
    }
    if (size > MAX_BLOCK_BYTES) {
      throw input.error(
        'oversized',
        blockOffset,
        `block of ${size} bytes is over the limit of ${MAX_BLOCK_BYTES} bytes per block`,
      );
    }
    const most = mostRecords(size, limits);
    if (count > most) {
      throw input.error(
        'corrupt',
        blockOffset,
        `block header says ${count} records in ${size} bytes${limits.codec === 'deflate' ? ' of deflate data' : ''}, ` +
          `which hold at most ${most} (a record takes at least ${limits.minRecordBytes} bytes)`,
      );
    }
    const data = await input.bytes(size, `a block of ${size} bytes`);
    const marker = await input.bytes(16, 'the sync marker after a block');
    if (!marker.equals(sync))
      throw input.error('corrupt', input.offset - 16, 'sync marker does not match the header');
    yield { offset: blockOffset, count, data };
  }
}

/** The most records a block of `size` stored bytes can hold. */
function mostRecords(size: number, { codec, minRecordBytes }: BlockLimits): number {
  const inflated = codec === 'deflate' ? Math.min(size * DEFLATE_MAX_RATIO, MAX_BLOCK_BYTES) : size;
  return Math.floor(inflated / minRecordBytes);
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
    const { codec, schemaText } = await readHeader(input);
    const { minRecordBytes } = decoderFor(schemaText, undefined, file, 4);
    const summary = { records: 0, blocks: 0, bytes: 0 };
    for await (const block of walkBlocks(input, signal, { codec, minRecordBytes })) {
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
    const { type, resolver, minRecordBytes } = decoderFor(schemaText, decoding.readerSchema, file, 4);
    for await (const { offset: blockOffset, count, data } of walkBlocks(input, signal, {
      codec,
      minRecordBytes,
    })) {
      let raw = data;
      if (codec === 'deflate') {
        try {
          // Synchronous: a block is small, and the hop to the thread pool cost more than the inflate
          // (measured: decoding twice as fast). Capped: a bomb stops at the limit, not at its end.
          raw = zlib.inflateRawSync(data, { maxOutputLength: MAX_BLOCK_BYTES });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
            throw input.error(
              'oversized',
              blockOffset,
              `deflate block of ${data.length} bytes inflates past the limit of ${MAX_BLOCK_BYTES} bytes per block`,
              error,
            );
          }
          throw input.error(
            'corrupt',
            blockOffset,
            `deflate block does not inflate: ${errorMessage(error)}`,
            error,
          );
        }
        if (count * minRecordBytes > raw.length) {
          throw input.error(
            'corrupt',
            blockOffset,
            `block header says ${count} records, but it inflates to ${raw.length} bytes, which hold at most ` +
              `${Math.floor(raw.length / minRecordBytes)} (a record takes at least ${minRecordBytes} bytes)`,
          );
        }
      }
      // A block's records come in parts of at most PART_RECORDS: what one yield holds stays bounded
      // even when a 64 MiB block holds millions of minimal records.
      let pos = 0;
      let done = 0;
      do {
        signal?.throwIfAborted();
        const records: R[] = new Array(Math.min(count - done, PART_RECORDS));
        for (let j = 0; j < records.length; j++, done++) {
          let decoded: { value: unknown; offset: number };
          try {
            decoded = type.decode(raw, pos, resolver);
          } catch (error) {
            throw input.error('corrupt', blockOffset, `record ${done} of the block does not decode`, error);
          }
          if (decoded.offset < 0)
            throw input.error('corrupt', blockOffset, `record ${done} of ${count} runs past the block`);
          records[j] = decoding.convert(decoded.value as Record<string, unknown>);
          pos = decoded.offset;
        }
        if (done === count && pos !== raw.length) {
          throw input.error(
            'corrupt',
            blockOffset,
            `${raw.length - pos} bytes left after the block's ${count} records`,
          );
        }
        yield { offset: blockOffset, records };
      } while (done < count);
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
