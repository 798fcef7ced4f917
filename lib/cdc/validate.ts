import { centsText, formatCents, integerText, isZero, parseDecimal } from './decimal';
import { CDC_OPS, CdcOp, DqRule, OrderChange, UNSPECIFIED_COUNTRY, isCancellation } from './event';
import { JsonNumber, JsonValue, isJsonObject, parseJsonText } from './jsonText';
import { parseOrderDate } from './orderDate';
import { errorMessage } from '../errorMessage';

export type Validation = { ok: true; change: OrderChange } | { ok: false; rule: DqRule; reason: string };

const MAX_LSN = 2n ** 63n - 1n;
/** 10^8 in cents (silver's price is DECIMAL(10,2)): cents text of 11 digits or more is past it. */
const MAX_PRICE_CENT_DIGITS = 10;
const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;
/** Values echoed in a reason are cut to this many characters and '…'. */
export const MAX_ECHOED_CHARS = 64;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const failure = (rule: DqRule, reason: string): Validation => ({ ok: false, rule, reason });

/**
 * Checks one event body against the data-quality rules (docs/architecture.md), in their order, and names the
 * first rule it breaks. The lakehouse SQL applies the same rules; a property test holds them equal.
 */
export function validateCdcBody(body: Uint8Array | string | null | undefined): Validation {
  if (body === null || body === undefined) return failure('json', 'body is null');
  let text: string;
  if (typeof body === 'string') {
    text = body;
  } else {
    try {
      text = utf8.decode(body);
    } catch {
      return failure('json', 'body is not valid UTF-8');
    }
  }
  let envelope: JsonValue;
  try {
    envelope = parseJsonText(text);
  } catch (error) {
    return failure('json', `body is not valid JSON: ${errorMessage(error)}`);
  }
  if (!isJsonObject(envelope)) return failure('json', `body is JSON ${describe(envelope)}, not an object`);

  const op = envelope.op;
  if (typeof op !== 'string' || !(CDC_OPS as readonly string[]).includes(op)) {
    return failure('op', `op is ${describe(op)}; expected one of ${CDC_OPS.join(', ')}`);
  }

  const source = envelope.source;
  const lsnValue = isJsonObject(source) ? source.lsn : undefined;
  const lsn = lsnValue instanceof JsonNumber ? integerWithin(lsnValue, 0n, MAX_LSN) : undefined;
  if (lsn === undefined) {
    return failure('lsn', `source.lsn is ${describe(lsnValue)}; expected an integer from 0 to 2^63-1`);
  }

  const image = op === 'd' ? envelope.before : envelope.after;
  const imageName = op === 'd' ? 'before' : 'after';
  if (!isJsonObject(image)) {
    return failure(
      'key',
      `${imageName} is ${describe(image)}; op '${op}' needs it as an object with the key`,
    );
  }
  const transactionNo = image.TransactionNo;
  const productNo = image.ProductNo;
  if (typeof transactionNo !== 'string' || transactionNo === '') {
    return failure(
      'key',
      `${imageName}.TransactionNo is ${describe(transactionNo)}; expected a non-empty string`,
    );
  }
  if (typeof productNo !== 'string' || productNo === '') {
    return failure('key', `${imageName}.ProductNo is ${describe(productNo)}; expected a non-empty string`);
  }
  const cancellation = isCancellation(transactionNo);

  if (op === 'd') {
    return {
      ok: true,
      change: {
        op,
        lsn,
        transactionNo,
        productNo,
        productName: null,
        priceCents: null,
        quantity: null,
        customerNo: null,
        country: null,
        orderDate: null,
        isCancellation: cancellation,
        deleted: true,
      },
    };
  }

  const price = image.Price;
  const priceDecimal = price instanceof JsonNumber ? parseDecimal(price.text) : undefined;
  if (!priceDecimal || (priceDecimal.negative && !isZero(priceDecimal))) {
    return failure('price', `after.Price is ${describe(price)}; expected a number from 0 to below 100000000`);
  }
  const cents = centsText(priceDecimal);
  if (cents.length > MAX_PRICE_CENT_DIGITS) {
    return failure(
      'price',
      `after.Price ${describe(price)} rounds to ${clip(formatCents(cents))}, not below 100000000`,
    );
  }
  const priceCents = BigInt(cents);

  const quantityValue = image.Quantity;
  const quantity =
    quantityValue instanceof JsonNumber ? integerWithin(quantityValue, INT32_MIN, INT32_MAX) : undefined;
  if (quantity === undefined || quantity === 0n) {
    return failure(
      'quantity',
      `after.Quantity is ${describe(quantityValue)}; expected a non-zero integer within 32 bits`,
    );
  }

  const dateValue = image.Date;
  const orderDate = typeof dateValue === 'string' ? parseOrderDate(dateValue) : undefined;
  if (orderDate === undefined) {
    return failure(
      'date',
      `after.Date is ${describe(dateValue)}; expected a real date as YYYY-MM-DD or M/D/YYYY`,
    );
  }

  return {
    ok: true,
    change: {
      op: op as CdcOp,
      lsn,
      transactionNo,
      productNo,
      productName: textOf(image.ProductName),
      priceCents,
      quantity: Number(quantity),
      customerNo: customerNoOf(image.CustomerNo),
      country: textOf(image.Country) ?? UNSPECIFIED_COUNTRY,
      orderDate,
      isCancellation: cancellation,
      deleted: false,
    },
  };
}

/** The number's integer text if it is integral (`12.0` → `12`), else undefined. */
function integerOf(value: JsonNumber): string | undefined {
  const decimal = parseDecimal(value.text);
  return decimal ? integerText(decimal) : undefined;
}

/**
 * The number as a bigint if it is an integer from min to max. Text longer than the bounds' is out
 * of range without converting it: a BigInt of long text costs more than linear time.
 */
function integerWithin(value: JsonNumber, min: bigint, max: bigint): bigint | undefined {
  const text = integerOf(value);
  if (text === undefined) return undefined;
  const longest = Math.max(String(min).length, String(max).length);
  if (text.length > longest) return undefined;
  const integer = BigInt(text);
  return integer >= min && integer <= max ? integer : undefined;
}

/** CustomerNo: a number becomes its decimal text (17490 → "17490", 17490.0 → "17490"). */
function customerNoOf(value: JsonValue | undefined): string | null {
  if (value instanceof JsonNumber) return integerOf(value) ?? value.text;
  return textOf(value);
}

/** Strings as they are; null or missing as null; anything else as its JSON text. */
function textOf(value: JsonValue | undefined): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (value instanceof JsonNumber) return value.text;
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner instanceof JsonNumber ? Number(inner.text) : inner,
  );
}

/** Text cut to MAX_ECHOED_CHARS characters and '…': a reason never echoes a long value whole. */
function clip(text: string): string {
  return text.length > MAX_ECHOED_CHARS ? `${text.slice(0, MAX_ECHOED_CHARS)}…` : text;
}

/** A short description of a JSON value for a reason message. */
function describe(value: JsonValue | undefined): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (value instanceof JsonNumber) return clip(value.text);
  if (typeof value === 'string') return JSON.stringify(clip(value));
  if (typeof value === 'boolean') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
