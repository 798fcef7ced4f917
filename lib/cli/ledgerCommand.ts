import type { AppConfig } from '../config';
import { migrateLedgerKeys } from '../ledger/ledger';
import { parseCommandArgs } from './args';

export const LEDGER_MIGRATE_HELP = `orders-pipeline ledger-migrate

Moves the rows of a ledger written before the hashed row keys (RowKey = base64url of the path) to
their new keys (base64url of the path's SHA-256), in LEDGER_TABLE and its Open and DeadLetters
tables. Run it once with the app stopped, against AzureWebJobsStorage; running it again moves
nothing. Prints how many rows moved.
`;

export async function ledgerMigrateCommand(args: string[], config: AppConfig): Promise<void> {
  parseCommandArgs(args, {});
  const moved = await migrateLedgerKeys(
    config.AzureWebJobsStorage,
    config.LEDGER_TABLE,
    config.CAPTURE_PATH_FORMAT,
  );
  process.stdout.write(`${JSON.stringify({ table: config.LEDGER_TABLE, moved })}\n`);
}
