import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EventHubProducerClient } from '@azure/event-hubs';
import { readCaptureRecords } from '../../lib/capture/captureFileReader';
import { CapturePathFormat } from '../../lib/capture/capturePath';
import { EmulatorSink, EventHubEmulator } from '../../lib/local/captureEmulator';
import { partitionForKey } from '../../lib/eventHubs/partitionKey';
import {
  EventHubsSink,
  EventsTooLargeError,
  OrderEvent,
  publishOrders,
} from '../../lib/publish/orderPublisher';
import { DirectoryCaptureStore } from '../../lib/storage/captureStore';
import { cdcChange } from '../support/pipelineFixtures';

const LIMIT = 64 * 1024;

/** A sink that keeps what it was sent. */
class KeptEvents {
  readonly sent: OrderEvent[] = [];
  async send(events: OrderEvent[]) {
    this.sent.push(...events);
  }
}

const body = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

describe('publish API', () => {
  it('accepts one valid event and sends it keyed by TransactionNo', async () => {
    const sink = new KeptEvents();
    const event = cdcChange(5, 'P1', { TransactionNo: '581482' });
    expect(await publishOrders(body(event), sink, { maxBytes: LIMIT })).toEqual({
      status: 200,
      body: { accepted: [0], rejected: [], rejectedCount: 0 },
    });
    expect(sink.sent).toEqual([{ body: JSON.stringify(event), partitionKey: '581482' }]);
  });

  it('keeps each number as written when it forwards an event', async () => {
    const sink = new KeptEvents();
    const text =
      '{"op":"c","ts_ms":1,"source":{"lsn":9223372036854775807},"before":null,"after":{"TransactionNo":"1","Date":"2019-12-09","ProductNo":"2","ProductName":"x","Price":21.475,"Quantity":12.0,"CustomerNo":17490,"Country":"UK"}}';
    expect((await publishOrders(body(`[${text}]`), sink, { maxBytes: LIMIT })).status).toBe(200);
    expect(sink.sent[0].body).toBe(text);
  });

  it('answers 400 naming the failing rule of each invalid event', async () => {
    const sink = new KeptEvents();
    const events = [
      { ...(cdcChange(1, 'A') as object), op: 'x' },
      cdcChange(2, 'B', { Price: -1 }),
      cdcChange(3, 'C', { Date: '2019-02-30' }),
      42,
    ];
    const answer = await publishOrders(body(events), sink, { maxBytes: LIMIT });
    expect(answer.status).toBe(400);
    expect(answer.body.accepted).toEqual([]);
    expect(answer.body.rejected.map((r) => [r.index, r.rule])).toEqual([
      [0, 'op'],
      [1, 'price'],
      [2, 'date'],
      [3, 'json'],
    ]);
    expect(answer.body.rejected.every((r) => r.reason.length > 0)).toBe(true);
    expect(sink.sent).toEqual([]);
  });

  it('sends the valid events of a mixed batch and says which were accepted', async () => {
    const sink = new KeptEvents();
    const answer = await publishOrders(
      body([cdcChange(1, 'A'), cdcChange(2, 'B', { Quantity: 2.5 }), cdcChange(3, 'C')]),
      sink,
      { maxBytes: LIMIT },
    );
    expect(answer).toMatchObject({
      status: 400,
      body: { accepted: [0, 2], rejected: [{ index: 1, rule: 'quantity' }] },
    });
    expect(sink.sent.map((e) => JSON.parse(e.body).source.lsn)).toEqual([1, 3]);
  });

  it('answers 413 past the size limit and 400 for a body that is not JSON', async () => {
    const sink = new KeptEvents();
    const big = body(Array.from({ length: 500 }, (_, i) => cdcChange(i + 1, `P${i}`)));
    expect(big.length).toBeGreaterThan(LIMIT);
    expect(await publishOrders(big, sink, { maxBytes: LIMIT })).toMatchObject({
      status: 413,
      body: { error: `request body is ${big.length} bytes; the limit is ${LIMIT}` },
    });
    expect(await publishOrders(body('{"op":'), sink, { maxBytes: LIMIT })).toMatchObject({
      status: 400,
      body: { rejected: [{ index: 0, rule: 'json' }] },
    });
    expect(await publishOrders(body('[]'), sink, { maxBytes: LIMIT })).toMatchObject({ status: 400 });
    expect(await publishOrders(Buffer.from([0x7b, 0xff, 0x7d]), sink, { maxBytes: LIMIT })).toMatchObject({
      status: 400,
      body: { rejected: [{ rule: 'json', reason: 'not valid UTF-8' }] },
    });
    expect(sink.sent).toEqual([]);
  });

  it('locally, publishes into the Capture emulator: the events land in the partition of their key', async () => {
    const store = new DirectoryCaptureStore(fs.mkdtempSync(path.join(os.tmpdir(), 'publish-')));
    const emulator = await EventHubEmulator.open(
      {
        namespace: 'ordersns',
        eventHub: 'orders',
        partitionCount: 4,
        windowSeconds: 60,
        sizeLimitBytes: 1024 * 1024,
        skipEmptyArchives: true,
        codec: 'deflate',
        pathFormat: new CapturePathFormat(),
      },
      store,
    );
    const events = [cdcChange(1, 'A', { TransactionNo: '100' }), cdcChange(2, 'B', { TransactionNo: '200' })];
    expect((await publishOrders(body(events), new EmulatorSink(emulator), { maxBytes: LIMIT })).status).toBe(
      200,
    );
    await emulator.close();
    const landed: { partition: string; body: string }[] = [];
    for await (const file of store.list()) {
      for await (const record of readCaptureRecords(store.read(file.path), { file: file.path })) {
        landed.push({ partition: file.path.split('/')[2], body: record.Body!.toString() });
      }
    }
    expect(landed.sort((a, b) => a.body.localeCompare(b.body))).toEqual(
      events.map((e) => ({
        partition: String(
          partitionForKey((e as { after: { TransactionNo: string } }).after.TransactionNo, 4),
        ),
        body: JSON.stringify(e),
      })),
    );
  });
});

