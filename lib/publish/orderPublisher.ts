import type { EventHubProducerClient } from '@azure/event-hubs';
import { DqRule } from '../cdc/event';
import { JsonItemLimitError, JsonSyntaxError, parseJsonText, serializeJsonValue } from '../cdc/jsonText';
import { validateCdcBody } from '../cdc/validate';

/** An event to send: its body (UTF-8 JSON) and its partition key, the order's TransactionNo. */
export interface OrderEvent {
  body: string;
  partitionKey: string;
}

/** Where valid events go: Event Hubs in Azure, the Capture emulator locally. */
export interface OrderEventSink {
  send(events: OrderEvent[], options?: { abortSignal?: AbortSignal }): Promise<void>;
}

/** Most events one request may hold; past it the answer is 413 and nothing is sent. */
export const MAX_EVENTS_PER_REQUEST = 10_000;

/** Most rejections an answer lists (the first ones, by index); `rejectedCount` counts them all. */
export const MAX_LISTED_REJECTIONS = 100;

/**
 * Largest event, body and partition key together, in bytes. Event Hubs Standard takes a message of
 * at most 1 MiB (1,048,576 bytes) including its AMQP envelope; 1,000,000 leaves room for that, and
 * the local emulator's 1 MiB limit is never reached, so both places give the same answer.
 */
export const MAX_EVENT_BYTES = 1_000_000;

/**
 * The rule a rejection names: a data-quality rule, or `size` for an event that passes them but is
 * larger than one Event Hubs message. `size` is the publish API's own: the lakehouse never sees
 * such an event (Event Hubs refuses it), so it is no rule of silver.sql, quarantine or dq_metrics.
 * Reusing `json` would say the body is malformed, which it is not.
 */
export type PublishRule = DqRule | 'size';

export interface Rejection {
  index: number;
  rule: PublishRule;
  reason: string;
}

/** Events a sink refused before it sent anything: each larger than one message of the hub. */
export class EventsTooLargeError extends Error {
  constructor(
    /** Indexes into the events given to `send`, ascending. */
    readonly indexes: number[],
  ) {
    super(`${indexes.length} event(s) larger than one Event Hubs message; nothing was sent`);
    this.name = 'EventsTooLargeError';
  }
}

/**
 * Event Hubs, in batches the hub accepts (`createBatch` knows the size limit), one partition key
 * per batch as the SDK requires. Every batch is built before the first is sent, so an event larger
 * than a whole batch is refused (EventsTooLargeError) with nothing sent.
 */
export class EventHubsSink implements OrderEventSink {
  constructor(private readonly producer: EventHubProducerClient) {}

  async send(events: OrderEvent[], options: { abortSignal?: AbortSignal } = {}): Promise<void> {
    const { abortSignal } = options;
    const byKey = new Map<string, number[]>();
    events.forEach((event, index) => {
      const group = byKey.get(event.partitionKey);
      if (group) group.push(index);
      else byKey.set(event.partitionKey, [index]);
    });
    const batches: Awaited<ReturnType<EventHubProducerClient['createBatch']>>[] = [];
    const tooLarge: number[] = [];
    for (const [partitionKey, indexes] of byKey) {
      let batch = await this.producer.createBatch({ partitionKey, abortSignal });
      for (const index of indexes) {
        // Bytes, not a string: the SDK JSON-encodes any other body, which would put a JSON string
        // literal (`"{\"op\":…}"`) on the hub instead of the event's object.
        const data = { body: Buffer.from(events[index].body, 'utf8'), contentType: 'application/json' };
        if (batch.tryAdd(data)) continue;
        if (batch.count > 0) {
          batches.push(batch);
          batch = await this.producer.createBatch({ partitionKey, abortSignal });
          if (batch.tryAdd(data)) continue;
        }
        tooLarge.push(index);
      }
      if (batch.count > 0) batches.push(batch);
    }
    if (tooLarge.length > 0) throw new EventsTooLargeError(tooLarge.sort((a, b) => a - b));
    for (const batch of batches) await this.producer.sendBatch(batch, { abortSignal });
  }
}

export interface PublishAnswer {
  status: 200 | 400 | 413 | 415;
  body: {
    accepted: number[];
    /** The first MAX_LISTED_REJECTIONS rejections, by index. */
    rejected: Rejection[];
    /** How many events were rejected in all. */
    rejectedCount: number;
    error?: string;
  };
}

const refusal = (status: PublishAnswer['status'], error: string): PublishAnswer => ({
  status,
  body: { accepted: [], rejected: [], rejectedCount: 0, error },
});

/** The 413 answer; `atLeast` when the body was cut off at the limit, its full length unknown. */
export function payloadTooLarge(bytes: number, maxBytes: number, atLeast = false): PublishAnswer {
  return refusal(413, `request body is ${atLeast ? 'over ' : ''}${bytes} bytes; the limit is ${maxBytes}`);
}

/** True for `application/json`, with or without parameters (`; charset=utf-8`). */
export function isJsonContentType(contentType: string | null | undefined): boolean {
  return contentType?.split(';')[0].trim().toLowerCase() === 'application/json';
}

/** An HTTP request to `POST /api/orders`, as either host hands it over. */
export interface PublishRequest {
  contentType: string | null | undefined;
  contentLength: string | null | undefined;
  /** The body as it arrives: a Node request or a web ReadableStream (Functions v4). */
  body: AsyncIterable<Uint8Array | string> | null | undefined;
}

