/**
 * How Event Hubs maps a partition key to a partition: Bob Jenkins' lookup3 `hashlittle2` over the
 * key's UTF-8 bytes, the two hash words XOR-ed and cast to a signed 16-bit integer, then
 * |hash mod partitionCount|. This is the mapping @azure/event-hubs' buffered producer reproduces
 * for the service (src/impl/partitionKeyToIdMapper.ts), so the emulator puts a key where Azure would.
 */
export function partitionForKey(partitionKey: string, partitionCount: number): number {
  const { b, c } = hashLittle2(Buffer.from(partitionKey, 'utf8'));
  const hash = ((b ^ c) << 16) >> 16;
  return Math.abs(hash % partitionCount);
}

function rot(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** lookup3.c `hashlittle2` with both seeds 0, in uint32 arithmetic. */
function hashLittle2(data: Buffer): { b: number; c: number } {
  let a = (0xdeadbeef + data.length) >>> 0;
  let b = a;
  let c = a;
  let i = 0;
  let remaining = data.length;

  while (remaining > 12) {
    a = (a + data.readUInt32LE(i)) | 0;
    b = (b + data.readUInt32LE(i + 4)) | 0;
    c = (c + data.readUInt32LE(i + 8)) | 0;
    // mix(a, b, c)
    a = (a - c) | 0;
    a ^= rot(c, 4);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rot(a, 6);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rot(b, 8);
    b = (b + a) | 0;
    a = (a - c) | 0;
    a ^= rot(c, 16);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rot(a, 19);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rot(b, 4);
    b = (b + a) | 0;
    i += 12;
    remaining -= 12;
  }
  if (remaining === 0) return { b: b >>> 0, c: c >>> 0 };

  // The tail: up to 12 bytes read little-endian into a, b, c (zero-padded).
  const tail = Buffer.alloc(12);
  data.copy(tail, 0, i);
  a = (a + tail.readUInt32LE(0)) | 0;
  b = (b + tail.readUInt32LE(4)) | 0;
  c = (c + tail.readUInt32LE(8)) | 0;
  // final(a, b, c)
  c ^= b;
  c = (c - rot(b, 14)) | 0;
  a ^= c;
  a = (a - rot(c, 11)) | 0;
  b ^= a;
  b = (b - rot(a, 25)) | 0;
  c ^= b;
  c = (c - rot(b, 16)) | 0;
  a ^= c;
  a = (a - rot(c, 4)) | 0;
  b ^= a;
  b = (b - rot(a, 14)) | 0;
  c ^= b;
  c = (c - rot(b, 24)) | 0;
  return { b: b >>> 0, c: c >>> 0 };
}