describe('Event Hubs sink', () => {
  /**
   * Event Hubs cannot run here: a producer with the SDK's batch contract and a byte limit. It
   * takes bodies as bytes only: the SDK JSON-encodes any other body (a string would reach the hub
   * as a JSON string literal, and every event would fail the lakehouse's `json` rule).
   */
  function producer(maxBatchBytes: number) {
    const sent: { partitionKey: string; bodies: string[] }[] = [];
    const calls: string[] = [];
    const client = {
      createBatch: async ({ partitionKey }: { partitionKey: string }) => {
        const bodies: string[] = [];
        let bytes = 0;
        return {
          partitionKey,
          bodies,
          get count() {
            return bodies.length;
          },
          tryAdd: ({ body: b }: { body: unknown }) => {
            if (!(b instanceof Uint8Array)) throw new Error(`body is ${typeof b}, not bytes`);
            calls.push(`tryAdd ${partitionKey}`);
            if (bytes + b.length > maxBatchBytes) return false;
            bodies.push(Buffer.from(b).toString('utf8'));
            bytes += b.length;
            return true;
          },
        };
      },
      sendBatch: async (batch: { partitionKey: string; bodies: string[] }) => {
        calls.push(`send ${batch.partitionKey}`);
        sent.push({ partitionKey: batch.partitionKey, bodies: [...batch.bodies] });
      },
    };
    return { client: client as unknown as EventHubProducerClient, sent, calls };
  }

  it('sends one key per batch and starts a new batch when one is full', async () => {
    const { client, sent } = producer(25);
    const events: OrderEvent[] = [
      { body: 'a'.repeat(10), partitionKey: 'T1' },
      { body: 'b'.repeat(10), partitionKey: 'T2' },
      { body: 'c'.repeat(10), partitionKey: 'T1' },
      { body: 'd'.repeat(10), partitionKey: 'T1' },
    ];
    await new EventHubsSink(client).send(events);
    expect(sent).toEqual([
      { partitionKey: 'T1', bodies: ['a'.repeat(10), 'c'.repeat(10)] },
      { partitionKey: 'T1', bodies: ['d'.repeat(10)] },
      { partitionKey: 'T2', bodies: ['b'.repeat(10)] },
    ]);
  });

  it('refuses events larger than a whole batch before it sends anything, naming their indexes', async () => {
    const { client, sent, calls } = producer(25);
    const refused = new EventHubsSink(client).send([
      { body: 'a'.repeat(10), partitionKey: 'T1' },
      { body: 'x'.repeat(30), partitionKey: 'T9' },
      { body: 'b'.repeat(10), partitionKey: 'T1' },
      { body: 'y'.repeat(26), partitionKey: 'T1' },
    ]);
    await expect(refused).rejects.toBeInstanceOf(EventsTooLargeError);
    await expect(refused).rejects.toMatchObject({ indexes: [1, 3] });
    expect(sent).toEqual([]);
    expect(calls.filter((c) => c.startsWith('send'))).toEqual([]);
  });

  it('builds every batch before it sends the first', async () => {
    const { client, calls } = producer(25);
    await new EventHubsSink(client).send([
      { body: 'a'.repeat(20), partitionKey: 'T1' },
      { body: 'b'.repeat(20), partitionKey: 'T1' },
      { body: 'c'.repeat(20), partitionKey: 'T2' },
    ]);
    const firstSend = calls.findIndex((c) => c.startsWith('send'));
    expect(calls.slice(firstSend).every((c) => c.startsWith('send'))).toBe(true);
    expect(calls.filter((c) => c.startsWith('send'))).toEqual(['send T1', 'send T1', 'send T2']);
  });

  it('hands the SDK each body as its UTF-8 bytes, so the hub carries the event text itself', async () => {
    const { client, sent } = producer(1000);
    const text = '{"op":"c","after":{"ProductName":"Crème brûlée"}}';
    await new EventHubsSink(client).send([{ body: text, partitionKey: 'T1' }]);
    expect(sent).toEqual([{ partitionKey: 'T1', bodies: [text] }]);
  });
});
