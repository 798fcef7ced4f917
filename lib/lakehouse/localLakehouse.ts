import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isUtf8 } from 'node:buffer';
import {
  DuckDBAppender,
  DuckDBConnection,
  DuckDBInstance,
  DuckDBTimestampValue,
  LIST,
  VARCHAR,
  listValue,
} from '@duckdb/node-api';
import { readCaptureBlocksWithoutProperties } from '../capture/captureFileReader';
import { CapturePathFormat } from '../capture/capturePath';
import { parseEnqueuedTimeUtc } from '../capture/enqueuedTime';
import { CaptureRecordWithoutProperties } from '../capture/schema';
import { DQ_RULES, DqRule } from '../cdc/event';
import { parseJsonText } from '../cdc/jsonText';
import { CaptureStore } from '../storage/captureStore';
import { SqlStatement, readSqlFile, toDuckDbSql } from './sqlText';

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

/** A batch that failed; nothing of it was committed. */
export class BatchError extends Error {
  constructor(
    readonly batchId: string,
    readonly file: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`batch ${batchId}${file ? `, file ${file}` : ''}: ${message}`, options);
    this.name = 'BatchError';
  }
}

export interface LocalLakehouseOptions {
  /** For partition ids of bronze rows; the default Capture layout if omitted. */
  pathFormat?: CapturePathFormat;
}

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
 * with DuckDB's own bronze load and body parse. One batch is one transaction.
 */
export class LocalLakehouse {
  private readonly statements = new Map<string, SqlStatement[]>();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly options: LocalLakehouseOptions,
  ) {}

  /** Opens (or creates) the database file; `:memory:` for a throwaway one. */
  static async open(dbPath: string, options: LocalLakehouseOptions = {}): Promise<LocalLakehouse> {
    if (dbPath !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(dbPath)), { recursive: true });
    const instance = await DuckDBInstance.create(dbPath);
    const connection = await instance.connect();
    const lakehouse = new LocalLakehouse(instance, connection, options);
    await lakehouse.runFile('tables');
    await lakehouse.runFile('duckdbTables');
    await lakehouse.runFile('bridge');
    return lakehouse;
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }

  /** Runs one batch: bronze load (skipping files already loaded), rules, silver, gold; all or nothing. */
  async ingest(files: BatchFile[], options: { batchId?: string; signal?: AbortSignal } = {}): Promise<BatchResult> {
    const batchId = options.batchId ?? newBatchId();
    let currentFile: string | undefined;
    return this.transaction(
      batchId,
      () => currentFile,
      (started) => this.runBatch(batchId, files, options.signal, (file) => (currentFile = file), started),
    );
  }

  /** The SQL steps alone (parse, rules, silver, gold) for a batch already in bronze and batch_files. */
  async applyLoadedBatch(batchId: string): Promise<BatchResult> {
    return this.transaction(
      batchId,
      () => undefined,
      async (started) => {
        const result = emptyBatchResult(batchId);
        await this.applyBatch(result, started);
        return result;
      },
    );
  }

  private async transaction(
    batchId: string,
    currentFile: () => string | undefined,
    work: (started: number) => Promise<BatchResult>,
  ): Promise<BatchResult> {
    const started = performance.now();
    await this.connection.run('BEGIN TRANSACTION');
    try {
      const result = await work(started);
      await this.connection.run('COMMIT');
      result.seconds.total = (performance.now() - started) / 1000;
      return result;
    } catch (error) {
      await this.connection.run('ROLLBACK');
      if (error instanceof BatchError) throw error;
      throw new BatchError(batchId, currentFile(), (error as Error).message, { cause: error });
    }
  }

  private async runBatch(
    batchId: string,
    files: BatchFile[],
    signal: AbortSignal | undefined,
    onFile: (file: string | undefined) => void,
    started: number,
  ): Promise<BatchResult> {
    const result = emptyBatchResult(batchId);

    const loaded = await this.loadedFiles(files.map((f) => f.store.fileUrl(f.path)));
    const bronze = await this.connection.createAppender('bronze_order_events');
    const history = await this.connection.createAppender('bronze_loaded_files');
    const batchFiles = await this.connection.createAppender('batch_files');
    const now = timestamp(Date.now());
    try {
      for (const file of files) {
        signal?.throwIfAborted();
        const url = file.store.fileUrl(file.path);
        onFile(url);
        const previous = loaded.get(url);
        let records = previous?.records ?? 0;
        let bytes = previous?.bytes ?? 0;
        if (!previous) {
          ({ records, bytes } = await this.appendFile(bronze, file, url, batchId, now, signal));
          history.appendVarchar(url);
          history.appendBigInt(BigInt(records));
          history.appendBigInt(BigInt(bytes));
          history.appendVarchar(batchId);
          history.appendTimestamp(now);
          history.endRow();
          loaded.set(url, { records, bytes });
          result.loaded += records;
        }
        batchFiles.appendVarchar(batchId);
        batchFiles.appendVarchar(url);
        batchFiles.appendBigInt(BigInt(bytes));
        batchFiles.appendBigInt(BigInt(records));
        batchFiles.appendTimestamp(now);
        batchFiles.endRow();
        result.files.push({ file: url, records, bytes, skipped: previous !== undefined });
      }
      onFile(undefined);
      bronze.closeSync();
      history.closeSync();
      batchFiles.closeSync();
    } catch (error) {
      bronze.closeSync();
      history.closeSync();
      batchFiles.closeSync();
      throw error;
    }
    result.seconds.bronze = (performance.now() - started) / 1000;
    await this.applyBatch(result, started);
    return result;
  }

  /** Parse, rules, silver and gold for a batch whose files are in bronze and batch_files. */
  private async applyBatch(result: BatchResult, started: number): Promise<void> {
    const params = { batch_id: result.batchId };
    const base = result.seconds.bronze;
    await this.runFile('parse', params);
    await this.runFile('silver', params);
    result.seconds.silver = (performance.now() - started) / 1000 - base;

    const [dailyChanged, customerChanged] = await this.runFile('gold', params);
    result.gold = { dailyRowsChanged: dailyChanged, customerRowsChanged: customerChanged };
    result.seconds.gold = (performance.now() - started) / 1000 - base - result.seconds.silver;

    const counts = await this.rows(
      `SELECT
         (SELECT count(*) FROM batch_events) AS checked,
         (SELECT count(*) FROM silver_order_lines WHERE _updated_at = now() AND NOT _deleted) AS upserts,
         (SELECT count(*) FROM silver_order_lines WHERE _updated_at = now() AND _deleted) AS deletes`,
    );
    result.checked = Number(counts[0].checked);
    result.silver = { upserts: Number(counts[0].upserts), deletes: Number(counts[0].deletes) };
    for (const row of await this.rows(
      'SELECT rule, count(*) AS n FROM quarantine_order_events WHERE batch_id = $batch_id GROUP BY rule',
      params,
    )) {
      result.quarantined[row.rule as DqRule] = Number(row.n);
    }
  }

  private async appendFile(
    bronze: DuckDBAppender,
    file: BatchFile,
    url: string,
    batchId: string,
    now: DuckDBTimestampValue,
    signal: AbortSignal | undefined,
  ): Promise<{ records: number; bytes: number }> {
    const pathFormat = this.options.pathFormat ?? new CapturePathFormat();
    const partitionId = pathFormat.matches(file.path) ? pathFormat.parse(file.path).partitionId : null;
    let records = 0;
    let bytes = 0;
    const source = countBytes(file.store.read(file.path, { signal }), (n) => (bytes += n));
    for await (const block of readCaptureBlocksWithoutProperties(source, { file: url, signal })) {
      for (const record of block.records) appendBronzeRow(bronze, record, batchId, url, partitionId, now);
      records += block.records.length;
    }
    return { records, bytes };
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
  private async runFile(name: keyof typeof SQL, params: Record<string, string> = {}): Promise<number[]> {
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
        throw new Error(`${SQL[name]}: ${(error as Error).message}\n  in: ${statement.text.slice(0, 200)}`, {
          cause: error,
        });
      }
    }
    return counts;
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

