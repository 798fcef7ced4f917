import fc from 'fast-check';
import {
  CapturePathError,
  CapturePathFormat,
  DEFAULT_CAPTURE_PATH_FORMAT,
} from '../../lib/capture/capturePath';
import {
  EnqueuedTimeError,
  formatEnqueuedTimeUtc,
  parseEnqueuedTimeUtc,
} from '../../lib/capture/enqueuedTime';

describe('CapturePathFormat', () => {
  const name = {
    namespace: 'ordersns',
    eventHub: 'orders',
    partitionId: '12',
    windowStart: new Date(Date.UTC(2026, 10, 24, 9, 16, 48)),
  };

  it('builds and parses the default layout', () => {
    const format = new CapturePathFormat();
    expect(format.format).toBe(DEFAULT_CAPTURE_PATH_FORMAT);
    const path = format.build(name);
    expect(path).toBe('ordersns/orders/12/2026/11/24/09/16/48.avro');
    expect(format.parse(path)).toEqual(name);
  });

  it('parses a path below a prefix', () => {
    expect(new CapturePathFormat().parse('landing/ordersns/orders/12/2026/11/24/09/16/48.avro')).toEqual(
      name,
    );
  });

  it('builds and parses a custom layout with the tokens in another order', () => {
    const format = new CapturePathFormat(
      '{Year}-{Month}-{Day}/{Namespace}_{EventHub}/p{PartitionId}/{Hour}{Minute}{Second}',
    );
    const path = format.build(name);
    expect(path).toBe('2026-11-24/ordersns_orders/p12/091648.avro');
    expect(format.parse(path)).toEqual(name);
  });

  it.each([
    ['{Namespace}/{EventHub}/{Year}/{Month}/{Day}/{Hour}/{Minute}/{Second}', /lacks \{PartitionId\}/],
    [`${DEFAULT_CAPTURE_PATH_FORMAT}/{Millisecond}`, /unknown token \{Millisecond\}/],
    [`${DEFAULT_CAPTURE_PATH_FORMAT}/{Year}`, /repeats/],
  ])('rejects the format %s', (format, message) => {
    expect(() => new CapturePathFormat(format)).toThrow(message);
  });

  it.each([
    'ordersns/orders/1/2026/11/24/09/16/48.json',
    'ordersns/orders/x/2026/11/24/09/16/48.avro',
    'ordersns/orders/1/2026/11/24/09/16.avro',
    'ordersns/orders/1/2026/02/30/09/16/48.avro',
    'ordersns/orders/1/2026/11/24/24/16/48.avro',
  ])('refuses %s with a typed error', (path) => {
    expect(() => new CapturePathFormat().parse(path)).toThrow(CapturePathError);
  });
});

describe('CapturePathFormat on hostile names', () => {
  // A format without separators leaves the token boundaries to the matcher; with unbounded tokens
  // a 1,000-character name took seconds (catastrophic backtracking). Generous bound: it is ~1 ms.
  const glued = new CapturePathFormat(
    '{Namespace}{EventHub}{PartitionId}{Year}{Month}{Day}{Hour}{Minute}{Second}',
  );

  it.each([
    ['digits', '1'.repeat(1000)],
    ['letters then digits', `${'a'.repeat(200)}${'1'.repeat(795)}.avro`],
    ['digits ending in .avro', `${'1'.repeat(1019)}.avro`],
  ])('decides on a long name of %s at once', (_what, name) => {
    const started = performance.now();
    expect(glued.matches(name)).toBe(false);
    expect(() => glued.parse(name)).toThrow(CapturePathError);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('answers any name with a parse that agrees with matches, or a CapturePathError (fuzzed)', () => {
    const formats = [new CapturePathFormat(), glued];
    const pieces = fc.constantFrom(
      'ordersns',
      'orders',
      '/',
      '0',
      '12',
      '2026',
      '11',
      '24',
      '09',
      '.avro',
      'x',
      '-',
      '99',
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(pieces, fc.string({ maxLength: 8 })), { maxLength: 40 }), (parts) => {
        const name = parts.join('');
        for (const format of formats) {
          let parsed = false;
          try {
            const file = format.parse(name);
            parsed = true;
            expect(Number.isNaN(file.windowStart.getTime())).toBe(false);
          } catch (error) {
            expect(error).toBeInstanceOf(CapturePathError);
          }
          // A name that matches may still name no real time; one that does not never parses.
          if (parsed) expect(format.matches(name)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('still reads a glued name, and no name longer than a blob name can be', () => {
    expect(glued.parse('ordersnsorders320261124091648.avro')).toMatchObject({ partitionId: '3' });
    const long = `${'x/'.repeat(600)}ordersns/orders/0/2026/11/24/09/16/48.avro`;
    expect(new CapturePathFormat().matches(long)).toBe(false);
  });
});

describe('EnqueuedTimeUtc', () => {
  it.each([
    ['11/24/2026 9:16:48 AM', Date.UTC(2026, 10, 24, 9, 16, 48)],
    ['11/24/2026 12:00:00 AM', Date.UTC(2026, 10, 24, 0, 0, 0)],
    ['11/24/2026 12:30:05 PM', Date.UTC(2026, 10, 24, 12, 30, 5)],
    ['1/2/2027 11:59:59 PM', Date.UTC(2027, 0, 2, 23, 59, 59)],
    ['11/24/2026 9:16:48.123 AM', Date.UTC(2026, 10, 24, 9, 16, 48, 123)],
    ['2026-11-24T09:16:48.5Z', Date.UTC(2026, 10, 24, 9, 16, 48, 500)],
  ])('parses %s as UTC', (text, ms) => {
    expect(parseEnqueuedTimeUtc(text).getTime()).toBe(ms);
  });

  it.each(['11/24/2026 13:16:48 PM', '2/30/2026 9:16:48 AM', '11/24/2026 9:16:48', 'yesterday'])(
    'rejects %s',
    (text) => expect(() => parseEnqueuedTimeUtc(text)).toThrow(EnqueuedTimeError),
  );

  it('formats as Capture does and round-trips', () => {
    for (const ms of [
      Date.UTC(2026, 10, 24, 9, 16, 48),
      Date.UTC(2026, 0, 1, 0, 0, 1),
      Date.UTC(2026, 5, 30, 12, 0, 0),
    ]) {
      const text = formatEnqueuedTimeUtc(new Date(ms));
      expect(parseEnqueuedTimeUtc(text).getTime()).toBe(ms);
    }
    expect(formatEnqueuedTimeUtc(new Date(Date.UTC(2026, 10, 24, 9, 16, 48)))).toBe('11/24/2026 9:16:48 AM');
    expect(formatEnqueuedTimeUtc(new Date(Date.UTC(2026, 10, 24, 0, 5, 0)))).toBe('11/24/2026 12:05:00 AM');
  });
});
