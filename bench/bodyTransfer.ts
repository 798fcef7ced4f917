/**
 * What it costs to move event bodies from JavaScript into DuckDB, the part of bronze that cannot run
 * beside silver: 1M rows (a file name, a sequence number, a ~300-byte CDC body) appended with the
 * node binding's appender into an in-memory table and into a database file, and the other way in —
 * a CSV written by JavaScript and read by DuckDB's own `read_csv` on its threads.
 *   npm run bench:body-transfer -- [--rows 1048576]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BIGINT, DuckDBDataChunk, DuckDBInstance, VARCHAR } from '@duckdb/node-api';

const CHUNK_ROWS = 2048;

function body(i: number): string {
  return JSON.stringify({
    op: 'c',
    source: { lsn: i },
    after: {
      TransactionNo: String(500000 + i),
      ProductNo: `${i % 3000}A`,
      Price: 1.25,
      Quantity: 3,
      Date: '2011-12-09',
      ProductName: `WHITE HANGING HEART T-LIGHT HOLDER ${i}`,
      CustomerNo: '12345',
      Country: 'United Kingdom',
    },
    before: null,
  });
}

const seconds = (started: number): number => +((performance.now() - started) / 1000).toFixed(2);

async function appended(dir: string, rows: number, bodies: string[], inMemory: boolean): Promise<object> {
  const instance = await DuckDBInstance.create(path.join(dir, `append-${inMemory}.duckdb`), {
    memory_limit: '512MB',
  });
  const connection = await instance.connect();
  if (inMemory) await connection.run("ATTACH ':memory:' AS stage");
  const catalog = inMemory ? 'stage' : undefined;
  await connection.run(`CREATE TABLE ${inMemory ? 'stage.' : ''}b (f VARCHAR, seq BIGINT, body VARCHAR)`);
  await connection.run('BEGIN');
  const appender = await connection.createAppender('b', 'main', catalog);
  const started = performance.now();
  for (let start = 0; start < rows; start += CHUNK_ROWS) {
    const n = Math.min(CHUNK_ROWS, rows - start);
    const chunk = DuckDBDataChunk.create([VARCHAR, BIGINT, VARCHAR], n);
    chunk.setColumns([
      new Array<string>(n).fill('file'),
      Array.from({ length: n }, (_, i) => BigInt(start + i)),
      bodies.slice(0, n),
    ]);
    appender.appendDataChunk(chunk);
  }
  appender.closeSync();
  const appendSeconds = seconds(started);
  const committing = performance.now();
  await connection.run('COMMIT');
  const result = {
    path: inMemory ? 'appender → in-memory table' : 'appender → database file',
    mainThreadSeconds: appendSeconds,
    commitSeconds: seconds(committing),
  };
  connection.closeSync();
  instance.closeSync();
  return result;
}

async function viaCsv(dir: string, rows: number, bodies: string[]): Promise<object> {
  const csv = path.join(dir, 'bodies.csv');
  const writing = performance.now();
  const fd = fs.openSync(csv, 'w');
  for (let start = 0; start < rows; start += CHUNK_ROWS) {
    let text = '';
    for (let i = 0; i < Math.min(CHUNK_ROWS, rows - start); i++)
      text += `${start + i},"${bodies[i].replace(/"/g, '""')}"\n`;
    fs.writeSync(fd, text);
  }
  fs.closeSync(fd);
  const writeSeconds = seconds(writing);
  const instance = await DuckDBInstance.create(path.join(dir, 'csv.duckdb'), { memory_limit: '512MB' });
  const connection = await instance.connect();
  await connection.run('CREATE TABLE b (f VARCHAR, seq BIGINT, body VARCHAR)');
  const reading = performance.now();
  await connection.run(
    `INSERT INTO b SELECT 'file', seq, body FROM read_csv($csv, columns = {'seq': 'BIGINT', 'body': 'VARCHAR'},
       header = false, quote = '"', escape = '"', delim = ',', max_line_size = 4000000)`,
    { csv },
  );
  const result = {
    path: 'CSV written by JavaScript → read_csv',
    javascriptSeconds: writeSeconds,
    duckdbSeconds: seconds(reading),
  };
  connection.closeSync();
  instance.closeSync();
  return result;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string' } } });
  const rows = Number(values.rows ?? 1_048_576);
  const bodies = Array.from({ length: CHUNK_ROWS }, (_, i) => body(i));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-body-transfer-'));
  try {
    for (const run of [
      () => appended(dir, rows, bodies, true),
      () => appended(dir, rows, bodies, false),
      () => viaCsv(dir, rows, bodies),
    ])
      console.log(JSON.stringify({ rows, ...(await run()) }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
