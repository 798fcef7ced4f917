import path from 'node:path';
import { AppConfig } from '../config';
import { assertPortFree, startAzurite } from '../local/azurite';
import { captureStoreForConnection } from '../storage/captureStore';
import { simulateCommand } from './simulateCommand';

export const START_HELP = `orders-pipeline start [simulate options]

Runs the local loop on the embedded defaults: starts Azurite (data under LOCAL_DATA_DIR/azurite,
ports 10000-10002 like UseDevelopmentStorage=true), replays orders through the Capture emulator
into the capture container, prints the summary and stops. Takes the options of simulate
(default --events 20000). Ctrl+C stops the replay early; whatever was published is flushed.
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
  } finally {
    await azurite.stop();
  }
}
