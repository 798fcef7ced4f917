/**
 * The backlog timer's cost as history grows: N historical capture blobs (recorded and finished in
 * the ledger, behind the watermark) and 100 new ones in the current hour, in Azurite.
 *   npm run bench:backlog -- [--history 100000] [--new 100] [--partitions 4]
 */
import { parseArgs } from 'node:util';
import { BlobServiceClient } from '@azure/storage-blob';
import { hourOf, ledgerKeys } from '../lib/ledger/ledger';
import { storageTableClient } from '../lib/ledger/ledger';
import { LocalPipeline } from '../lib/local/localPipeline';
import { encodeCaptureFile } from '../lib/capture/captureFileWriter';
import { openBenchStack } from './benchStack';

const HOUR = 3_600_000;

async function inParallel<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { history: { type: 'string' }, new: { type: 'string' }, partitions: { type: 'string' } },
  });
  const history = Number(values.history ?? 100_000);
  const fresh = Number(values.new ?? 100);
  const partitions = Number(values.partitions ?? 4);
  const bench = await openBenchStack('backlog', {
    EVENTHUB_PARTITIONS: String(partitions),
    BATCH_WAIT_SECONDS: '86400',
  });
  const { azurite, config } = bench;
  const pipeline = await LocalPipeline.open({ config, log: () => undefined, watchIntervalMs: 0 });
  try {
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
      config.CAPTURE_CONTAINER,
    );
    await container.createIfNotExists();
    const now = Date.now();
    const currentHour = Math.floor(now / HOUR) * HOUR;
    const body = await encodeCaptureFile([], { codec: 'deflate' });
    const newBody = await encodeCaptureFile(
      [
        {
          SequenceNumber: 0,
          Offset: '0',
          EnqueuedTimeUtc: '11/26/2026 9:00:00 AM',
          SystemProperties: {},
          Properties: {},
          Body: Buffer.from('{}'),
        },
      ],
      { codec: 'deflate' },
    );
    // History: spread over the 6 days before this hour, every partition, a second apart.
    const perHour = Math.ceil(history / (6 * 24 * partitions));
    const historical: string[] = [];
    for (let i = 0; historical.length < history; i++) {
      const hour = currentHour - HOUR * (1 + Math.floor(i / (partitions * perHour)));
      const partition = i % partitions;
      const second = Math.floor(i / partitions) % perHour;
      historical.push(
        config.CAPTURE_PATH_FORMAT.build({
          namespace: config.EVENTHUB_NAMESPACE,
          eventHub: config.EVENTHUB_NAME,
          partitionId: String(partition),
          windowStart: new Date(hour + second * 1000),
        }),
      );
    }
    const loadStarted = performance.now();
    await inParallel(historical, 32, async (name) => {
      await container.uploadBlockBlob(name, body, body.length);
    });
    // Their ledger rows, finished, written straight to the table in transactions of 100 per hour.
    const table = storageTableClient(config.AzureWebJobsStorage, config.LEDGER_TABLE);
    const byHour = new Map<string, string[]>();
    for (const name of historical) {
      const key = ledgerKeys(name, config.CAPTURE_PATH_FORMAT).partitionKey;
      byHour.set(key, [...(byHour.get(key) ?? []), name]);
    }
    const chunks: string[][] = [];
    for (const names of byHour.values())
      for (let i = 0; i < names.length; i += 100) chunks.push(names.slice(i, i + 100));
    await inParallel(chunks, 8, async (chunk) => {
      await table.submitTransaction(
        chunk.map((name) => [
          'create',
          {
            ...ledgerKeys(name, config.CAPTURE_PATH_FORMAT),
            path: name,
            url: container.getBlobClient(name).url,
            state: 'skipped',
            bytes: body.length,
            records: 0,
            capturedAt: new Date(now - 2 * HOUR).toISOString(),
            triggeredAt: new Date(now - 2 * HOUR).toISOString(),
          },
        ]),
      );
    });
    const seeded = (performance.now() - loadStarted) / 1000;
    // The first run walks the retention window once and sets the watermark.
    const first = await pipeline.backlog(now);
    // New files in the current hour, recorded by the trigger as usual.
    for (let i = 0; i < fresh; i++) {
      const name = config.CAPTURE_PATH_FORMAT.build({
        namespace: config.EVENTHUB_NAMESPACE,
        eventHub: config.EVENTHUB_NAME,
        partitionId: String(i % partitions),
        windowStart: new Date(currentHour + (i + 1) * 1000),
      });
      await container.uploadBlockBlob(name, newBody, newBody.length);
    }
    await pipeline.watcher.scan();
    const timings: number[] = [];
    let report = first;
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      report = await pipeline.backlog(now + 60_000);
      timings.push(performance.now() - started);
    }
    timings.sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        historicalBlobs: history,
        newBlobs: fresh,
        partitions,
        seedSeconds: +seeded.toFixed(1),
        firstRunSeconds: first.seconds,
        firstRunListedPartitionHours: first.listedHours,
        reportSeconds: { median: +(timings[2] / 1000).toFixed(3), max: +(timings[4] / 1000).toFixed(3) },
        listedPartitionHours: report.listedHours,
        unfinished: report.unfinished.files,
        watermark: report.watermark,
        currentHour: hourOf(new Date(currentHour)),
      }),
    );
  } finally {
    await pipeline.close();
    await bench.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
