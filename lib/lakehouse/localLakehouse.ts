import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  BIGINT,
  BOOLEAN,
  DuckDBAppender,
  DuckDBConnection,
  DuckDBDataChunk,
  DuckDBInstance,
  DuckDBTimestampValue,
  DuckDBValue,
  LIST,
  TIMESTAMP,
  VARCHAR,
  listValue,
} from '@duckdb/node-api';
import { CaptureFileError } from '../capture/captureFileReader';
import { CapturePathFormat } from '../capture/capturePath';
import { DQ_RULES, DqRule } from '../cdc/event';
import { CaptureStore } from '../storage/captureStore';
import { BronzeDecoder } from './bronzeDecoder';
import type { GoldSource } from './goldSummary';
import { BronzeColumns } from './bronzeRows';
import { SqlStatement, readSqlFile, toDuckDbSql } from './sqlText';
import { errorMessage } from '../errorMessage';

/** A Capture file of a batch: where it is and its path there. */
export interface BatchFile {
  store: CaptureStore;
  path: string;
}

export interface BatchResult {
  batchId: string;
  files: { file: string; records: number; bytes: number; skipped: boolean }[];
  /** Records appended to bronze by this batch (files already loaded add none). */
  loaded: number;
  /** Records of the batch's files checked by the rules (loaded now or before). */
  checked: number;
  quarantined: Record<DqRule, number>;
  silver: { upserts: number; deletes: number };
  gold: { dailyRowsChanged: number; customerRowsChanged: number };
  seconds: { bronze: number; silver: number; gold: number; total: number };
}

/** The batch's steps, each its own commit as the job's tasks are on Delta. */
export type BatchStep = 'bronze' | 'silver' | 'gold';

/** A batch that failed at `step`: the steps before it committed, this one rolled back. */
export class BatchError extends Error {
  constructor(
    readonly batchId: string,
    readonly step: BatchStep,
    readonly file: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`batch ${batchId}, ${step}${file ? `, file ${file}` : ''}: ${message}`, options);
    this.name = 'BatchError';
  }
}

export interface LocalLakehouseOptions {
  /** For partition ids of bronze rows; the default Capture layout if omitted. */
  pathFormat?: CapturePathFormat;
  /**
   * DuckDB's memory limit for a database file (`:memory:` keeps DuckDB's default: it has nowhere
   * to spill). DuckDB would otherwise cache up to 80 % of RAM; a batch of 1M events then peaked at
   * 1.1-1.2 GB of RSS, with 512 MB at 0.7 GB and no slower (bench:ingest).
   */
  memoryLimit?: string;
}

const DEFAULT_MEMORY_LIMIT = '512MB';

const SQL = {
  tables: 'databricks/sql/tables.sql',
  silver: 'databricks/sql/silver.sql',
  gold: 'databricks/sql/gold.sql',
  bridge: 'duckdb/bridge.sql',
  duckdbTables: 'duckdb/tables.sql',
  parse: 'duckdb/parse.sql',
} as const;

/**
 * The lakehouse on DuckDB: the same tables and the same silver and gold SQL as the Databricks job,
 * with DuckDB's own bronze load and body parse. Bronze, silver and gold are three commits, as the
 * job's three tasks are on Delta (no multi-table transaction there), so what is tested here is what
 * runs there: every step is safe to run again after any earlier one committed.
 */
