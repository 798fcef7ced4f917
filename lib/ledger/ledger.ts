import { createHash } from 'node:crypto';
import { DefaultAzureCredential, TokenCredential } from '@azure/identity';
import { RestError, TableClient, TableEntity, TableTransaction, TransactionAction } from '@azure/data-tables';
import { CapturePathFormat } from '../capture/capturePath';
import type { StorageConnection } from '../storage/storageConnection';
import { errorMessage } from '../errorMessage';

/**
 * A Capture file's life: `pending` (recorded, waiting for a batch) → `batched` (in a manifest) →
 * `submitted` (run-now answered) → `succeeded`; or `skipped` (no records), `deadLettered` (its run
 * kept failing alone, or it is not a readable Capture file), `rejected` (not a Capture path).
 */
export type FileState =
  'pending' | 'batched' | 'submitted' | 'succeeded' | 'skipped' | 'deadLettered' | 'rejected';

export const FINAL_STATES: readonly FileState[] = ['succeeded', 'skipped', 'deadLettered', 'rejected'];

/** One ledger row: a Capture file and every stage it went through (times are ISO 8601, UTC). */
export interface LedgerFile {
  /** Path in the capture container: the file's identity. */
  path: string;
  /** Its blob URL, as the job names it. */
  url: string;
  state: FileState;
  bytes: number;
  records: number;
  capturedAt: string;
  triggeredAt: string;
  batchedAt?: string;
  submittedAt?: string;
  runStartedAt?: string;
  runFinishedAt?: string;
  batchId?: string;
  /** Attempt of that batch (its run-now idempotency token is derived from batch and attempt). */
  batchAttempt?: number;
  /** Halvings that made that batch (0: a batch of arrivals), so a resumed batch splits as before. */
  batchDepth?: number;
  runId?: string;
  /** Runs launched with the file in them, over all its batches and attempts. */
  attempts?: number;
  error?: string;
}

export type LedgerPatch = Partial<Omit<LedgerFile, 'path' | 'url'>>;

/** The ledger port: Table Storage in Azure and on Azurite. */
export interface Ledger {
  /** Create-only: 'exists' when the file was recorded before (a redelivered event). */
  insert(file: LedgerFile): Promise<'inserted' | 'exists'>;
  get(path: string): Promise<LedgerFile | undefined>;
  /** Applies one patch to each file (per-file patches may differ); final states leave the open set. */
  update(changes: { path: string; patch: LedgerPatch }[]): Promise<void>;
  /**
   * Makes sure a file the history shows unfinished is in the open set (a crash may come between a
   * row's writes); never overwrites an open copy, and never reopens a file finished meanwhile.
   */
  restoreOpen(path: string): Promise<void>;
  /** Puts a recorded file back to pending (a reprocess), keeping its attempts and capture times. */
  requeue(file: LedgerFile): Promise<void>;
  /** Dead-lettered files (until requeued): what an operator must look at. */
  listDeadLettered(options?: { abortSignal?: AbortSignal }): AsyncIterable<LedgerFile>;
  /** Files not in a final state: the orchestration's work. Reads only the open set, not history. */
  listOpen(options?: { abortSignal?: AbortSignal }): AsyncIterable<LedgerFile>;
  /** Every recorded file whose path hour is in [fromHour, toHour] (yyyyMMddHH), in hour order. */
  list(options?: {
    fromHour?: string;
    toHour?: string;
    abortSignal?: AbortSignal;
  }): AsyncIterable<LedgerFile>;
}

export class LedgerError extends Error {
  constructor(
    message: string,
    readonly path: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'LedgerError';
  }
}

/** Rows of files whose path does not follow the Capture layout. */
export const UNPARSED_HOUR = '0000000000';

/**
 * PartitionKey = the path's hour (yyyyMMddHH); RowKey = base64url of the path's SHA-256: fixed
 * length, so any blob name fits Table Storage's 1 KiB key limit, and no '/' (keys cannot hold one).
 * The path itself is a column.
 */
export function ledgerKeys(
  path: string,
  format: CapturePathFormat,
): { partitionKey: string; rowKey: string } {
  return {
    partitionKey: pathHour(path, format),
    rowKey: createHash('sha256').update(path, 'utf8').digest('base64url'),
  };
}

/**
 * Moves rows a ledger from before the hashed keys wrote (RowKey = base64url of the path) to their
 * hashed keys, in the history, open and dead-letter tables. Run once, with the app stopped;
 * running it again finds nothing to move. Returns how many rows it moved.
 */
