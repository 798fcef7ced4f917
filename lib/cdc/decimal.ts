/**
 * Exact decimal arithmetic on JSON number text: value = sign × digits × 10^exponent, with no double
 * in between, so `21.475` rounds to 21.48 and an lsn of 2^63−1 keeps every digit.
 *
 * Every function here works on the digit text in time linear in its length, so the work a request
 * can cause is bounded by its size (the publish API's body limit). Callers make a `BigInt` only of
 * a result they have checked is short: V8 converts between BigInt and decimal text in more than
 * linear time (a million digits take about 0.25 s to parse and 0.4 s to print), and stripping
 * trailing zeros one BigInt division at a time, as this module once did, is quadratic — one 200 KB
 * number held the event loop for 12 s.
 */
export interface ExactDecimal {
  readonly negative: boolean;
  /** The digits as written, without the point: `012.50` → `01250`. */
  readonly digits: string;
  /** The power of ten the digits are scaled by, as written: `12.50e1` → -1. */
  readonly exponent: number;
}

const NUMBER_TEXT = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;
const ZERO = 48;
const FIVE = 53;
const NINE = 57;

export function parseDecimal(text: string): ExactDecimal | undefined {
  const match = NUMBER_TEXT.exec(text);
  if (!match) return undefined;
  const [, sign, whole, fraction = '', exp = '0'] = match;
  const exponent = Number(exp) - fraction.length;
  if (!Number.isSafeInteger(exponent)) return undefined;
  return { negative: sign === '-', digits: whole + fraction, exponent };
}

/** True when the value is zero (`0`, `-0.000`, `0e5`). */
export function isZero(value: ExactDecimal): boolean {
  return significantDigits(value.digits) === '';
}

/**
 * The value as integer text if it is integral (`12.0` → `12`, `1.2e1` → `12`, `-0` → `0`), else
 * undefined. A value written with an exponent over 40 reads as ±10^41, whatever its digits: callers
 * check ranges far below, and `1e999999999` must not build a billion-digit text. The text is never
 * longer than the number's own text plus 42 characters.
 */
export function integerText(value: ExactDecimal): string | undefined {
  const digits = significantDigits(value.digits);
  if (digits === '') return '0';
  let magnitude: string;
  if (value.exponent < 0) {
    // Integral only if the last -exponent digits are zeros; `digits` has no leading zero.
    const kept = digits.length + value.exponent;
    if (kept <= 0) return undefined;
    for (let i = kept; i < digits.length; i++) if (digits.charCodeAt(i) !== ZERO) return undefined;
    magnitude = digits.slice(0, kept);
  } else if (value.exponent > 40) {
    magnitude = `1${'0'.repeat(41)}`;
  } else {
    magnitude = digits + '0'.repeat(value.exponent);
  }
  return value.negative ? `-${magnitude}` : magnitude;
}

/**
 * The value in hundredths, rounded half away from zero (half-up on magnitude), as integer text
 * (`21.475` → `2148`). A value written with an exponent over 38 reads as its digits × 10^40 cents:
 * any caller's bound is far below.
 */
export function centsText(value: ExactDecimal): string {
  const digits = significantDigits(value.digits);
  if (digits === '') return '0';
  const shift = value.exponent + 2;
  let magnitude: string;
  if (shift >= 0) {
    magnitude = digits + '0'.repeat(Math.min(shift, 40));
  } else {
    // The digits before the cents' point, and the first digit after it, which decides the rounding.
    const kept = digits.length + shift;
    if (kept < 0) {
      magnitude = '0';
    } else {
      const whole = kept === 0 ? '0' : digits.slice(0, kept);
      magnitude = digits.charCodeAt(kept) >= FIVE ? increment(whole) : whole;
    }
  }
  return value.negative && magnitude !== '0' ? `-${magnitude}` : magnitude;
}

/** Cents as decimal text with two places: 2147n or "2147" → "21.47". */
export function formatCents(cents: bigint | string): string {
  const text = String(cents);
  const negative = text.startsWith('-');
  const magnitude = (negative ? text.slice(1) : text).padStart(3, '0');
  return `${negative ? '-' : ''}${magnitude.slice(0, -2)}.${magnitude.slice(-2)}`;
}

/** The digits without leading zeros; '' for zero. */
function significantDigits(digits: string): string {
  let start = 0;
  while (start < digits.length && digits.charCodeAt(start) === ZERO) start++;
  return start === 0 ? digits : digits.slice(start);
}

/** Integer text plus one: "129" → "130", "99" → "100". */
function increment(text: string): string {
  let end = text.length - 1;
  while (end >= 0 && text.charCodeAt(end) === NINE) end--;
  if (end < 0) return `1${'0'.repeat(text.length)}`;
  return `${text.slice(0, end)}${String.fromCharCode(text.charCodeAt(end) + 1)}${'0'.repeat(text.length - end - 1)}`;
}
