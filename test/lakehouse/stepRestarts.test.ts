import { BatchFile, LocalLakehouse } from '../../lib/lakehouse/localLakehouse';
import { readSqlFile, toDuckDbSql } from '../../lib/lakehouse/sqlText';
import { CaptureFolder, change, line, table, withoutRunColumns } from './lakehouseFixtures';

/**
 * On Delta every statement of a task commits on its own, and a task can fail after any of them; the
 * orchestration then retries the batch, or splits it and reprocesses its files under new batch ids.
 * These tests cut the silver and gold steps off after each statement (each run on its own and
 * autocommitted, as on Delta), go on as the orchestration would, and expect the tables of a clean
 * single run — quarantine and dq_metrics included.
 */
const TABLES = [
  'bronze_order_events',
  'quarantine_order_events',
  'dq_metrics',
  'silver_order_lines',
  'gold_dirty_groups',
  'gold_daily_sales',
  'gold_customer_sales',
];

async function snapshot(lakehouse: LocalLakehouse): Promise<Record<string, unknown[]>> {
  const result: Record<string, unknown[]> = {};
  for (const name of TABLES) {
    const rows = (await table(lakehouse, name)).map(withoutRunColumns);
    // Each run writes its files into a folder of its own: compare paths below it.
    result[name] = rows.map((row) => JSON.stringify(row).replace(/[^"]*lakehouse-[^/"]+\//g, '')).sort();
  }
  return result;
}

/** Two files: valid changes in two groups, an update that moves a line, a delete, and bad records. */
async function writeBatch(folder: CaptureFolder): Promise<BatchFile[]> {
  return [
    await folder.write([
      change('c', 1, line()),
      change('c', 2, line({ ProductNo: 'P2', Country: 'France', CustomerNo: '1' })),
      '{not json',
      change('c', 3, line({ ProductNo: 'P3', Price: -1 })),
    ]),
    await folder.write(
      [change('u', 4, line({ Date: '2019-12-10', Quantity: 3 })), change('d', 5, line({ ProductNo: 'P2' }))],
      '1',
    ),
  ];
}

/** Runs the first `count` statements of a step's SQL, each committed on its own. */
async function runPrefix(
  lakehouse: LocalLakehouse,
  files: string[],
  count: number,
  batchId: string,
): Promise<void> {
  for (const statement of files.flatMap((file) => readSqlFile(file)).slice(0, count)) {
    const values = Object.fromEntries(statement.parameters.map((name) => [name, batchId]));
    await lakehouse.rows(toDuckDbSql(statement), values);
  }
}

const SILVER = ['duckdb/parse.sql', 'databricks/sql/silver.sql'];
const GOLD = ['databricks/sql/gold.sql'];
const range = (n: number) => Array.from({ length: n }, (_, k) => k);

async function withLakehouse<T>(
  work: (lakehouse: LocalLakehouse, files: BatchFile[]) => Promise<T>,
): Promise<T> {
  const lakehouse = await LocalLakehouse.open(':memory:');
  try {
    return await work(lakehouse, await writeBatch(new CaptureFolder()));
  } finally {
    await lakehouse.close();
  }
}

describe('every lakehouse step is safe to run again after any statement committed', () => {
  let clean: Record<string, unknown[]>;
  beforeAll(async () => {
    clean = await withLakehouse(async (lakehouse, files) => {
      await lakehouse.ingest(files, { batchId: 'b1' });
      return snapshot(lakehouse);
    });
    expect(clean.quarantine_order_events).toHaveLength(2);
    expect(clean.dq_metrics).toHaveLength(14);
    expect(clean.gold_daily_sales.length).toBeGreaterThan(0);
    expect(clean.gold_dirty_groups).toEqual([]);
  });

  const silverStatements = SILVER.flatMap((file) => readSqlFile(file)).length;
  const goldStatements = GOLD.flatMap((file) => readSqlFile(file)).length;

  it.each(range(silverStatements + 1))('silver cut off after %i statements, the batch run again', (count) =>
    withLakehouse(async (lakehouse, files) => {
      await lakehouse.bronze(files, { batchId: 'b1' });
      await runPrefix(lakehouse, SILVER, count, 'b1');
      await lakehouse.ingest(files, { batchId: 'b1' });
      expect(await snapshot(lakehouse)).toEqual(clean);
      expect(await lakehouse.rows('SELECT count(*) AS n FROM batch_files')).toEqual([{ n: '2' }]);
    }),
  );

  it.each(range(silverStatements + 1))(
    'silver cut off after %i statements, the batch split into halves under new ids',
    (count) =>
      withLakehouse(async (lakehouse, files) => {
        await lakehouse.bronze(files, { batchId: 'b1' });
        await runPrefix(lakehouse, SILVER, count, 'b1');
        await lakehouse.ingest([files[0]], { batchId: 'b1-a' });
        await lakehouse.ingest([files[1]], { batchId: 'b1-b' });
        expect(await snapshot(lakehouse)).toEqual(clean);
      }),
  );

  it.each(range(goldStatements + 1))(
    'gold cut off after %i statements, then the next batch (another id) runs',
    (count) =>
      withLakehouse(async (lakehouse, files) => {
        await lakehouse.bronze(files, { batchId: 'b1' });
        await lakehouse.silver('b1');
        await runPrefix(lakehouse, GOLD, count, 'b1');
        // The failed batch's files are reprocessed under a new id (split), and gold catches up.
        await lakehouse.ingest(files, { batchId: 'b2' });
        expect(await snapshot(lakehouse)).toEqual(clean);
      }),
  );

  it('re-ingesting and reprocessing the same files under new ids changes no table', () =>
    withLakehouse(async (lakehouse, files) => {
      await lakehouse.ingest(files, { batchId: 'b1' });
      await lakehouse.ingest(files, { batchId: 'b1' });
      await lakehouse.ingest(files, { batchId: 'b2' });
      await lakehouse.ingest([files[1]], { batchId: 'b3' });
      await lakehouse.applyLoadedBatch('b1');
      expect(await snapshot(lakehouse)).toEqual(clean);
      // batch_files says which files each batch covered: replaced, never appended twice.
      expect(
        await lakehouse.rows('SELECT batch_id, count(*) AS n FROM batch_files GROUP BY ALL ORDER BY 1'),
      ).toEqual([
        { batch_id: 'b1', n: '2' },
        { batch_id: 'b2', n: '2' },
        { batch_id: 'b3', n: '1' },
      ]);
      // Quarantine keeps the batch that first judged each record.
      expect(await lakehouse.rows('SELECT DISTINCT batch_id FROM quarantine_order_events')).toEqual([
        { batch_id: 'b1' },
      ]);
    }));
});
