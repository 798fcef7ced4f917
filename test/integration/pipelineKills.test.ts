import { randomInt } from 'node:crypto';
import path from 'node:path';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { CdcEvent, DQ_RULES, OrderLine } from '../../lib/cdc/event';
import { AppConfig } from '../../lib/config';
import { errorMessage } from '../../lib/errorMessage';
import { LedgerFile, TableLedger } from '../../lib/ledger/ledger';
import { SeededRandom } from '../../lib/orders/random';
import { captureStoreForConnection } from '../../lib/storage/captureStore';
import { useAzurite } from '../support/azurite';
import { Body, RUN_COLUMNS, captureBytes, change, line } from '../lakehouse/lakehouseFixtures';
import {
  CaptureWriter,
  PipelineProcess,
  eventually,
  ledgerRows,
  pipelineConfig,
  pipelineEnv,
} from '../support/pipelineFixtures';

// `orders-pipeline pipeline` SIGKILLed at several random moments and restarted on the same data
// folder each time must end with the tables of a clean, uninterrupted run of the same files.
// KILL_SEED=<n> repeats the kill plan of a failed run (its moments are fractions of the clean run's
// time, so they land at comparable, not identical, points on another machine or load); KILL_LOG=1
// prints the plan and where each kill landed even when the test passes.

const FILES = 10;
const RECORDS_PER_FILE = 1500;
/** Batches of 3 files: 4 runs for the 10 files. */
const BATCHING = { BATCH_WAIT_SECONDS: '1', BATCH_MAX_FILES: '3' };

const SEED = killSeed();

function killSeed(): number {
  const text = process.env.KILL_SEED;
  if (text === undefined || text === '') return randomInt(2 ** 31);
  const seed = Number(text);
  if (!Number.isSafeInteger(seed)) throw new Error(`KILL_SEED must be an integer, not "${text}"`);
  return seed;
}

