import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { readCaptureRecords } from '../../lib/capture/captureFileReader';
import { CapturePathFormat } from '../../lib/capture/capturePath';
import { parseEnqueuedTimeUtc } from '../../lib/capture/enqueuedTime';
import { CaptureRecord } from '../../lib/capture/schema';
import { CaptureSettings } from '../../lib/capture/captureSettings';
import {
  CapturedFile,
  EmulatedEvent,
  EventHubEmulator,
  EventTooLargeError,
  MAX_EVENT_BYTES,
} from '../../lib/local/captureEmulator';
import { partitionForKey } from '../../lib/eventHubs/partitionKey';
import {
  CaptureStore,
  DirectoryCaptureStore,
  captureStoreForConnection,
} from '../../lib/storage/captureStore';
import { useAzurite } from '../support/azurite';

const T0 = Date.UTC(2026, 10, 24, 9, 16, 48, 250);

function settings(overrides: Partial<CaptureSettings> = {}): CaptureSettings {
  return {
    namespace: 'ordersns',
    eventHub: 'orders',
    partitionCount: 4,
    windowSeconds: 60,
    sizeLimitBytes: 100 * 1024 * 1024,
    skipEmptyArchives: true,
    codec: 'deflate',
    pathFormat: new CapturePathFormat(),
    ...overrides,
  };
}

class FakeClock {
  constructor(public now = T0) {}
  advance(ms: number): void {
    this.now += ms;
  }
  read = (): number => this.now;
}

async function readAll(store: CaptureStore): Promise<Map<string, CaptureRecord[]>> {
  const files = new Map<string, CaptureRecord[]>();
  for await (const file of store.list()) {
    const records: CaptureRecord[] = [];
    for await (const record of readCaptureRecords(store.read(file.path), { file: file.path }))
      records.push(record);
    files.set(file.path, records);
  }
  return files;
}

function events(n: number, from = 0): EmulatedEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    body: JSON.stringify({ n: from + i, pad: 'x'.repeat(200) }),
    partitionKey: String(581000 + ((from + i) % 37)),
  }));
}

function tempStore(): DirectoryCaptureStore {
  return new DirectoryCaptureStore(fs.mkdtempSync(path.join(os.tmpdir(), 'capture-')));
}