export async function migrateLedgerKeys(
  connection: StorageConnection,
  table: string,
  format: CapturePathFormat,
  options: { credential?: TokenCredential } = {},
): Promise<number> {
  let moved = 0;
  for (const name of [table, `${table}Open`, `${table}DeadLetters`]) {
    const client = storageTableClient(connection, name, options);
    await client.createTable();
    for await (const entity of client.listEntities<TableEntity>()) {
      const path = typeof entity.path === 'string' ? entity.path : undefined;
      if (!path) continue;
      const keys = ledgerKeys(path, format);
      if (entity.rowKey === keys.rowKey) continue;
      const columns = Object.fromEntries(
        Object.entries(entity).filter(
          ([name]) => !['partitionKey', 'rowKey', 'etag', 'timestamp'].includes(name),
        ),
      );
      await client.upsertEntity({ ...columns, ...keys }, 'Replace');
      await client.deleteEntity(entity.partitionKey!, entity.rowKey!);
      moved++;
    }
  }
  return moved;
}

export function pathHour(path: string, format: CapturePathFormat): string {
  if (!format.matches(path)) return UNPARSED_HOUR;
  try {
    return hourOf(format.parse(path).windowStart);
  } catch {
    return UNPARSED_HOUR;
  }
}

export function hourOf(time: Date): string {
  return time.toISOString().slice(0, 13).replace(/[-T]/g, '');
}

const TRANSACTION_LIMIT = 100;

/**
 * The ledger on Table Storage: table LEDGER_TABLE holds one row per file (the history), and
 * `${LEDGER_TABLE}Open` a copy of each unfinished row (the work), so the orchestration's reads cost
 * what is in flight, not everything ever captured.
 */
export class TableLedger implements Ledger {
  private constructor(
    private readonly files: TableClient,
    private readonly open: TableClient,
    private readonly deadLetters: TableClient,
    private readonly format: CapturePathFormat,
  ) {}

  static async open(
    connection: StorageConnection,
    table: string,
    format: CapturePathFormat,
    options: { credential?: TokenCredential } = {},
  ): Promise<TableLedger> {
    const client = (name: string) => storageTableClient(connection, name, options);
    const ledger = new TableLedger(
      client(table),
      client(`${table}Open`),
      client(`${table}DeadLetters`),
      format,
    );
    await Promise.all([
      ledger.files.createTable(),
      ledger.open.createTable(),
      ledger.deadLetters.createTable(),
    ]);
    return ledger;
  }

