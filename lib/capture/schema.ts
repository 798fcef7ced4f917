import avro from 'avsc';

/**
 * The Avro schema of an Event Hubs Capture file, as real files declare it in their header.
 * Source: https://learn.microsoft.com/azure/event-hubs/explore-captured-avro-files (record EventData,
 * namespace Microsoft.ServiceBus.Messaging). Real files add a `null` branch to the Properties map's
 * value union, which the docs omit (see test/fixtures/capture/README.md); Capture compresses
 * with the `deflate` codec ("AvroDeflate"), and `null` is valid Avro that readers must accept too.
 */
export const CAPTURE_SCHEMA = {
  type: 'record',
  name: 'EventData',
  namespace: 'Microsoft.ServiceBus.Messaging',
  fields: [
    { name: 'SequenceNumber', type: 'long' },
    { name: 'Offset', type: 'string' },
    { name: 'EnqueuedTimeUtc', type: 'string' },
    { name: 'SystemProperties', type: { type: 'map', values: ['long', 'double', 'string', 'bytes'] } },
    { name: 'Properties', type: { type: 'map', values: ['long', 'double', 'string', 'bytes', 'null'] } },
    { name: 'Body', type: ['null', 'bytes'] },
  ],
} as const;

/** Reader schema without the two maps: avsc resolves and skips them, which decodes far faster. */
export const CAPTURE_SCHEMA_WITHOUT_PROPERTIES = {
  ...CAPTURE_SCHEMA,
  fields: CAPTURE_SCHEMA.fields.filter(
    (field) => field.name !== 'SystemProperties' && field.name !== 'Properties',
  ),
};

export type CaptureCodec = 'null' | 'deflate';
export const CAPTURE_CODECS: readonly CaptureCodec[] = ['null', 'deflate'];

/** A property value as Capture stores it: the branches of the map value union. */
export type CapturePropertyValue = number | string | Buffer | null;

export interface CaptureRecord {
  SequenceNumber: number;
  Offset: string;
  EnqueuedTimeUtc: string;
  SystemProperties: Record<string, CapturePropertyValue>;
  Properties: Record<string, CapturePropertyValue>;
  Body: Buffer | null;
}

/** A record read without its maps. */
export type CaptureRecordWithoutProperties = Omit<CaptureRecord, 'SystemProperties' | 'Properties'>;

/**
 * avsc wraps the map values' union (`{"long": 2}`) because long/double are ambiguous in JS; it
 * cannot build this schema with `wrapUnions: false`. Keep the default and (un)wrap at the edge.
 */
export function captureType(schema: object = CAPTURE_SCHEMA): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema);
}

/**
 * The fewest bytes one value of `type` takes in Avro's binary encoding (Avro 1.x spec, "Binary
 * Encoding"): null nothing; boolean 1; int, long, enum, and the length of string and bytes a varint
 * of at least 1; float 4, double 8, fixed its size; map and array at least their closing 0 count;
 * a union its branch index (1) and its smallest branch; a record the sum of its fields. For
 * Capture's EventData that is 6 bytes: SequenceNumber, Offset, EnqueuedTimeUtc, the two empty
 * maps and a null Body take one byte each. A record met again inside itself counts 0, so the
 * result stays a lower bound.
 */
export function minEncodedBytes(type: avro.Type, visiting = new Set<avro.Type>()): number {
  if (type instanceof avro.types.LogicalType) return minEncodedBytes(type.underlyingType, visiting);
  if (type instanceof avro.types.RecordType) {
    if (visiting.has(type)) return 0;
    visiting.add(type);
    const sum = type.fields.reduce((total, field) => total + minEncodedBytes(field.type, visiting), 0);
    visiting.delete(type);
    return sum;
  }
  if (type instanceof avro.types.WrappedUnionType || type instanceof avro.types.UnwrappedUnionType) {
    return 1 + Math.min(...type.types.map((branch) => minEncodedBytes(branch, visiting)));
  }
  if (type instanceof avro.types.FixedType) return type.size;
  switch (type.typeName) {
    case 'null':
      return 0;
    case 'float':
      return 4;
    case 'double':
      return 8;
    default:
      // boolean, int, long, enum, string, bytes, map, array: one byte at least.
      return 1;
  }
}

type WrappedValue = { long: number } | { double: number } | { string: string } | { bytes: Buffer } | null;

export function wrapPropertyValue(value: CapturePropertyValue): WrappedValue {
  if (value === null) return null;
  if (typeof value === 'string') return { string: value };
  if (Buffer.isBuffer(value)) return { bytes: value };
  return Number.isInteger(value) ? { long: value } : { double: value };
}

/** The value of a wrapped union branch; values of a writer schema without a union pass as they are. */
export function unwrapPropertyValue(value: WrappedValue | CapturePropertyValue): CapturePropertyValue {
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  return Object.values(value)[0] as CapturePropertyValue;
}

export function mapValues<T, U>(map: Record<string, T>, fn: (value: T) => U): Record<string, U> {
  const result: Record<string, U> = {};
  for (const key of Object.keys(map)) result[key] = fn(map[key]);
  return result;
}