describe('local pipeline SIGKILLed at random moments and restarted each time', () => {
  const azurite = useAzurite();

  it(`ends with the tables of a clean run (KILL_SEED=${SEED})`, async () => {
    const connectionString = azurite().connectionString;
    const killedConfig = pipelineConfig(connectionString, BATCHING);
    // The clean run reads the same capture container, with a ledger, manifests and data folder of its own.
    const cleanConfig = pipelineConfig(connectionString, {
      ...BATCHING,
      CAPTURE_CONTAINER: killedConfig.CAPTURE_CONTAINER,
    });
    const files = await writeWorkload(killedConfig);
    const totalRecords = FILES * RECORDS_PER_FILE;
    const [cleanLedger, killedLedger] = await Promise.all([
      openLedger(cleanConfig),
      openLedger(killedConfig),
    ]);
    const context: string[] = [`KILL_SEED=${SEED}`];
    const live = new Set<PipelineProcess>();
    const spawn = (config: AppConfig): PipelineProcess => {
      const child = new PipelineProcess(pipelineEnv(connectionString, config, BATCHING));
      live.add(child);
      void child.exited.then(() => live.delete(child));
      return child;
    };

    try {
      // 1. The clean run, timed: from spawn to its "started" line, and to every file finished.
      const cleanSpawnedAt = Date.now();
      const clean = spawn(cleanConfig);
      await withLog(clean, () => clean.started());
      const startupMs = Date.now() - cleanSpawnedAt;
      await withLog(clean, () => allFinished(cleanLedger, files.length));
      const cleanMs = Date.now() - cleanSpawnedAt;
      expect(await clean.stop()).toBe(0);
      context.push(`clean run: started after ${startupMs} ms, finished after ${cleanMs} ms`);

      // 2. The same files, killed 3 or 4 times, at random moments of the clean run's timeline,
      // sorted: incarnation i dies after the gap between moments i - 1 and i, plus its own startup
      // (the first, at moment 1 from its spawn). Each restart resumes from the ledger and the
      // lakehouse the previous one left, so the kills move through the work (with some redone).
      const random = new SeededRandom(SEED);
      const moments = Array.from({ length: 3 + random.int(0, 1) }, () =>
        Math.round((0.05 + 0.9 * random.next()) * cleanMs),
      ).sort((a, b) => a - b);
      context.push(`kill moments (ms of the clean run): ${moments.join(', ')}`);
      for (const [i, moment] of moments.entries()) {
        const delayMs = i === 0 ? moment : startupMs + moment - moments[i - 1];
        const child = spawn(killedConfig);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        const exitCode = await child.stop('SIGKILL');
        const kill =
          `kill ${i + 1} ${delayMs} ms after its spawn, after ${lastEvent(child.log)}; ` +
          `ledger then: ${stateCounts(await ledgerRows(killedLedger))}`;
        context.push(kill);
        // Killed, not ended on its own (a crash would be a failure of its own).
        if (exitCode !== null)
          throw new Error(`${kill}: it had exited with ${exitCode}:\n${child.log.slice(-3000)}`);
      }

      // 3. A last incarnation finishes the work.
      const last = spawn(killedConfig);
      // Started first: SIGTERM stops it gracefully only once its handler is in place.
      await withLog(last, () => last.started());
      const rows = await withLog(last, () => allFinished(killedLedger, files.length));
      expect(await last.stop()).toBe(0);
      expect(stateCounts(rows)).toBe(`succeeded ${files.length}`);
      expect(stateCounts(await ledgerRows(cleanLedger))).toBe(`succeeded ${files.length}`);

      // 4. Every table equal to the clean run's.
      await compareLakehouses(
        path.join(killedConfig.LOCAL_DATA_DIR, 'lakehouse.duckdb'),
        path.join(cleanConfig.LOCAL_DATA_DIR, 'lakehouse.duckdb'),
        { killed: rows, clean: await ledgerRows(cleanLedger) },
        totalRecords,
      );
      if (process.env.KILL_LOG) console.log(context.join('\n'));
    } catch (error) {
      // The seed, the clean run's times and where each kill landed, above the failure itself.
      if (error instanceof Error) error.message = `${context.join('\n')}\n${error.message}`;
      throw error;
    } finally {
      await Promise.all([...live].map((child) => child.stop('SIGKILL')));
    }
  }, 180_000);
});

const TABLES = [
  'bronze_order_events',
  'batch_files',
  'quarantine_order_events',
  'dq_metrics',
  'silver_order_lines',
  'gold_daily_sales',
  'gold_customer_sales',
  'gold_dirty_groups',
];

