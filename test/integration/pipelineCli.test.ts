import http from 'node:http';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import { LocalLakehouse } from '../../lib/lakehouse/localLakehouse';
import { TableLedger } from '../../lib/ledger/ledger';
import { blobCreatedEvent, webhookDelivery } from '../../lib/local/captureWatcher';
import { BlobEventError, capturedBlobOf } from '../../lib/pipeline/captureRecording';
import { CaptureStore, captureStoreForConnection } from '../../lib/storage/captureStore';
import { useAzurite } from '../support/azurite';
import { CaptureWriter, cdcChange, eventually, pipelineConfig } from '../support/pipelineFixtures';
import { runCli } from '../support/cli';

jest.setTimeout(120_000);

/** The CLI with only PATH and the given settings, as a deployment's environment would be. */
const cli = (args: string[], env: Record<string, string>, onStart?: Parameters<typeof runCli>[2]) =>
  runCli(args, { PATH: process.env.PATH, ...env }, onStart);

describe('CLI process, pipeline and jobs-api', () => {
  const azurite = useAzurite();

  it('process backfills files through the workflow, then reprocesses a selection without changing the tables', async () => {
    const config = pipelineConfig(azurite().connectionString);
    const env = {
      AzureWebJobsStorage: azurite().connectionString,
      CaptureStorage: azurite().connectionString,
      CAPTURE_CONTAINER: config.CAPTURE_CONTAINER,
      MANIFEST_CONTAINER: config.MANIFEST_CONTAINER,
      LEDGER_TABLE: config.LEDGER_TABLE,
      LOCAL_DATA_DIR: config.LOCAL_DATA_DIR,
      BATCH_WAIT_SECONDS: '1',
    };
    const writer = new CaptureWriter(
      captureStoreForConnection(config.CaptureStorage, config.CAPTURE_CONTAINER),
    );
    for (let i = 0; i < 6; i++) await writer.write([cdcChange(i + 1, `P${i}`)], String(i % 2));
    await writer.write([]);

    const first = await cli(['process', 'ordersns/orders/'], env);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({
      files: 7,
      succeeded: 6,
      skipped: 1,
      records: 6,
      runs: 1,
    });
    expect(first.stderr).toMatch(/process: 7\/7 files finished/);

    // Partition 0's files captured from 09:00:02 on: 09:00:02 and 09:00:04 (one second apart, alternating).
    const again = await cli(
      ['process', 'ordersns/orders/0/', '--since', '2026-11-24T09:00:01Z', '--until', '2026-11-24T09:00:05Z'],
      env,
    );
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ files: 2, succeeded: 2, records: 2 });
    const ledger = await TableLedger.open(
      config.AzureWebJobsStorage,
      config.LEDGER_TABLE,
      config.CAPTURE_PATH_FORMAT,
    );
    expect((await ledger.get('ordersns/orders/0/2026/11/24/09/00/02.avro'))?.attempts).toBe(2);
    expect((await ledger.get('ordersns/orders/0/2026/11/24/09/00/00.avro'))?.attempts).toBe(1);

    const lakehouse = await LocalLakehouse.open(path.join(config.LOCAL_DATA_DIR, 'lakehouse.duckdb'));
    try {
      expect(await lakehouse.rows('SELECT count(*) AS n FROM bronze_order_events')).toEqual([{ n: '6' }]);
      expect(await lakehouse.rows('SELECT count(*) AS n FROM silver_order_lines')).toEqual([{ n: '6' }]);
    } finally {
      await lakehouse.close();
    }

    const none = await cli(['process', 'nowhere/'], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no Capture files under nowhere\//);
  });

  it('jobs-api prints where it listens and stops on SIGTERM', async () => {
    const config = pipelineConfig(azurite().connectionString);
    const result = await cli(
      ['jobs-api', '--port', '0'],
      { LOCAL_DATA_DIR: config.LOCAL_DATA_DIR },
      (child) => {
        let stdout = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          if (/DATABRICKS_TOKEN=/.test(stdout)) child.kill('SIGTERM');
        });
      },
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^DATABRICKS_HOST=http:\/\/127\.0\.0\.1:\d+\nDATABRICKS_JOB_ID=1\nDATABRICKS_TOKEN=\S+\n$/,
    );
  });
});

