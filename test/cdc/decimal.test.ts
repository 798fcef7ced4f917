import fc from 'fast-check';
import { centsText, formatCents, integerText, isZero, parseDecimal } from '../../lib/cdc/decimal';
import { validateCdcBody } from '../../lib/cdc/validate';

/**
 * The BigInt implementation this module had before it was made linear, kept as the reference the
 * new one must equal on every input. It strips trailing zeros one division at a time: quadratic.
 */
const reference = {
  parse(text: string): { negative: boolean; digits: bigint; exponent: number } | undefined {
    const match = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
    if (!match) return undefined;
    const [, sign, whole, fraction = '', exp = '0'] = match;
    const exponent = Number(exp) - fraction.length;
    if (!Number.isSafeInteger(exponent)) return undefined;
    return { negative: sign === '-', digits: BigInt(whole + fraction), exponent };
  },
  toExactInteger(value: { negative: boolean; digits: bigint; exponent: number }): bigint | undefined {
    let { digits, exponent } = value;
    if (digits === 0n) return 0n;
    while (exponent < 0) {
      if (digits % 10n !== 0n) return undefined;
      digits /= 10n;
      exponent++;
    }
    if (exponent > 40) return value.negative ? -(10n ** 41n) : 10n ** 41n;
    const magnitude = digits * 10n ** BigInt(exponent);
    return value.negative ? -magnitude : magnitude;
  },
  toCents(value: { negative: boolean; digits: bigint; exponent: number }): bigint {
    const shift = value.exponent + 2;
    let magnitude: bigint;
    if (shift >= 0) {
      magnitude = value.digits * 10n ** BigInt(Math.min(shift, 40));
    } else if (-shift > String(value.digits).length + 1) {
      magnitude = 0n;
    } else {
      const divisor = 10n ** BigInt(-shift);
      magnitude = value.digits / divisor;
      if ((value.digits % divisor) * 2n >= divisor) magnitude += 1n;
    }
    return value.negative ? -magnitude : magnitude;
  },
};

/** Digit runs with many zeros and nines, where stripping, rounding and carrying go wrong. */
const digitText = (minLength: number, maxLength: number) =>
  fc
    .array(fc.constantFrom('0', '0', '000000', '9', '99999', '5', '4', '1', '7', '0000000000'), {
      minLength,
      maxLength,
    })
    .map((parts) => parts.join(''));

const numberText = fc
  .record({
    sign: fc.constantFrom('', '-'),
    whole: fc.oneof(fc.constant('0'), digitText(1, 12)),
    fraction: fc.option(digitText(1, 12), { nil: undefined }),
    exponent: fc.option(
      fc.oneof(
        fc.integer({ min: -90, max: 90 }).map(String),
        fc.integer({ min: 0, max: 90 }).map((e) => `+${e}`),
        fc.constantFrom('999999999999999999999', '-999999999999999999999', '0000041', '-00'),
      ),
      { nil: undefined },
    ),
    e: fc.constantFrom('e', 'E'),
  })
  .map(
    ({ sign, whole, fraction, exponent, e }) =>
      `${sign}${whole}${fraction === undefined ? '' : `.${fraction}`}${exponent === undefined ? '' : `${e}${exponent}`}`,
  );

describe('exact decimals on number text', () => {
  it('equal the BigInt reference on random number text: integer, cents, zero', () => {
    fc.assert(
      fc.property(numberText, (text) => {
        const old = reference.parse(text);
        const now = parseDecimal(text);
        expect(now === undefined).toBe(old === undefined);
        if (!old || !now) return;
        const integer = reference.toExactInteger(old);
        expect(integerText(now)).toBe(integer === undefined ? undefined : String(integer));
        expect(centsText(now)).toBe(String(reference.toCents(old)));
        expect(isZero(now)).toBe(old.digits === 0n);
      }),
      { numRuns: 5000 },
    );
  });

  it.each([
    ['12.0', '12', '1200'],
    ['1.2e1', '12', '1200'],
    ['-0', '0', '0'],
    ['-0.004', undefined, '0'],
    ['-0.005', undefined, '-1'],
    ['21.475', undefined, '2148'],
    ['0.995', undefined, '100'],
    ['99.995', undefined, '10000'],
    ['9223372036854775807', '9223372036854775807', '922337203685477580700'],
    ['1000e-3', '1', '100'],
    ['1e41', `1${'0'.repeat(41)}`, `1${'0'.repeat(40)}`],
    ['0.00e999', '0', '0'],
  ])('%s: integer %p, cents %p', (text, integer, cents) => {
    const decimal = parseDecimal(text)!;
    expect(integerText(decimal)).toBe(integer);
    expect(centsText(decimal)).toBe(cents);
  });

  it('formats cents from a bigint or from text', () => {
    expect(formatCents(2147n)).toBe('21.47');
    expect(formatCents('2147')).toBe('21.47');
    expect(formatCents('-5')).toBe('-0.05');
    expect(formatCents(0n)).toBe('0.00');
  });
});