/**
 * The publish endpoint, for both hosts: 415 unless the body is declared `application/json` (a
 * browser cannot send that cross-origin without a CORS preflight, which nothing here answers),
 * 413 when the declared length is over the limit (nothing read), else the body is read with a
 * running cap — a chunked body without a length included — and handed to `publishOrders`.
 */
export async function publishRequest(
  request: PublishRequest,
  sink: OrderEventSink,
  options: { maxBytes: number; abortSignal?: AbortSignal },
): Promise<PublishAnswer> {
  if (!isJsonContentType(request.contentType)) {
    return refusal(
      415,
      `content-type is ${request.contentType ? JSON.stringify(request.contentType.slice(0, 64)) : 'missing'}; send application/json`,
    );
  }
  const declared = Number(request.contentLength ?? 0);
  if (declared > options.maxBytes) return payloadTooLarge(declared, options.maxBytes);
  const body = await readCapped(request.body, options.maxBytes);
  if (body === undefined) return payloadTooLarge(options.maxBytes, options.maxBytes, true);
  return publishOrders(body, sink, options);
}

/**
 * The whole body, or undefined as soon as it passes maxBytes: reading stops there (leaving the
 * loop cancels a web stream and destroys a Node one), so a chunked body costs at most the limit.
 */
export async function readCapped(
  body: AsyncIterable<Uint8Array | string> | null | undefined,
  maxBytes: number,
): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  if (body) {
    for await (const chunk of body) {
      const bytes =
        typeof chunk === 'string'
          ? Buffer.from(chunk)
          : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      size += bytes.length;
      if (size > maxBytes) return undefined;
      chunks.push(bytes);
    }
  }
  return Buffer.concat(chunks);
}

/**
 * `POST /api/orders`: one CDC event or a JSON array of them. Each is checked with the lakehouse's
 * rules and Event Hubs' message size; valid ones are sent (partition key TransactionNo), invalid
 * ones answered with the rule they break. Everything is checked before anything is sent. Any
 * invalid event makes the answer 400, which lists what was accepted too: sending an accepted event
 * again is harmless (the same lsn is a no-op in silver).
 */
export async function publishOrders(
  body: Buffer,
  sink: OrderEventSink,
  options: { maxBytes: number; abortSignal?: AbortSignal },
): Promise<PublishAnswer> {
  if (body.length > options.maxBytes) return payloadTooLarge(body.length, options.maxBytes);
  let text: string;
  let parsed;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    parsed = parseJsonText(text, { maxItems: MAX_EVENTS_PER_REQUEST });
  } catch (error) {
    if (error instanceof JsonItemLimitError) {
      return refusal(
        413,
        `the request holds more than ${MAX_EVENTS_PER_REQUEST} events; the limit is ${MAX_EVENTS_PER_REQUEST} per request`,
      );
    }
    const reason = error instanceof JsonSyntaxError ? `not valid JSON: ${error.message}` : 'not valid UTF-8';
    return {
      status: 400,
      body: {
        accepted: [],
        rejected: [{ index: 0, rule: 'json', reason }],
        rejectedCount: 1,
        error: 'request body is ' + reason,
      },
    };
  }
  const items = Array.isArray(parsed) ? parsed : [parsed];
  if (items.length === 0) return refusal(400, 'the array holds no events');
  const rejected: Rejection[] = [];
  let valid: { index: number; event: OrderEvent }[] = [];
  items.forEach((item, index) => {
    const eventText = serializeJsonValue(item);
    const verdict = validateCdcBody(eventText);
    if (!verdict.ok) {
      rejected.push({ index, rule: verdict.rule, reason: verdict.reason });
      return;
    }
    const event = { body: eventText, partitionKey: verdict.change.transactionNo };
    const bytes = Buffer.byteLength(event.body) + Buffer.byteLength(event.partitionKey);
    if (bytes > MAX_EVENT_BYTES) {
      rejected.push({ index, rule: 'size', reason: tooLargeReason(bytes) });
      return;
    }
    valid.push({ index, event });
  });
  if (valid.length > 0) {
    try {
      await sink.send(
        valid.map((v) => v.event),
        { abortSignal: options.abortSignal },
      );
    } catch (error) {
      // The sink found events larger than one message of its hub (its envelope counted), before
      // sending anything: they are rejected, the others sent.
      if (!(error instanceof EventsTooLargeError)) throw error;
      const refused = new Set(error.indexes);
      for (const i of refused)
        rejected.push({ index: valid[i].index, rule: 'size', reason: tooLargeReason() });
      valid = valid.filter((_, i) => !refused.has(i));
      if (valid.length > 0) {
        await sink.send(
          valid.map((v) => v.event),
          { abortSignal: options.abortSignal },
        );
      }
    }
  }
  rejected.sort((a, b) => a.index - b.index);
  return {
    status: rejected.length > 0 ? 400 : 200,
    body: {
      accepted: valid.map((v) => v.index),
      rejected: rejected.slice(0, MAX_LISTED_REJECTIONS),
      rejectedCount: rejected.length,
    },
  };
}

function tooLargeReason(bytes?: number): string {
  return bytes === undefined
    ? 'the event is larger than one Event Hubs message'
    : `the event is ${bytes} bytes with its partition key; Event Hubs takes at most ${MAX_EVENT_BYTES}`;
}
