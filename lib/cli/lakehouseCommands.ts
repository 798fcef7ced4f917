import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { AppConfig } from '../config';
import { resolveBatchFiles } from '../lakehouse/batchFiles';
import { GoldSource, formatGold, goldSummary } from '../lakehouse/goldSummary';
import { BatchResult, LocalLakehouse } from '../lakehouse/localLakehouse';
import { GOLD_NOT_CONFIGURED, GoldEngine, configuredWarehouse, goldAnswer } from '../operate/goldReport';
import { databricksAuth, warehouseSettings } from '../host/settings';
import { LAKEHOUSE_TABLES } from '../lakehouse/tables';
import { parseCommandArgs, UsageError } from './args';

export const INGEST_HELP = `orders-pipeline ingest <file|dir|container-url>... [--db PATH] [--batch-id ID] [--json]

Runs one batch on the local lakehouse (DuckDB): loads the Capture files into bronze (a file already
loaded is skipped), applies the data-quality rules, then the silver and gold SQL the Databricks job
runs. Folders are walked for *.avro; files are taken in sorted path order. One batch is one
transaction: on failure nothing is written, and the exit code is 1 with the file and the reason.
  --db PATH      DuckDB database file (default LOCAL_DATA_DIR/lakehouse.duckdb)
  --batch-id ID  the batch's id (default: generated)
  --json         print the result as JSON
`;

export const EXPORT_HELP = `orders-pipeline export <table> [--db PATH] [--format jsonl|csv]

Writes a lakehouse table to stdout, one row per line: JSON lines (default) or CSV (RFC 4180, header).
Tables: ${LAKEHOUSE_TABLES.join(', ')}.
`;

export const QUERY_HELP = `orders-pipeline query "<sql>" [--db PATH] [--format jsonl|csv] [--writable]

Runs a SQL query on the local lakehouse and writes its rows to stdout like export. The database is
opened read-only with DuckDB's external access (files, URLs, extensions) off; --writable opens it
as the pipeline does, for maintenance statements.
`;

export const GOLD_HELP = `orders-pipeline gold [--db PATH] [--json]

Reads the gold KPIs on demand: headline figures, top countries and when gold last changed. With
DATABRICKS_HOST=embedded (the default) from the local lakehouse (--db, default
LOCAL_DATA_DIR/lakehouse.duckdb); with a workspace URL from its SQL warehouse
(DATABRICKS_SQL_HTTP_PATH, DATABRICKS_CATALOG, DATABRICKS_SCHEMA), which this wakes up if stopped.
  --json    the gold API's JSON answer (the dashboard's gold) instead of text
`;

export async function goldCommand(args: string[], config: AppConfig): Promise<void> {
  const { values } = parseCommandArgs(args, { db: { type: 'string' }, json: { type: 'boolean' } });
  const { gold, engine } = await openGold(values.db, config);
  try {
    if (!values.json) {
      process.stdout.write(formatGold(await goldSummary(gold)));
      return;
    }
    const answer = await goldAnswer(gold, engine);
    if (answer.status !== 200) throw new Error(answer.body.error);
    process.stdout.write(`${JSON.stringify(answer.body)}\n`);
  } finally {
    await gold.close();
  }
}

async function openGold(
  db: string | undefined,
  config: AppConfig,
): Promise<{ gold: GoldSource & { close(): Promise<void> }; engine: GoldEngine }> {
  if (config.DATABRICKS_HOST.kind === 'embedded') {
    const file = dbPath(db, config);
    if (!fs.existsSync(file)) throw new Error(`${file}: no lakehouse database yet (run npm start first)`);
    return { gold: await LocalLakehouse.open(file), engine: 'duckdb' };
  }
  const warehouse = configuredWarehouse(
    warehouseSettings(config),
    config.DATABRICKS_HOST.url,
    await databricksAuth(config),
  );
  if (!warehouse) throw new Error(GOLD_NOT_CONFIGURED);
  return { gold: warehouse, engine: 'sql-warehouse' };
}

