import { isUtf8 } from 'node:buffer';
import { parseEnqueuedTimeUtc } from '../capture/enqueuedTime';
import { CaptureRecordWithoutProperties } from '../capture/schema';
import { parseJsonText } from '../cdc/jsonText';

/** A block of Capture records as bronze columns: what the decoder hands the appender. */
export interface BronzeColumns {
  sequenceNumbers: number[];
  offsets: string[];
  /** Epoch ms, or NaN when EnqueuedTimeUtc is not a Capture time. */
  enqueuedMs: number[];
  /** UTF-8 text, base64 of a body that is not UTF-8, or null for a null body. */
  bodies: (string | null)[];
  utf8: boolean[];
  isJson: boolean[];
}

/** Capture blocks hold one window's events: EnqueuedTimeUtc repeats, so parse each text once. */
const enqueuedCache = new Map<string, number>();

function enqueuedMs(text: string): number {
  let ms = enqueuedCache.get(text);
  if (ms === undefined) {
    try {
      ms = parseEnqueuedTimeUtc(text).getTime();
    } catch {
      ms = NaN;
    }
    if (enqueuedCache.size > 10_000) enqueuedCache.clear();
    enqueuedCache.set(text, ms);
  }
  return ms;
}

// DuckDB's JSON reader also takes trailing commas and nan/inf/Infinity in any case (checked on
// DuckDB 1.5 in test/bronzeRows.test.ts); a body that might hold one, or a `\u` escape (perhaps an
// unpaired surrogate), is checked exactly. DuckDB's own parse, in try(), refuses the rest of
// malformed text as strictly as JSON.parse.
const MAYBE_LENIENT = /,\s*[}\]]|nan|inf|\\u/i;

/**
 * Strict JSON by the validator's rules (lib/cdc/jsonText.ts), for the bodies DuckDB would read too
 * leniently: those are checked exactly, by JSON.parse or, with a `\u` escape, the exact parser.
 */
export function isStrictJson(text: string): boolean {
  if (!MAYBE_LENIENT.test(text)) return true;
  try {
    if (text.includes('\\u')) parseJsonText(text);
    else JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

export function toBronzeColumns(records: CaptureRecordWithoutProperties[]): BronzeColumns {
  const n = records.length;
  const columns: BronzeColumns = {
    sequenceNumbers: new Array(n),
    offsets: new Array(n),
    enqueuedMs: new Array(n),
    bodies: new Array(n),
    utf8: new Array(n),
    isJson: new Array(n),
  };
  for (let i = 0; i < n; i++) {
    const record = records[i];
    columns.sequenceNumbers[i] = record.SequenceNumber;
    columns.offsets[i] = record.Offset;
    columns.enqueuedMs[i] = enqueuedMs(record.EnqueuedTimeUtc);
    const body = record.Body;
    if (body === null) {
      columns.bodies[i] = null;
      columns.utf8[i] = false;
      columns.isJson[i] = false;
    } else if (isUtf8(body)) {
      const text = body.toString('utf8');
      columns.bodies[i] = text;
      columns.utf8[i] = true;
      columns.isJson[i] = isStrictJson(text);
    } else {
      columns.bodies[i] = body.toString('base64');
      columns.utf8[i] = false;
      columns.isJson[i] = false;
    }
  }
  return columns;
}
