import type { EventHubProducerClient } from '@azure/event-hubs';
import { DqRule } from '../cdc/event';
import { JsonSyntaxError, parseJsonText, serializeJsonValue } from '../cdc/jsonText';
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

/**
 * Event Hubs, in batches the hub accepts (`createBatch` knows the size limit), one partition key
 * per batch as the SDK requires.
 */
export class EventHubsSink implements OrderEventSink {
  constructor(private readonly producer: EventHubProducerClient) {}

  async send(events: OrderEvent[], options: { abortSignal?: AbortSignal } = {}): Promise<void> {
    const byKey = new Map<string, OrderEvent[]>();
    for (const event of events)
      byKey.set(event.partitionKey, [...(byKey.get(event.partitionKey) ?? []), event]);
    for (const [partitionKey, group] of byKey) {
      let batch = await this.producer.createBatch({ partitionKey, abortSignal: options.abortSignal });
      for (const event of group) {
        if (batch.tryAdd({ body: event.body, contentType: 'application/json' })) continue;
        if (batch.count === 0)
          throw new Error(`an event of TransactionNo ${partitionKey} is larger than a batch`);
        await this.producer.sendBatch(batch, { abortSignal: options.abortSignal });
        batch = await this.producer.createBatch({ partitionKey, abortSignal: options.abortSignal });
        if (!batch.tryAdd({ body: event.body, contentType: 'application/json' })) {
          throw new Error(`an event of TransactionNo ${partitionKey} is larger than a batch`);
        }
      }
      if (batch.count > 0) await this.producer.sendBatch(batch, { abortSignal: options.abortSignal });
    }
  }
}

export interface PublishAnswer {
  status: 200 | 400 | 413;
  body: {
    accepted: number[];
    rejected: { index: number; rule: DqRule; reason: string }[];
    error?: string;
  };
}

/** The 413 answer, also given before reading a body whose declared length is over the limit. */
export function payloadTooLarge(bytes: number, maxBytes: number): PublishAnswer {
  return {
    status: 413,
    body: { accepted: [], rejected: [], error: `request body is ${bytes} bytes; the limit is ${maxBytes}` },
  };
}

/**
 * `POST /api/orders`: one CDC event or a JSON array of them. Each is checked with the lakehouse's
 * rules; valid ones are sent (partition key TransactionNo), invalid ones answered with the rule
 * they break. Any invalid event makes the answer 400, which lists what was accepted too: sending an
 * accepted event again is harmless (the same lsn is a no-op in silver).
 */
export async function publishOrders(
  body: Buffer,
  sink: OrderEventSink,
  options: { maxBytes: number; abortSignal?: AbortSignal },
): Promise<PublishAnswer> {
  if (body.length > options.maxBytes) {
    return {
      status: 413,
      body: {
        accepted: [],
        rejected: [],
        error: `request body is ${body.length} bytes; the limit is ${options.maxBytes}`,
      },
    };
  }
  let text: string;
  let parsed;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    parsed = parseJsonText(text);
  } catch (error) {
    const reason = error instanceof JsonSyntaxError ? `not valid JSON: ${error.message}` : 'not valid UTF-8';
    return {
      status: 400,
      body: {
        accepted: [],
        rejected: [{ index: 0, rule: 'json', reason }],
        error: 'request body is ' + reason,
      },
    };
  }
  const items = Array.isArray(parsed) ? parsed : [parsed];
  if (items.length === 0)
    return { status: 400, body: { accepted: [], rejected: [], error: 'the array holds no events' } };
  const accepted: number[] = [];
  const rejected: PublishAnswer['body']['rejected'] = [];
  const events: OrderEvent[] = [];
  items.forEach((item, index) => {
    const eventText = serializeJsonValue(item);
    const verdict = validateCdcBody(eventText);
    if (verdict.ok) {
      accepted.push(index);
      events.push({ body: eventText, partitionKey: verdict.change.transactionNo });
    } else {
      rejected.push({ index, rule: verdict.rule, reason: verdict.reason });
    }
  });
  if (events.length > 0) await sink.send(events, { abortSignal: options.abortSignal });
  return { status: rejected.length > 0 ? 400 : 200, body: { accepted, rejected } };
}