  async insert(file: LedgerFile): Promise<'inserted' | 'exists'> {
    const entity = this.toEntity(file);
    try {
      await this.files.createEntity(entity);
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 409) {
        // Recorded before; if it is still unfinished, make sure the open copy exists (a crash may
        // have come between the two writes).
        await this.restoreOpen(file.path);
        return 'exists';
      }
      throw new LedgerError(`cannot record ${file.path}: ${errorMessage(error)}`, file.path, {
        cause: error,
      });
    }
    if (!FINAL_STATES.includes(file.state)) await this.open.upsertEntity(entity, 'Replace');
    if (file.state === 'deadLettered') await this.deadLetters.upsertEntity(entity, 'Replace');
    return 'inserted';
  }

  async get(path: string): Promise<LedgerFile | undefined> {
    const { partitionKey, rowKey } = ledgerKeys(path, this.format);
    try {
      return fromEntity(await this.files.getEntity<TableEntity>(partitionKey, rowKey));
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return undefined;
      throw new LedgerError(`cannot read ${path}: ${errorMessage(error)}`, path, { cause: error });
    }
  }

  async update(changes: { path: string; patch: LedgerPatch }[]): Promise<void> {
    const history: TransactionAction[] = [];
    const work: TransactionAction[] = [];
    const deadLettered: string[] = [];
    for (const { path, patch } of changes) {
      const entity = { ...ledgerKeys(path, this.format), ...withoutUndefined(patch) };
      history.push(['update', entity, 'Merge']);
      work.push(
        patch.state && FINAL_STATES.includes(patch.state) ? ['delete', entity] : ['update', entity, 'Merge'],
      );
      if (patch.state === 'deadLettered') deadLettered.push(path);
    }
    // History first, then the dead-letter index, then the open copy: a crash between any two leaves
    // the file in the open set, so a restarted orchestration finishes it again (every step is
    // idempotent), and never leaves a file in no set at all.
    await this.submit(this.files, history, false);
    for (const path of deadLettered) {
      const row = await this.get(path);
      if (row) await this.deadLetters.upsertEntity(this.toEntity(row), 'Replace');
    }
    await this.submit(this.open, work, true);
  }

  async restoreOpen(path: string): Promise<void> {
    const known = await this.get(path);
    if (!known || FINAL_STATES.includes(known.state)) return;
    try {
      await this.open.createEntity(this.toEntity(known));
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 409) return; // the open copy is there
      throw new LedgerError(`cannot restore ${path} to the open set: ${errorMessage(error)}`, path, {
        cause: error,
      });
    }
    // Finished between the read and the create: the copy just made must not bring it back.
    const now = await this.get(path);
    if (now && FINAL_STATES.includes(now.state)) {
      const keys = ledgerKeys(path, this.format);
      await this.open.deleteEntity(keys.partitionKey, keys.rowKey).catch((error: unknown) => {
        if (!(error instanceof RestError && error.statusCode === 404)) throw error;
      });
    }
  }

  async requeue(file: LedgerFile): Promise<void> {
    const { path, url, bytes, records, capturedAt, triggeredAt, attempts } = file;
    const entity = this.toEntity({
      path,
      url,
      bytes,
      records,
      capturedAt,
      triggeredAt,
      attempts,
      state: 'pending',
    });
    await this.open.upsertEntity(entity, 'Replace');
    await this.files.upsertEntity(entity, 'Replace');
    const keys = ledgerKeys(path, this.format);
    await this.deadLetters.deleteEntity(keys.partitionKey, keys.rowKey).catch((error: unknown) => {
      if (!(error instanceof RestError && error.statusCode === 404)) throw error;
    });
  }

  async *listDeadLettered(options: { abortSignal?: AbortSignal } = {}): AsyncIterable<LedgerFile> {
    for await (const entity of this.deadLetters.listEntities<TableEntity>({
      abortSignal: options.abortSignal,
    })) {
      yield fromEntity(entity);
    }
  }

  async *listOpen(options: { abortSignal?: AbortSignal } = {}): AsyncIterable<LedgerFile> {
    for await (const entity of this.open.listEntities<TableEntity>({ abortSignal: options.abortSignal })) {
      yield fromEntity(entity);
    }
  }

  async *list(
    options: { fromHour?: string; toHour?: string; abortSignal?: AbortSignal } = {},
  ): AsyncIterable<LedgerFile> {
    const filters: string[] = [];
    if (options.fromHour) filters.push(`PartitionKey ge '${hourText(options.fromHour)}'`);
    if (options.toHour) filters.push(`PartitionKey le '${hourText(options.toHour)}'`);
    const queryOptions = filters.length ? { filter: filters.join(' and ') } : {};
    for await (const entity of this.files.listEntities<TableEntity>({
      queryOptions,
      abortSignal: options.abortSignal,
    })) {
      yield fromEntity(entity);
    }
  }

  private toEntity(file: LedgerFile): TableEntity {
    return { ...ledgerKeys(file.path, this.format), ...withoutUndefined(file) };
  }

  /** Entity group transactions: at most 100 actions, all of one partition. */
  private async submit(
    client: TableClient,
    actions: TransactionAction[],
    missingIsFine: boolean,
  ): Promise<void> {
    const byPartition = new Map<string, TransactionAction[]>();
    for (const action of actions) {
      const key = action[1].partitionKey;
      byPartition.set(key, [...(byPartition.get(key) ?? []), action]);
    }
    for (const group of byPartition.values()) {
      for (let i = 0; i < group.length; i += TRANSACTION_LIMIT) {
        const chunk = group.slice(i, i + TRANSACTION_LIMIT);
        try {
          await client.submitTransaction(chunk);
        } catch (error) {
          if (!(missingIsFine && error instanceof RestError && error.statusCode === 404)) {
            throw new LedgerError(
              `cannot update ${chunk.length} ledger rows: ${errorMessage(error)}`,
              undefined,
              {
                cause: error,
              },
            );
          }
          // A row missing from the open set (already finished, or never copied): one at a time.
          await this.applyEach(client, chunk);
        }
      }
    }
  }

  private async applyEach(client: TableClient, actions: TransactionAction[]): Promise<void> {
    for (const action of actions) {
      const transaction = new TableTransaction();
      if (action[0] === 'delete') transaction.deleteEntity(action[1].partitionKey, action[1].rowKey);
      else transaction.updateEntity(action[1], 'Merge');
      try {
        await client.submitTransaction(transaction.actions);
      } catch (error) {
        if (!(error instanceof RestError && error.statusCode === 404)) throw error;
      }
    }
  }
}

/** A table on a storage connection: Azurite by connection string, Azure by identity. */
export function storageTableClient(
  connection: StorageConnection,
  table: string,
  options: { credential?: TokenCredential } = {},
): TableClient {
  return 'connectionString' in connection
    ? TableClient.fromConnectionString(connection.connectionString, table, {
        allowInsecureConnection: /UseDevelopmentStorage=true|http:\/\//i.test(connection.connectionString),
      })
    : new TableClient(
        connection.serviceUri.replace('.blob.', '.table.'),
        table,
        options.credential ?? new DefaultAzureCredential(),
      );
}

function hourText(hour: string): string {
  if (!/^\d{10}$/.test(hour)) throw new LedgerError(`"${hour}" is not an hour as yyyyMMddHH`, undefined);
  return hour;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const FIELDS: (keyof LedgerFile)[] = [
  'path',
  'url',
  'state',
  'bytes',
  'records',
  'capturedAt',
  'triggeredAt',
  'batchedAt',
  'submittedAt',
  'runStartedAt',
  'runFinishedAt',
  'batchId',
  'batchAttempt',
  'batchDepth',
  'runId',
  'attempts',
  'error',
];

function fromEntity(entity: TableEntity): LedgerFile {
  const file: Record<string, unknown> = {};
  for (const field of FIELDS) if (entity[field] !== undefined) file[field] = entity[field];
  return file as unknown as LedgerFile;
}
