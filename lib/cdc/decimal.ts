/**
 * Exact decimal arithmetic on JSON number text: value = sign × digits × 10^exponent, with no double
 * in between, so `21.475` rounds to 21.48 and an lsn of 2^63−1 keeps every digit.
 */
export interface ExactDecimal {
  readonly negative: boolean;
  readonly digits: bigint;
  readonly exponent: number;
}

const NUMBER_TEXT = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

export function parseDecimal(text: string): ExactDecimal | undefined {
  const match = NUMBER_TEXT.exec(text);
  if (!match) return undefined;
  const [, sign, whole, fraction = '', exp = '0'] = match;
  const exponent = Number(exp) - fraction.length;
  if (!Number.isSafeInteger(exponent)) return undefined;
  return { negative: sign === '-', digits: BigInt(whole + fraction), exponent };
}

/** The value as an integer if it is integral (`12.0`, `1.2e1`), else undefined. */
export function toExactInteger(value: ExactDecimal): bigint | undefined {
  let { digits, exponent } = value;
  if (digits === 0n) return 0n;
  while (exponent < 0) {
    if (digits % 10n !== 0n) return undefined;
    digits /= 10n;
    exponent++;
  }
  // Bounded so that `1e999999999` cannot allocate a huge integer: callers check ranges far below.
  if (exponent > 40) return value.negative ? -(10n ** 41n) : 10n ** 41n;
  const magnitude = digits * 10n ** BigInt(exponent);
  return value.negative ? -magnitude : magnitude;
}

/** The value in hundredths, rounded half away from zero (half-up on magnitude). */
export function toCents(value: ExactDecimal): bigint {
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
}

/** Cents as decimal text with two places: 2147n → "21.47". */
export function formatCents(cents: bigint): string {
  const negative = cents < 0n;
  const text = String(negative ? -cents : cents).padStart(3, '0');
  return `${negative ? '-' : ''}${text.slice(0, -2)}.${text.slice(-2)}`;
}