describe('BlobCreated events', () => {
  const azurite = useAzurite();

  it('posts events to the Functions host’s blob webhook as an Event Grid subscription does', async () => {
    const received: { url: string; headers: http.IncomingHttpHeaders; body: unknown }[] = [];
    const server = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      received.push({
        url: req.url!,
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString()),
      });
      res.writeHead(received.length === 1 ? 202 : 500);
      res.end('host says no');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const host = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const store = captureStoreForConnection({ connectionString: azurite().connectionString }, 'capture');
      const event = blobCreatedEvent(store, 'capture', {
        path: 'ordersns/orders/0/2026/11/24/09/00/00.avro',
        bytes: 10,
        createdAt: new Date(),
      });
      const deliver = webhookDelivery(host, 'captureTrigger', 'k3y');
      await deliver(event);
      expect(received[0].url).toBe(
        '/runtime/webhooks/blobs?functionName=Host.Functions.captureTrigger&code=k3y',
      );
      expect(received[0].headers['aeg-event-type']).toBe('Notification');
      expect(received[0].body).toEqual([event]);
      expect(capturedBlobOf(event, 'capture')).toEqual({
        path: 'ordersns/orders/0/2026/11/24/09/00/00.avro',
        url: `${azurite().blobEndpoint}/capture/ordersns/orders/0/2026/11/24/09/00/00.avro`,
        bytes: 10,
        createdAt: new Date(event.eventTime),
      });
      await expect(deliver(event)).rejects.toThrow(/answered 500: host says no/);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('reads only finished blobs of the capture container, and refuses malformed events', () => {
    const store = captureStoreForConnection({ connectionString: azurite().connectionString }, 'capture');
    const event = blobCreatedEvent(store, 'capture', { path: 'a/b.avro', bytes: 10, createdAt: new Date() });
    expect(
      capturedBlobOf({ ...event, eventType: 'Microsoft.Storage.BlobDeleted' }, 'capture'),
    ).toBeUndefined();
    expect(capturedBlobOf(event, 'other')).toBeUndefined();
    expect(
      capturedBlobOf({ ...event, data: { ...event.data, api: 'FlushWithClose' } }, 'capture'),
    ).toBeDefined();
    expect(() => capturedBlobOf({ hello: 'world' }, 'capture')).toThrow(BlobEventError);
    expect(() => capturedBlobOf({ ...event, subject: '/nope' }, 'capture')).toThrow(/does not name a blob/);
    expect(() => capturedBlobOf({ ...event, data: { api: 'PutBlob' } }, 'capture')).toThrow(/lacks data.url/);
  });

  it('the watcher delivers each new blob once, and again after a failed delivery', async () => {
    const config = pipelineConfig(azurite().connectionString);
    const store = captureStoreForConnection(config.CaptureStorage, config.CAPTURE_CONTAINER);
    const writer = new CaptureWriter(store);
    const delivered: string[] = [];
    let failNext = true;
    const { CaptureWatcher } = await import('../../lib/local/captureWatcher');
    const errors: unknown[] = [];
    // The store as the watcher sees it, counting the listings it has gone all the way through.
    let scans = 0;
    const counted: CaptureStore = {
      description: store.description,
      fileUrl: (filePath) => store.fileUrl(filePath),
      read: (filePath, options) => store.read(filePath, options),
      create: (filePath) => store.create(filePath),
      async *list(options) {
        yield* store.list(options);
        scans++;
      },
    };
    const watcher = new CaptureWatcher(
      counted,
      config.CAPTURE_CONTAINER,
      async (event) => {
        if (failNext) {
          failNext = false;
          throw new Error('host down');
        }
        delivered.push(capturedBlobOf(event, config.CAPTURE_CONTAINER)!.path);
      },
      { intervalMs: 50, onError: (e) => errors.push(e) },
    );
    const a = await writer.write([cdcChange(1, 'A')]);
    watcher.start();
    const b = await writer.write([cdcChange(2, 'B')]);
    await eventually('both delivered', async () => delivered.length >= 2);
    // A scan that started after both deliveries lists both files again: it must deliver neither.
    // (The scan in progress now, if any, ends at scans + 1; the next one is whole at scans + 2.)
    const scansThen = scans;
    await eventually('a whole scan after both deliveries', async () => scans >= scansThen + 2);
    await watcher.stop();
    expect(delivered.sort()).toEqual([a, b].sort());
    expect(errors).toHaveLength(1);
  });
});