function newBatchId(): string {
  return `local-${new Date().toISOString().replace(/[-:.]/g, '')}-${randomUUID().slice(0, 8)}`;
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

function appendBronzeRow(
  bronze: DuckDBAppender,
  record: CaptureRecordWithoutProperties,
  batchId: string,
  file: string,
  partitionId: string | null,
  now: DuckDBTimestampValue,
): void {
  bronze.appendVarchar(batchId);
  bronze.appendVarchar(file);
  if (partitionId === null) bronze.appendNull();
  else bronze.appendVarchar(partitionId);
  bronze.appendBigInt(BigInt(record.SequenceNumber));
  bronze.appendVarchar(record.Offset);
  const enqueued = enqueuedTime(record.EnqueuedTimeUtc);
  if (enqueued === null) bronze.appendNull();
  else bronze.appendTimestamp(enqueued);
  bronze.appendTimestamp(now);
  const body = record.Body;
  if (body === null) {
    bronze.appendNull();
    bronze.appendVarchar('base64');
    bronze.appendBoolean(false);
  } else if (isUtf8(body)) {
    const text = body.toString('utf8');
    bronze.appendVarchar(text);
    bronze.appendVarchar('utf8');
    bronze.appendBoolean(isStrictJson(text));
  } else {
    bronze.appendVarchar(body.toString('base64'));
    bronze.appendVarchar('base64');
    bronze.appendBoolean(false);
  }
  bronze.endRow();
}

/**
 * Strict JSON by the validator's rules (lib/cdc/jsonText.ts): DuckDB's parser also takes trailing
 * commas and NaN. JSON.parse decides, except that a `\\u` escape may hide an unpaired surrogate,
 * which JSON.parse takes and the rules refuse: such rare bodies go through the exact parser.
 */
export function isStrictJson(text: string): boolean {
  try {
    if (text.includes('\\u')) parseJsonText(text);
    else JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function enqueuedTime(text: string): DuckDBTimestampValue | null {
  try {
    return timestamp(parseEnqueuedTimeUtc(text).getTime());
  } catch {
    return null;
  }
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
