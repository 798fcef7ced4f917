import path from 'node:path';
import { once } from 'node:events';
import { AppConfig } from '../config';
import { startAzurite } from '../local/azurite';
import { integerOption, parseCommandArgs, UsageError } from './args';

export const AZURITE_HELP = `orders-pipeline azurite [--blob-port N] [--in-memory]

Runs Azurite (blob, queue, table) in the foreground until Ctrl+C, with data under
LOCAL_DATA_DIR/azurite, on 127.0.0.1:10000-10002 by default, as UseDevelopmentStorage=true expects.
Prints the connection string to use.
`;

export async function azuriteCommand(args: string[], config: AppConfig, signal: AbortSignal): Promise<void> {
  const { values, positionals } = parseCommandArgs(args, {
    'blob-port': { type: 'string' },
    'in-memory': { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError(`azurite takes no arguments, got "${positionals[0]}"`);
  const blobPort = integerOption(values['blob-port'], 'blob-port', 10000, 1);
  const azurite = await startAzurite({
    blobPort,
    queuePort: blobPort + 1,
    tablePort: blobPort + 2,
    location: values['in-memory'] ? undefined : path.resolve(config.LOCAL_DATA_DIR, 'azurite'),
  });
  process.stdout.write(`Azurite is running. Connection string:\n${azurite.connectionString}\n`);
  if (!signal.aborted) await once(signal, 'abort');
  await azurite.stop();
}