async function compareLakehouses(
  killedPath: string,
  cleanPath: string,
  ledgers: { killed: LedgerFile[]; clean: LedgerFile[] },
  totalRecords: number,
): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  try {
    await db.run(`ATTACH '${killedPath}' AS killed (READ_ONLY)`);
    await db.run(`ATTACH '${cleanPath}' AS clean (READ_ONLY)`);
    const tables = async (database: string) =>
      (
        await rows(
          db,
          `SELECT table_name FROM duckdb_tables() WHERE database_name = '${database}' AND schema_name = 'main' ORDER BY 1`,
        )
      ).map((r) => String(r.table_name));
    const names = await tables('clean');
    expect(await tables('killed')).toEqual(names);
    expect(names).toEqual(expect.arrayContaining(TABLES));

    // Every table, as a multiset of rows without the run columns (batch_files: each file once).
    const differences: Record<string, unknown> = {};
    const counts: Record<string, number> = {};
    for (const table of names) {
      const columnsOf = async (database: string) =>
        (
          await rows(
            db,
            `SELECT column_name FROM duckdb_columns()
             WHERE database_name = '${database}' AND schema_name = 'main' AND table_name = '${table}'
             ORDER BY column_index`,
          )
        ).map((r) => String(r.column_name));
      const columns = await columnsOf('clean');
      expect(await columnsOf('killed')).toEqual(columns);
      const kept = columns.filter((c) => !RUN_COLUMNS.has(c)).join(', ');
      const select = (database: string) =>
        table === 'batch_files'
          ? `SELECT DISTINCT ${kept} FROM ${database}.${table}`
          : `SELECT ${kept} FROM ${database}.${table}`;
      const [count] = await rows(db, `SELECT count(*) AS n FROM (${select('clean')})`);
      counts[table] = Number(count.n);
      const onlyIn = async (a: string, b: string) => {
        const diff = `${select(a)} EXCEPT ALL ${select(b)}`;
        const [n] = await rows(db, `SELECT count(*) AS n FROM (${diff})`);
        return Number(n.n) === 0
          ? undefined
          : { rows: Number(n.n), first: await rows(db, `SELECT * FROM (${diff}) ORDER BY ALL LIMIT 10`) };
      };
      const onlyKilled = await onlyIn('killed', 'clean');
      const onlyClean = await onlyIn('clean', 'killed');
      if (onlyKilled || onlyClean)
        differences[table] = { onlyInKilledRun: onlyKilled, onlyInCleanRun: onlyClean };
    }
    expect(differences).toEqual({});

    // The workload reached every table it should.
    expect(counts).toMatchObject({
      bronze_order_events: totalRecords,
      batch_files: FILES,
      dq_metrics: FILES * DQ_RULES.length,
      gold_dirty_groups: 0,
    });
    expect(counts.quarantine_order_events).toBeGreaterThan(0);
    expect(counts.silver_order_lines).toBeGreaterThan(0);
    expect(counts.gold_daily_sales).toBeGreaterThan(0);
    expect(counts.gold_customer_sales).toBeGreaterThan(0);
    // Every rule is in quarantine, so the kills met every kind of bad record.
    expect(
      (await rows(db, 'SELECT DISTINCT rule FROM killed.quarantine_order_events ORDER BY 1')).map(
        (r) => r.rule,
      ),
    ).toEqual([...DQ_RULES].sort());

    // batch_files, batch by batch: no batch lists a file twice, and the batch each file finished
    // with lists exactly the files the ledger put in it.
    for (const [database, ledger] of [
      ['killed', ledgers.killed],
      ['clean', ledgers.clean],
    ] as const) {
      expect([
        database,
        await rows(
          db,
          `SELECT batch_id, file_path, count(*) AS n FROM ${database}.batch_files GROUP BY ALL HAVING count(*) > 1`,
        ),
      ]).toEqual([database, []]);
      const expected = new Map<string, string[]>();
      for (const row of ledger)
        expected.set(row.batchId!, [...(expected.get(row.batchId!) ?? []), row.url].sort());
      const finalBatches = [...expected.keys()].map((id) => `'${id}'`).join(', ');
      const actual = new Map(
        (
          await rows(
            db,
            `SELECT batch_id, list(file_path ORDER BY file_path) AS files FROM ${database}.batch_files
             WHERE batch_id IN (${finalBatches}) GROUP BY batch_id`,
          )
        ).map((r) => [String(r.batch_id), r.files as string[]]),
      );
      expect([database, Object.fromEntries(actual)]).toEqual([database, Object.fromEntries(expected)]);
    }
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}

async function rows(db: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  return (await db.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
}

async function openLedger(config: AppConfig): Promise<TableLedger> {
  return TableLedger.open(config.AzureWebJobsStorage, config.LEDGER_TABLE, config.CAPTURE_PATH_FORMAT);
}

async function allFinished(ledger: TableLedger, count: number): Promise<LedgerFile[]> {
  return eventually(
    `${count} files finished`,
    async () => {
      const rows = await ledgerRows(ledger);
      return (
        rows.length === count &&
        rows.every((r) => ['succeeded', 'deadLettered', 'skipped'].includes(r.state)) &&
        rows
      );
    },
    120_000,
  );
}

/** Runs `wait`; on failure, says what the pipeline logged last. */
async function withLog<T>(child: PipelineProcess, wait: () => Promise<T>): Promise<T> {
  try {
    return await wait();
  } catch (error) {
    throw new Error(`${errorMessage(error)}; the pipeline's log:\n${child.log.slice(-3000)}`, {
      cause: error,
    });
  }
}

function stateCounts(rows: LedgerFile[]): string {
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.state, (counts.get(row.state) ?? 0) + 1);
  return [...counts].map(([state, n]) => `${state} ${n}`).join(', ') || 'empty';
}

