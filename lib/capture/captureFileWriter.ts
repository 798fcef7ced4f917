import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import avro from 'avsc';
import {
  CAPTURE_SCHEMA,
  CaptureCodec,
  CaptureRecord,
  captureType,
  mapValues,
  wrapPropertyValue,
} from './schema';

const deflateRaw = promisify(zlib.deflateRaw);
const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]); // "Obj" 1: Avro object container file
const metadataType = avro.Type.forSchema({ type: 'map', values: 'bytes' });
const longType = avro.Type.forSchema('long');

export { MAGIC as AVRO_MAGIC };

/**
 * Encodes Capture files the way Capture writes them: an Avro object container file (Avro 1.x spec,
 * "Object Container Files") whose header carries the Capture schema and codec, then blocks of records
 * each followed by the file's 16-byte sync marker. Blocks are encoded one at a time, so a file of any
 * size is written with memory bounded by one block.
 */
export class CaptureFileEncoder {
  readonly syncMarker: Buffer;
  private readonly type = captureType();

  constructor(
    readonly codec: CaptureCodec = 'deflate',
    syncMarker?: Buffer,
  ) {
    this.syncMarker = syncMarker ?? randomBytes(16);
  }

  header(): Buffer {
    // avro.codec first, then avro.schema, in the order real Capture files have them.
    const metadata = metadataType.toBuffer({
      'avro.codec': Buffer.from(this.codec),
      'avro.schema': Buffer.from(JSON.stringify(CAPTURE_SCHEMA)),
    });
    return Buffer.concat([MAGIC, metadata, this.syncMarker]);
  }

  /** The Avro binary encoding of one record, ready to be collected into a block. */
  encodeRecord(record: CaptureRecord): Buffer {
    return this.type.toBuffer({
      ...record,
      SystemProperties: mapValues(record.SystemProperties, wrapPropertyValue),
      Properties: mapValues(record.Properties, wrapPropertyValue),
    });
  }

  /** One data block from records already encoded with encodeRecord. */
  async block(encodedRecords: Buffer[]): Promise<Buffer> {
    const raw = Buffer.concat(encodedRecords);
    const data = this.codec === 'deflate' ? await deflateRaw(raw) : raw;
    return Buffer.concat([
      longType.toBuffer(encodedRecords.length),
      longType.toBuffer(data.length),
      data,
      this.syncMarker,
    ]);
  }
}

/** A whole Capture file in memory: for tests and small tools; the emulator streams blocks instead. */
export async function encodeCaptureFile(
  records: CaptureRecord[],
  options: { codec?: CaptureCodec; recordsPerBlock?: number; syncMarker?: Buffer } = {},
): Promise<Buffer> {
  const encoder = new CaptureFileEncoder(options.codec, options.syncMarker);
  const perBlock = options.recordsPerBlock ?? 1000;
  const parts = [encoder.header()];
  for (let i = 0; i < records.length; i += perBlock) {
    parts.push(await encoder.block(records.slice(i, i + perBlock).map((r) => encoder.encodeRecord(r))));
  }
  return Buffer.concat(parts);
}