describe('EventHubEmulator (local folder, fake clock)', () => {
  it('captures every event once, in its key’s partition, numbered like Event Hubs', async () => {
    const clock = new FakeClock();
    const store = tempStore();
    const captured: CapturedFile[] = [];
    const hub = await EventHubEmulator.open(settings(), store, {
      clock: clock.read,
      onFileCaptured: (f) => captured.push(f),
    });
    const published = await hub.publish(events(500));
    clock.advance(30_000);
    await hub.publish(events(500, 500));
    await hub.close();

    const files = await readAll(store);
    expect([...files.keys()].sort()).toEqual(
      ['0', '1', '2', '3'].map((p) => `ordersns/orders/${p}/2026/11/24/09/16/48.avro`),
    );
    expect(captured.map((f) => f.records).reduce((a, b) => a + b)).toBe(1000);
    const bodies: number[] = [];
    for (const [file, records] of files) {
      const partitionId = file.split('/')[2];
      records.forEach((record, i) => {
        const key = record.SystemProperties['x-opt-partition-key'] as string;
        expect(String(partitionForKey(key, 4))).toBe(partitionId);
        expect(record.SequenceNumber).toBe(i);
        expect(record.SystemProperties['x-opt-sequence-number']).toBe(i);
        expect(record.SystemProperties['x-opt-offset']).toBe(record.Offset);
        expect(parseEnqueuedTimeUtc(record.EnqueuedTimeUtc).getTime()).toBe(
          Math.floor((record.SystemProperties['x-opt-enqueued-time'] as number) / 1000) * 1000,
        );
        if (i > 0) expect(Number(record.Offset)).toBeGreaterThan(Number(records[i - 1].Offset));
        bodies.push((JSON.parse(record.Body!.toString()) as { n: number }).n);
      });
    }
    expect(bodies.sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(published.filter((p) => p.partitionId === '0').map((p) => p.sequenceNumber)).toEqual(
      files
        .get('ordersns/orders/0/2026/11/24/09/16/48.avro')!
        .slice(0, published.filter((p) => p.partitionId === '0').length)
        .map((r) => r.SequenceNumber),
    );
  });

  it('closes a file when its time window elapses and names the next for its window start', async () => {
    const clock = new FakeClock();
    const store = tempStore();
    const hub = await EventHubEmulator.open(settings({ partitionCount: 1 }), store, { clock: clock.read });
    await hub.publish(events(10));
    clock.advance(60_000);
    await hub.tick();
    expect([...(await readAll(store)).keys()]).toEqual(['ordersns/orders/0/2026/11/24/09/16/48.avro']);
    await hub.publish(events(5, 10));
    await hub.close();
    const files = await readAll(store);
    expect([...files.entries()].map(([name, records]) => [name, records.length])).toEqual([
      ['ordersns/orders/0/2026/11/24/09/16/48.avro', 10],
      ['ordersns/orders/0/2026/11/24/09/17/48.avro', 5],
    ]);
    expect(files.get('ordersns/orders/0/2026/11/24/09/17/48.avro')![0].SequenceNumber).toBe(10);
  });

  it('writes header-only files for idle windows unless empty archives are skipped', async () => {
    for (const skipEmptyArchives of [false, true]) {
      const clock = new FakeClock();
      const store = tempStore();
      const hub = await EventHubEmulator.open(settings({ partitionCount: 2, skipEmptyArchives }), store, {
        clock: clock.read,
      });
      clock.advance(180_000);
      await hub.tick();
      await hub.publish([{ body: 'x', partitionKey: '581000' }]);
      await hub.close();
      const files = await readAll(store);
      const empty = [...files.values()].filter((records) => records.length === 0).length;
      expect(empty).toBe(skipEmptyArchives ? 0 : 6);
      expect([...files.values()].flat()).toHaveLength(1);
      expect(hub.stats.emptyFiles).toBe(empty);
    }
  });

  it('closes a file at the size limit, with no two files of a partition named alike', async () => {
    const clock = new FakeClock();
    const store = tempStore();
    const hub = await EventHubEmulator.open(
      settings({ partitionCount: 1, sizeLimitBytes: 20_000, codec: 'null' }),
      store,
      { clock: clock.read, blockBytes: 4096 },
    );
    await hub.publish(events(300));
    await hub.close();
    const files = await readAll(store);
    expect(files.size).toBeGreaterThan(3);
    expect([...files.values()].flat()).toHaveLength(300);
    for await (const file of store.list()) expect(file.bytes).toBeLessThan(20_000 + 4096 + 1000);
  });

  it('loses nothing across a shutdown and continues each partition’s numbering when reopened', async () => {
    const clock = new FakeClock();
    const store = tempStore();
    const first = await EventHubEmulator.open(settings(), store, { clock: clock.read });
    await first.publish(events(400));
    await first.close();
    await expect(first.publish(events(1))).rejects.toThrow(/closed/);
    clock.advance(1000);
    const second = await EventHubEmulator.open(settings(), store, { clock: clock.read });
    await second.publish(events(400, 400));
    await second.close();

    const files = await readAll(store);
    expect([...files.values()].flat()).toHaveLength(800);
    for (const partition of ['0', '1', '2', '3']) {
      const records = [...files.entries()]
        .filter(([name]) => name.split('/')[2] === partition)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .flatMap(([, r]) => r);
      expect(records.map((r) => r.SequenceNumber)).toEqual(records.map((_, i) => i));
    }
  });

  it('refuses an event over the Event Hubs size limit', async () => {
    const hub = await EventHubEmulator.open(settings(), tempStore());
    await expect(hub.publish([{ body: Buffer.alloc(MAX_EVENT_BYTES + 1) }])).rejects.toThrow(
      EventTooLargeError,
    );
    await hub.close();
  });

  it('leaves no visible file before a window closes', async () => {
    const clock = new FakeClock();
    const store = tempStore();
    const hub = await EventHubEmulator.open(settings({ partitionCount: 1 }), store, {
      clock: clock.read,
      blockBytes: 1024,
    });
    await hub.publish(events(100));
    expect((await readAll(store)).size).toBe(0);
    await hub.close();
    expect((await readAll(store)).size).toBe(1);
  });
});

describe('EventHubEmulator on Azurite', () => {
  const azurite = useAzurite();

  it('writes block blobs that a reader decodes record for record', async () => {
    const store = captureStoreForConnection({ connectionString: azurite().connectionString }, 'capture');
    const clock = new FakeClock();
    const hub = await EventHubEmulator.open(settings({ partitionCount: 2, sizeLimitBytes: 200_000 }), store, {
      clock: clock.read,
      blockBytes: 16 * 1024,
    });
    const sent = events(3000);
    await hub.publish(sent.slice(0, 1500));
    const container = BlobServiceClient.fromConnectionString(azurite().connectionString).getContainerClient(
      'capture',
    );
    const visibleMidWindow: string[] = [];
    for await (const blob of container.listBlobsFlat()) visibleMidWindow.push(blob.name);
    await hub.publish(sent.slice(1500));
    await hub.close();

    const files = await readAll(store);
    const bodies = [...files.values()].flat().map((r) => r.Body!.toString());
    expect(bodies.sort()).toEqual(sent.map((e) => e.body as string).sort());
    // Only windows closed by the size limit were visible while the hub was still writing.
    expect(visibleMidWindow.length).toBeLessThan(files.size);
    for (const name of visibleMidWindow) expect(files.has(name)).toBe(true);
  });
});
