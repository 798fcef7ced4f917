import path from 'node:path';
import { AppConfig } from '../config';
import { assertPortFree, startAzurite } from '../local/azurite';
import { captureStoreForConnection } from '../storage/captureStore';
import { goldSummary, formatGold } from '../lakehouse/goldSummary';
import { listBatchFiles } from '../lakehouse/batchFiles';
import { LocalLakehouse } from '../lakehouse/localLakehouse';
import { formatBatchResult } from './lakehouseCommands';
import { simulateCommand } from './simulateCommand';

export const START_HELP = `orders-pipeline start [simulate options]

Runs the local loop on the embedded defaults: starts Azurite (data under LOCAL_DATA_DIR/azurite,
ports 10000-10002 like UseDevelopmentStorage=true), replays orders through the Capture emulator
into the capture container, ingests the container's new Capture files into the local lakehouse
(LOCAL_DATA_DIR/lakehouse.duckdb: bronze, silver, gold), prints gold and stops. Takes the options
of simulate (default --events 20000). Ctrl+C stops the replay early; whatever was published is
flushed and ingested. A second start adds to the same data.
`;

const DEV_PORTS = { blobPort: 10000, queuePort: 10001, tablePort: 10002 };

export async function startCommand(args: string[], config: AppConfig, signal: AbortSignal): Promise<void> {
  await Promise.all([
    assertPortFree(DEV_PORTS.blobPort, 'Azurite blob'),
    assertPortFree(DEV_PORTS.queuePort, 'Azurite queue'),
    assertPortFree(DEV_PORTS.tablePort, 'Azurite table'),
  ]);
  const location = path.resolve(config.LOCAL_DATA_DIR, 'azurite');
  process.stderr.write(`start: Azurite on 127.0.0.1:10000-10002, data in ${location}\n`);
  const azurite = await startAzurite({ ...DEV_PORTS, location, signal });
  try {
    const store = captureStoreForConnection(
      { connectionString: azurite.connectionString },
      config.CAPTURE_CONTAINER,
    );
    await simulateCommand(args, config, signal, { events: 20_000, store });
    const files = await listBatchFiles(store);
    const lakehouse = await LocalLakehouse.open(path.resolve(config.LOCAL_DATA_DIR, 'lakehouse.duckdb'), {
      pathFormat: config.CAPTURE_PATH_FORMAT,
    });
    try {
      const result = await lakehouse.ingest(files);
      const gold = await goldSummary(lakehouse);
      if (args.includes('--json')) {
        process.stdout.write(`${JSON.stringify(result)}\n${JSON.stringify(gold)}\n`);
      } else {
        process.stdout.write(`${formatBatchResult(result)}${formatGold(gold)}`);
      }
    } finally {
      await lakehouse.close();
    }
  } finally {
    await azurite.stop();
  }
}