/** The pipeline's last log line, in short ("nothing" before its first). */
function lastEvent(log: string): string {
  const lines = log.trim().split('\n').filter(Boolean);
  if (lines.length === 0) return 'nothing logged';
  try {
    const entry = JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
    delete entry.time;
    return JSON.stringify(entry).slice(0, 200);
  } catch {
    return lines[lines.length - 1].slice(0, 200);
  }
}

/**
 * FILES Capture files of RECORDS_PER_FILE changes each: creates, updates and deletes of 3,200 order
 * lines (80 transactions × 40 products) across all the files, so silver keeps the highest lsn of
 * each, some of them delivered late; one record in 50 is bad, breaking each data-quality rule in
 * turn. Every lsn is unique, so the tables do not depend on how files are grouped into batches.
 */
async function writeWorkload(config: AppConfig): Promise<string[]> {
  const random = new SeededRandom(20261124);
  const total = FILES * RECORDS_PER_FILE;
  // lsns 1..total, with one in 30 swapped with another anywhere: changes delivered late or early.
  const lsns = Array.from({ length: total }, (_, i) => i + 1);
  for (let i = 0; i < total; i++) {
    if (random.chance(1 / 30)) {
      const j = random.int(0, total - 1);
      [lsns[i], lsns[j]] = [lsns[j], lsns[i]];
    }
  }
  const countries = ['United Kingdom', 'France', 'Germany', null];
  const orderLine = (): OrderLine => {
    const cancelled = random.chance(0.08);
    const quantity = random.int(1, 24);
    return line({
      TransactionNo: `${cancelled ? 'C' : ''}58${random.int(1000, 1079)}`,
      ProductNo: `P${random.int(100, 139)}`,
      ProductName: `Product ${random.int(1, 9)}`,
      Date: `2019-12-${String(random.int(1, 12)).padStart(2, '0')}`,
      Price: random.int(1, 5000) / 100,
      Quantity: cancelled ? -quantity : quantity,
      CustomerNo: random.chance(0.1) ? null : String(17000 + random.int(0, 29)),
      Country: random.pick(countries),
    });
  };
  const BAD: ((lsn: number) => Body)[] = [
    () => 'not json {',
    () => Buffer.from([0xff, 0xfe, 0x41]),
    () => null,
    (lsn) => JSON.stringify({ ...change('c', lsn, orderLine()), op: 'x' }),
    (lsn) =>
      JSON.stringify({
        ...change('c', lsn, orderLine()),
        source: { db: 'shop', table: 'order_lines', lsn: -lsn },
      }),
    (lsn) => change('c', lsn, { ...orderLine(), TransactionNo: '' }),
    (lsn) => change('c', lsn, { ...orderLine(), Price: -5 }),
    (lsn) => change('c', lsn, { ...orderLine(), Quantity: 0 }),
    (lsn) => change('c', lsn, { ...orderLine(), Date: '2019-02-30' }),
  ];
  const writer = new CaptureWriter(
    captureStoreForConnection(config.CaptureStorage, config.CAPTURE_CONTAINER),
  );
  const paths: string[] = [];
  let bad = 0;
  for (let f = 0; f < FILES; f++) {
    const bodies: Body[] = [];
    for (let r = 0; r < RECORDS_PER_FILE; r++) {
      const lsn = lsns[f * RECORDS_PER_FILE + r];
      if (r % 50 === 7) {
        bodies.push(BAD[bad++ % BAD.length](lsn));
        continue;
      }
      const roll = random.next();
      const op: CdcEvent['op'] = roll < 0.06 ? 'd' : roll < 0.3 ? 'u' : 'c';
      bodies.push(change(op, lsn, orderLine()));
    }
    const windowStart = writer.nextWindow();
    paths.push(await writer.writeRaw(await captureBytes(bodies, windowStart), String(f % 4), windowStart));
  }
  return paths;
}