describe('the work one number can cause', () => {
  const envelope = (field: string, text: string): string => {
    const line: Record<string, string> = {
      TransactionNo: '"581482"',
      Date: '"2019-12-09"',
      ProductNo: '"22485"',
      Price: '21.47',
      Quantity: '12',
      CustomerNo: '17490',
    };
    const lsn = field === 'lsn' ? text : '7';
    if (field !== 'lsn') line[field] = text;
    const after = Object.entries(line)
      .map(([k, v]) => `"${k}":${v}`)
      .join(',');
    return `{"op":"c","ts_ms":1,"source":{"lsn":${lsn}},"before":null,"after":{${after}}}`;
  };
  const seconds = (work: () => void): number => {
    const start = process.hrtime.bigint();
    work();
    return Number(process.hrtime.bigint() - start) / 1e9;
  };

  // `1` and 200,000 zeros, scaled back to 1: the body that held the event loop for 12 s. The limit
  // is generous (a linear pass takes milliseconds); the quadratic version took 12-19 s per field.
  const oneWritten200kLong = `1${'0'.repeat(200_000)}e-200000`;

  it.each(['lsn', 'Price', 'Quantity', 'CustomerNo'])(
    'judges a 200 KB number in %s well within a second, exactly',
    (field) => {
      const body = envelope(field, oneWritten200kLong);
      expect(body.length).toBeGreaterThan(200_000);
      let result: ReturnType<typeof validateCdcBody> | undefined;
      expect(seconds(() => (result = validateCdcBody(body)))).toBeLessThan(1);
      expect(result).toMatchObject({ ok: true });
      if (!result?.ok) return;
      if (field === 'lsn') expect(result.change.lsn).toBe(1n);
      if (field === 'Price') expect(result.change.priceCents).toBe(100n);
      if (field === 'Quantity') expect(result.change.quantity).toBe(1);
      if (field === 'CustomerNo') expect(result.change.customerNo).toBe('1');
    },
  );

  it('judges million-digit numbers, integral or not, in or out of range, well within a second', () => {
    const million = (digit: string) => digit.repeat(1_000_000);
    const cases: [string, string, string | boolean][] = [
      ['lsn', million('9'), 'lsn'],
      ['lsn', `${million('7')}e-999999`, 'lsn'],
      ['lsn', `0.${million('0')}1`, 'lsn'],
      ['Quantity', `${million('5')}e-1000000`, 'quantity'],
      ['Price', `0.00${million('4')}`, true],
      ['Price', `99999999.99${million('9')}`, 'price'],
      ['CustomerNo', `${million('3')}0e-1`, true],
    ];
    for (const [field, text, expected] of cases) {
      let result: ReturnType<typeof validateCdcBody> | undefined;
      expect({
        field,
        seconds: seconds(() => (result = validateCdcBody(envelope(field, text)))) < 1,
      }).toEqual({
        field,
        seconds: true,
      });
      expect(result!.ok ? true : result!.rule).toBe(expected);
    }
  });

  it('echoes at most 64 characters of a value in a reason', () => {
    const long = `-${'1'.repeat(5000)}`;
    const result = validateCdcBody(envelope('lsn', long));
    expect(result).toMatchObject({ ok: false, rule: 'lsn' });
    if (result.ok) return;
    expect(result.reason).toBe(`source.lsn is -${'1'.repeat(63)}…; expected an integer from 0 to 2^63-1`);
    const price = validateCdcBody(envelope('Price', `1${'0'.repeat(5000)}`));
    expect(price.ok || price.reason.length).toBeLessThan(300);
    const key = validateCdcBody(envelope('lsn', '1').replace('"581482"', `${'1'.repeat(5000)}`));
    expect(key.ok || key.reason.length).toBeLessThan(300);
  });
});