function dbPath(value: string | undefined, config: AppConfig): string {
  return path.resolve(value ?? path.join(config.LOCAL_DATA_DIR, 'lakehouse.duckdb'));
}

export async function ingestCommand(args: string[], config: AppConfig, signal: AbortSignal): Promise<void> {
  const { values, positionals } = parseCommandArgs(args, {
    db: { type: 'string' },
    'batch-id': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (positionals.length === 0)
    throw new UsageError('ingest needs at least one file, folder or container URL');
  const files = await resolveBatchFiles(positionals, signal);
  const lakehouse = await LocalLakehouse.open(dbPath(values.db, config), {
    pathFormat: config.CAPTURE_PATH_FORMAT,
  });
  try {
    const result = await lakehouse.ingest(files, { batchId: values['batch-id'], signal });
    process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : formatBatchResult(result));
  } finally {
    await lakehouse.close();
  }
}

export function formatBatchResult(r: BatchResult): string {
  const skipped = r.files.filter((f) => f.skipped).length;
  const quarantined = Object.entries(r.quarantined)
    .filter(([, n]) => n > 0)
    .map(([rule, n]) => `${rule} ${n}`);
  const total = Object.values(r.quarantined).reduce((a, b) => a + b, 0);
  return [
    `Batch ${r.batchId}: ${r.files.length} files in ${r.seconds.total.toFixed(2)} s`,
    `  bronze:  ${r.loaded} records loaded from ${r.files.length - skipped} files, ${skipped} files already loaded (skipped)  ${r.seconds.bronze.toFixed(2)} s`,
    `  rules:   ${r.checked} records checked, ${total} quarantined${quarantined.length ? ` (${quarantined.join(', ')})` : ''}`,
    `  silver:  ${r.silver.upserts} upserts, ${r.silver.deletes} deletes  ${r.seconds.silver.toFixed(2)} s`,
    `  gold:    ${r.gold.dailyRowsChanged} daily rows and ${r.gold.customerRowsChanged} customer rows changed  ${r.seconds.gold.toFixed(2)} s`,
    '',
  ].join('\n');
}

export async function exportCommand(args: string[], config: AppConfig): Promise<void> {
  const { values, positionals } = parseCommandArgs(args, {
    db: { type: 'string' },
    format: { type: 'string' },
  });
  if (positionals.length !== 1) throw new UsageError('export takes one table name');
  const table = positionals[0];
  if (!(LAKEHOUSE_TABLES as readonly string[]).includes(table)) {
    throw new UsageError(`unknown table "${table}"; tables: ${LAKEHOUSE_TABLES.join(', ')}`);
  }
  await writeRows(`SELECT * FROM ${table} ORDER BY ALL`, values.format, values.db, config);
}

export async function queryCommand(args: string[], config: AppConfig): Promise<void> {
  const { values, positionals } = parseCommandArgs(args, {
    db: { type: 'string' },
    format: { type: 'string' },
    writable: { type: 'boolean' },
  });
  if (positionals.length !== 1) throw new UsageError('query takes one SQL text (quote it)');
  await writeRows(positionals[0], values.format, values.db, config, values.writable ?? false);
}

async function writeRows(
  sql: string,
  format = 'jsonl',
  db: string | undefined,
  config: AppConfig,
  writable = false,
): Promise<void> {
  if (format !== 'jsonl' && format !== 'csv')
    throw new UsageError(`--format must be jsonl or csv, not "${format}"`);
  const file = dbPath(db, config);
  if (!fs.existsSync(file)) throw new Error(`${file}: no lakehouse database yet (run ingest first)`);
  const lakehouse = writable ? await LocalLakehouse.open(file) : await LocalLakehouse.openForReading(file);
  try {
    for await (const line of lakehouse.exportLines(sql.trim().replace(/;$/, ''), format)) {
      if (!process.stdout.write(line)) await once(process.stdout, 'drain');
    }
  } finally {
    await lakehouse.close();
  }
}