export class LocalLakehouse implements GoldSource {
  private readonly statements = new Map<string, SqlStatement[]>();
  private readonly decoder = new BronzeDecoder();
  private reader?: DuckDBConnection;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly options: LocalLakehouseOptions,
  ) {}

  /** Opens (or creates) the database file; `:memory:` for a throwaway one. */
  static async open(dbPath: string, options: LocalLakehouseOptions = {}): Promise<LocalLakehouse> {
    if (dbPath !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(dbPath)), { recursive: true });
    const instance = await DuckDBInstance.create(
      dbPath,
      dbPath === ':memory:' ? {} : { memory_limit: options.memoryLimit ?? DEFAULT_MEMORY_LIMIT },
    );
    const connection = await instance.connect();
    const lakehouse = new LocalLakehouse(instance, connection, options);
    await lakehouse.runFile('tables');
    await lakehouse.upgradeTables();
    await lakehouse.runFile('duckdbTables');
    await lakehouse.runFile('bridge');
    return lakehouse;
  }

  /**
   * Opens an existing database to read it only: DuckDB in read-only mode with external access
   * (files, URLs, extensions) disabled, so a query given on the command line can neither change
   * the lakehouse nor read or write anything beside it.
   */
  static async openForReading(dbPath: string): Promise<LocalLakehouse> {
    const instance = await DuckDBInstance.create(dbPath, {
      access_mode: 'READ_ONLY',
      enable_external_access: 'false',
    });
    return new LocalLakehouse(instance, await instance.connect(), {});
  }

  /**
   * Brings a database made by an earlier version to the current table shapes (`tables.sql` only
   * creates missing tables): dq_metrics gained file_path, gold's money widened to DECIMAL(38, 2).
   */
  private async upgradeTables(): Promise<void> {
    await this.connection.run('ALTER TABLE dq_metrics ADD COLUMN IF NOT EXISTS file_path VARCHAR');
    const narrow = await this.rows(
      `SELECT table_name, column_name FROM duckdb_columns()
       WHERE table_name IN ('gold_daily_sales', 'gold_customer_sales') AND data_type = 'DECIMAL(18,2)'`,
    );
    for (const { table_name: table, column_name: column } of narrow) {
      await this.connection.run(`ALTER TABLE ${String(table)} ALTER ${String(column)} TYPE DECIMAL(38, 2)`);
    }
  }

  async close(): Promise<void> {
    await this.decoder.close();
    this.reader?.closeSync();
    this.connection.closeSync();
    this.instance.closeSync();
  }

  /** Runs one batch as the job does: its bronze, silver and gold steps, each committed on its own. */
  async ingest(
    files: BatchFile[],
    options: { batchId?: string; signal?: AbortSignal } = {},
  ): Promise<BatchResult> {
    const result = await this.bronze(files, {
      batchId: options.batchId ?? newBatchId(),
      signal: options.signal,
    });
    // A cancelled run stops between steps, as a workspace skips the tasks after a cancelled one.
    options.signal?.throwIfAborted();
    await this.silver(result.batchId, result);
    options.signal?.throwIfAborted();
    return this.gold(result.batchId, result);
  }

  /** Silver and gold for a batch already in bronze and batch_files. */
  async applyLoadedBatch(batchId: string): Promise<BatchResult> {
    return this.gold(batchId, await this.silver(batchId));
  }

  /** Step bronze: appends the files not loaded yet (a loaded file is skipped) and replaces batch_files. */
  async bronze(files: BatchFile[], options: { batchId: string; signal?: AbortSignal }): Promise<BatchResult> {
    const result = emptyBatchResult(options.batchId);
    const started = performance.now();
    let currentFile: string | undefined;
    await this.step(
      result.batchId,
      'bronze',
      () => currentFile,
      () => this.loadBronze(result, files, options.signal, (file) => (currentFile = file)),
    );
    return timed(result, 'bronze', started);
  }

  /** Step silver: parse, rules, quarantine, dq_metrics and the MERGE, over the batch's bronze rows. */
  async silver(batchId: string, result = emptyBatchResult(batchId)): Promise<BatchResult> {
    const params = { batch_id: batchId };
    const started = performance.now();
    await this.step(
      batchId,
      'silver',
      () => undefined,
      async () => {
        await this.runFile('parse', params);
        await this.runFile('silver', params);
        // now() is the transaction's start: the rows this step wrote carry it as _updated_at.
        const [counts] = await this.rows(
          `SELECT
           (SELECT coalesce(sum(records), 0) FROM batch_files WHERE batch_id = $batch_id) AS checked,
           (SELECT count(*) FROM silver_order_lines WHERE _updated_at = now() AND NOT _deleted) AS upserts,
           (SELECT count(*) FROM silver_order_lines WHERE _updated_at = now() AND _deleted) AS deletes`,
          params,
        );
        result.checked = Number(counts.checked);
        result.silver = { upserts: Number(counts.upserts), deletes: Number(counts.deletes) };
      },
    );
    for (const row of await this.rows(
      `SELECT q.rule, count(*) AS n
       FROM quarantine_order_events q
       JOIN batch_files f ON f.file_path = q.file_path AND f.batch_id = $batch_id
       GROUP BY q.rule`,
      params,
    )) {
      result.quarantined[row.rule as DqRule] = Number(row.n);
    }
    return timed(result, 'silver', started);
  }

  /** Step gold: recomputes every outstanding dirty group and clears them. */
  async gold(batchId: string, result = emptyBatchResult(batchId)): Promise<BatchResult> {
    const started = performance.now();
    await this.step(
      batchId,
      'gold',
      () => undefined,
      async () => {
        const [dailyChanged, customerChanged] = await this.runFile('gold');
        result.gold = { dailyRowsChanged: dailyChanged, customerRowsChanged: customerChanged };
      },
    );
    return timed(result, 'gold', started);
  }

  /** One step of a batch in its own transaction: committed whole, or rolled back and reported. */
  private async step(
    batchId: string,
    step: BatchStep,
    currentFile: () => string | undefined,
    work: () => Promise<void>,
  ): Promise<void> {
    await this.connection.run('BEGIN TRANSACTION');
    try {
      await work();
      await this.connection.run('COMMIT');
    } catch (error) {
      await this.connection.run('ROLLBACK');
      if (error instanceof BatchError) throw error;
      // A CaptureFileError's message names its file; the batch error names it once.
      const message =
        error instanceof CaptureFileError
          ? `${error.kind} Capture file at byte ${error.offset}: ${error.detail}`
          : errorMessage(error);
      throw new BatchError(batchId, step, currentFile(), message, { cause: error });
    }
  }

  /** Bronze: appends the files not loaded yet and replaces the batch's batch_files rows. */
  private async loadBronze(
    result: BatchResult,
    files: BatchFile[],
    signal: AbortSignal | undefined,
    onFile: (file: string | undefined) => void,
  ): Promise<void> {
    const batchId = result.batchId;
    await this.connection.run('DELETE FROM batch_files WHERE batch_id = $batch_id', { batch_id: batchId });
    const loaded = await this.loadedFiles(files.map((f) => f.store.fileUrl(f.path)));
    const history = await this.connection.createAppender('bronze_loaded_files');
    const batchFiles = await this.connection.createAppender('batch_files');
    const bronze = await this.connection.createAppender('bronze_order_events');
    const now = timestamp(Date.now());
    // The worker decodes a file block by block while this thread appends the blocks it has.
    const entries = uniqueByUrl(files).map((file) => ({ ...file, previous: loaded.get(file.url) }));
    const toLoad = entries.filter((e) => !e.previous);
    const decodes = new Map<string, FileDecode>();
    const decodeOf = (index: number): FileDecode | undefined => {
      const entry = toLoad[index];
      if (!entry) return undefined;
      let decode = decodes.get(entry.url);
      if (!decode) {
        decode = new FileDecode(this.decoder, entry, entry.url, signal);
        decodes.set(entry.url, decode);
      }
      return decode;
    };
    try {
      let next = 0;
      for (const entry of entries) {
        signal?.throwIfAborted();
        onFile(entry.url);
        let records = entry.previous?.records ?? 0;
        let bytes = entry.previous?.bytes ?? 0;
        if (!entry.previous) {
          const decode = decodeOf(next++)!;
          ({ records, bytes } = await this.loadFile(bronze, decode, entry, batchId, now, () =>
            decodeOf(next),
          ));
          history.appendVarchar(entry.url);
          history.appendBigInt(BigInt(records));
          history.appendBigInt(BigInt(bytes));
          history.appendVarchar(batchId);
          history.appendTimestamp(now);
          history.endRow();
          result.loaded += records;
        }
        batchFiles.appendVarchar(batchId);
        batchFiles.appendVarchar(entry.url);
        batchFiles.appendBigInt(BigInt(bytes));
        batchFiles.appendBigInt(BigInt(records));
        batchFiles.appendTimestamp(now);
        batchFiles.endRow();
        result.files.push({ file: entry.url, records, bytes, skipped: entry.previous !== undefined });
      }
      onFile(undefined);
    } catch (error) {
      // A file decoded ahead finishes before the error leaves, so the worker is free again.
      await Promise.all([...decodes.values()].map((d) => d.done.catch(() => undefined)));
      closeAll([bronze, history, batchFiles]);
      throw error;
    }
    // Closing flushes: a failure here (a duplicate load-history key, say) fails the step.
    closeAll([bronze, history, batchFiles], { rethrow: true });
  }

  /** Appends one decoded file's records to bronze as its blocks arrive; the next file's decode starts after. */
  private async loadFile(
    bronze: DuckDBAppender,
    decode: FileDecode,
    file: BatchFile,
    batchId: string,
    ingestedAt: DuckDBTimestampValue,
    startNext: () => void,
  ): Promise<{ records: number; bytes: number }> {
    const pathFormat = this.options.pathFormat ?? new CapturePathFormat();
    const partitionId = pathFormat.matches(file.path) ? pathFormat.parse(file.path).partitionId : null;
    const constants = { batchId, filePath: decode.url, partitionId, ingestedAt };
    decode.drainInto((columns) => appendBronzeColumns(bronze, columns, constants));
    const records = await decode.done;
    startNext();
    return { records, bytes: decode.bytes };
  }

  private async loadedFiles(urls: string[]): Promise<Map<string, { records: number; bytes: number }>> {
    const loaded = new Map<string, { records: number; bytes: number }>();
    if (urls.length === 0) return loaded;
    const reader = await this.connection.runAndReadAll(
      'SELECT file_path, records, bytes FROM bronze_loaded_files WHERE list_contains($files, file_path)',
      { files: listValue(urls) },
      { files: LIST(VARCHAR) },
    );
    for (const row of reader.getRowObjectsJson())
      loaded.set(String(row.file_path), { records: Number(row.records), bytes: Number(row.bytes) });
    return loaded;
  }

  /** Runs a SQL file statement by statement; returns each statement's changed-row count. */
  private async runFile(name: keyof typeof SQL, params: Record<string, DuckDBValue> = {}): Promise<number[]> {
    let statements = this.statements.get(name);
    if (!statements) {
      statements = readSqlFile(SQL[name]);
      this.statements.set(name, statements);
    }
    const counts: number[] = [];
    for (const statement of statements) {
      const values = Object.fromEntries(statement.parameters.map((p) => [p, params[p]]));
      const missing = statement.parameters.filter((p) => params[p] === undefined);
      if (missing.length > 0) throw new Error(`${SQL[name]} needs parameter(s) ${missing.join(', ')}`);
      try {
        const result = await this.connection.run(toDuckDbSql(statement), values);
        counts.push(result.rowsChanged);
      } catch (error) {
        throw new Error(`${SQL[name]}: ${errorMessage(error)}\n  in: ${statement.text.slice(0, 200)}`, {
          cause: error,
        });
      }
    }
    return counts;
  }

  /**
   * Gold for the dashboard, on a connection of its own: it sees committed data only and never
   * interleaves with a batch's transaction (the dashboard reads gold while runs write it).
   */
  async query(sql: string): Promise<Record<string, unknown>[]> {
    this.reader ??= await this.instance.connect();
    return (await this.reader.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  }

  /** Rows of a query as plain objects (BIGINT as bigint, DECIMAL and dates as text). */
  async rows(sql: string, values: Record<string, unknown> = {}): Promise<Record<string, unknown>[]> {
    const reader = await this.connection.runAndReadAll(sql, values as never);
    return reader.getRowObjectsJson() as Record<string, unknown>[];
  }

  /**
   * Rows of a query as lines of text: JSON objects (DuckDB's to_json, so decimals keep their exact
   * text) or RFC 4180 CSV with a header. Streams chunk by chunk; any table size.
   */
  async *exportLines(sql: string, format: 'jsonl' | 'csv'): AsyncGenerator<string> {
    if (format === 'jsonl') {
      const result = await this.connection.stream(
        `SELECT CAST(to_json(q) AS VARCHAR) AS line FROM (${sql}) q`,
      );
      for await (const rows of result.yieldRows()) {
        for (const row of rows) yield `${String(row[0])}\n`;
      }
      return;
    }
    const result = await this.connection.stream(sql);
    yield `${result.columnNames().map(csvField).join(',')}\r\n`;
    for await (const rows of result.yieldRowsJson()) {
      for (const row of rows)
        yield `${row.map((v) => (v === null ? '' : csvField(typeof v === 'string' ? v : JSON.stringify(v)))).join(',')}\r\n`;
    }
  }
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * One file's decode, started ahead of its turn: blocks that arrive before the appender is ready
 * wait here (at most one file's worth), then flow straight to it.
 */
class FileDecode {
  readonly done: Promise<number>;
  bytes = 0;
  private waiting: BronzeColumns[] = [];
  private sink?: (columns: BronzeColumns) => void;

  constructor(
    decoder: BronzeDecoder,
    file: BatchFile,
    readonly url: string,
    signal: AbortSignal | undefined,
  ) {
    const source = countBytes(file.store.read(file.path, { signal }), (n) => (this.bytes += n));
    this.done = decoder.decode(
      url,
      source,
      (columns) => (this.sink ? this.sink(columns) : this.waiting.push(columns)),
      signal,
    );
    // Awaited when its turn comes (or when the batch fails); not an unhandled rejection meanwhile.
    this.done.catch(() => undefined);
  }

  drainInto(sink: (columns: BronzeColumns) => void): void {
    for (const columns of this.waiting) sink(columns);
    this.waiting = [];
    this.sink = sink;
  }
}

function uniqueByUrl(files: BatchFile[]): (BatchFile & { url: string })[] {
  const seen = new Set<string>();
  const unique: (BatchFile & { url: string })[] = [];
  for (const file of files) {
    const url = file.store.fileUrl(file.path);
    // A file named twice (two overlapping arguments, say) is one file of the batch.
    if (seen.has(url)) continue;
    seen.add(url);
    unique.push({ ...file, url });
  }
  return unique;
}

function newBatchId(): string {
  return `local-${new Date().toISOString().replace(/[-:.]/g, '')}-${randomUUID().slice(0, 8)}`;
}

/** Adds a step's seconds to the result. */
function timed(result: BatchResult, step: BatchStep, started: number): BatchResult {
  const seconds = (performance.now() - started) / 1000;
  result.seconds[step] = seconds;
  result.seconds.total += seconds;
  return result;
}

function emptyBatchResult(batchId: string): BatchResult {
  return {
    batchId,
    files: [],
    loaded: 0,
    checked: 0,
    quarantined: Object.fromEntries(DQ_RULES.map((rule) => [rule, 0])) as Record<DqRule, number>,
    silver: { upserts: 0, deletes: 0 },
    gold: { dailyRowsChanged: 0, customerRowsChanged: 0 },
    seconds: { bronze: 0, silver: 0, gold: 0, total: 0 },
  };
}

/** bronze_order_events' columns, in order (infra/databricks/sql/tables.sql). */
const BRONZE_TYPES = [
  VARCHAR,
  VARCHAR,
  VARCHAR,
  BIGINT,
  VARCHAR,
  TIMESTAMP,
  TIMESTAMP,
  VARCHAR,
  VARCHAR,
  BOOLEAN,
];
/** DuckDB's vector size: a data chunk holds at most this many rows. */
const CHUNK_ROWS = 2048;

/** What every record of one file shares in bronze. */
interface FileColumns {
  batchId: string;
  filePath: string;
  partitionId: string | null;
  ingestedAt: DuckDBTimestampValue;
}

/**
 * Appends decoded records to bronze a column chunk at a time (far fewer native calls than rows).
 * Straight into the table: a staging table and an INSERT … SELECT per file copied every body twice.
 */
function appendBronzeColumns(bronze: DuckDBAppender, columns: BronzeColumns, file: FileColumns): void {
  const total = columns.bodies.length;
  for (let start = 0; start < total; start += CHUNK_ROWS) {
    const end = Math.min(total, start + CHUNK_ROWS);
    const n = end - start;
    const enqueued: (DuckDBTimestampValue | null)[] = new Array(n);
    const sequence: bigint[] = new Array(n);
    const encoding: string[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const ms = columns.enqueuedMs[start + i];
      enqueued[i] = Number.isNaN(ms) ? null : timestamp(ms);
      sequence[i] = BigInt(columns.sequenceNumbers[start + i]);
      encoding[i] = columns.utf8[start + i] ? 'utf8' : 'base64';
    }
    const chunk = DuckDBDataChunk.create(BRONZE_TYPES, n);
    chunk.setColumns([
      new Array<string>(n).fill(file.batchId),
      new Array<string>(n).fill(file.filePath),
      new Array<string | null>(n).fill(file.partitionId),
      sequence,
      columns.offsets.slice(start, end),
      enqueued,
      new Array<DuckDBTimestampValue>(n).fill(file.ingestedAt),
      columns.bodies.slice(start, end),
      encoding,
      columns.isJson.slice(start, end),
    ]);
    bronze.appendDataChunk(chunk);
  }
}

/**
 * Closes every appender once. After one fails the transaction is aborted and the others' closes
 * fail too, with a message that would hide the first: only the first error counts.
 */
function closeAll(appenders: DuckDBAppender[], options: { rethrow?: boolean } = {}): void {
  let first: unknown;
  for (const appender of appenders) {
    try {
      appender.closeSync();
    } catch (error) {
      first ??= error;
    }
  }
  if (options.rethrow && first !== undefined) throw first;
}

function timestamp(ms: number): DuckDBTimestampValue {
  return new DuckDBTimestampValue(BigInt(ms) * 1000n);
}

async function* countBytes(source: AsyncIterable<Buffer>, add: (n: number) => void): AsyncIterable<Buffer> {
  for await (const chunk of source) {
    add(chunk.length);
    yield chunk;
  }
}
