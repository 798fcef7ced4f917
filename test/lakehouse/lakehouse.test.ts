import { LocalLakehouse, BatchError } from '../../lib/lakehouse/localLakehouse';
import { CaptureFolder, change, line, silver, table } from './lakehouseFixtures';
import { goldKpis, goldSummary } from '../../lib/lakehouse/goldSummary';

describe('local lakehouse (DuckDB, shared SQL)', () => {
  let lakehouse: LocalLakehouse;
  let folder: CaptureFolder;
  beforeEach(async () => {
    lakehouse = await LocalLakehouse.open(':memory:');
    folder = new CaptureFolder();
  });
  afterEach(() => lakehouse.close());

  it('keeps the newest lsn per key across files, whatever the file order', async () => {
    const newer = await folder.write([change('u', 20, line({ Quantity: 5 }))]);
    const older = await folder.write([change('c', 10, line({ Quantity: 1 }))], '1');
    await lakehouse.ingest([newer, older]);
    expect(await silver(lakehouse)).toEqual([
      expect.objectContaining({
        transaction_no: '581482',
        product_no: '22485',
        quantity: 5,
        _lsn: '20',
        _deleted: false,
      }),
    ]);
  });

  it('treats a replayed event as a no-op', async () => {
    const first = await folder.write([change('c', 10, line())]);
    await lakehouse.ingest([first]);
    const before = await lakehouse.rows('SELECT * FROM silver_order_lines');
    const replay = await folder.write([change('c', 10, line({ Quantity: 99 }))]);
    const result = await lakehouse.ingest([replay]);
    expect(result.silver).toEqual({ upserts: 0, deletes: 0 });
    expect(await lakehouse.rows('SELECT * FROM silver_order_lines')).toEqual(before);
  });

  it('does not resurrect a deleted line with a late older event, and leaves a full tombstone', async () => {
    await lakehouse.ingest([await folder.write([change('c', 10, line()), change('d', 30, line())])]);
    await lakehouse.ingest([await folder.write([change('u', 20, line({ Quantity: 7 }))])]);
    expect(await silver(lakehouse)).toEqual([
      {
        transaction_no: '581482',
        product_no: '22485',
        product_name: null,
        price: null,
        quantity: null,
        customer_no: null,
        country: null,
        order_date: null,
        is_cancellation: null,
        _lsn: '30',
        _deleted: true,
      },
    ]);
    expect(await table(lakehouse, 'gold_daily_sales')).toEqual([]);
    expect(await table(lakehouse, 'gold_customer_sales')).toEqual([]);
  });

  it('leaves a tombstone for a delete of a key never seen, and a delete wins an equal lsn', async () => {
    await lakehouse.ingest([
      await folder.write([
        change('d', 5, line({ ProductNo: 'NEW' })),
        change('u', 8, line()),
        change('d', 8, line()),
      ]),
    ]);
    const rows = await silver(lakehouse);
    expect(rows.map((r) => [r.product_no, r._lsn, r._deleted])).toEqual([
      ['22485', '8', true],
      ['NEW', '5', true],
    ]);
  });

  it('applies only the highest-ranked of several changes to one key in a batch', async () => {
    const result = await lakehouse.ingest([
      await folder.write([
        change('c', 1, line({ Quantity: 1 })),
        change('u', 4, line({ Quantity: 4, Country: 'EIRE' })),
        change('u', 3, line({ Quantity: 3 })),
        change('u', 2, line({ Quantity: 2 })),
      ]),
    ]);
    expect(result.silver).toEqual({ upserts: 1, deletes: 0 });
    expect(await silver(lakehouse)).toEqual([
      expect.objectContaining({ quantity: 4, country: 'EIRE', _lsn: '4' }),
    ]);
    expect(await table(lakehouse, 'gold_daily_sales')).toEqual([
      expect.objectContaining({ order_date: '2019-12-09', country: 'EIRE', units: '4', revenue: '85.88' }),
    ]);
  });

  it('moves a line between gold groups when an update changes its day, country or customer', async () => {
    await lakehouse.ingest([
      await folder.write([
        change('c', 1, line()),
        change('c', 2, line({ ProductNo: 'B', Price: 1, Quantity: 1 })),
      ]),
    ]);
    await lakehouse.ingest([
      await folder.write([
        change('u', 3, line({ Date: '12/10/2019', Country: 'France', CustomerNo: '12345' })),
      ]),
    ]);
    const daily = await table(lakehouse, 'gold_daily_sales', 'order_date, country');
    expect(daily.map((r) => [r.order_date, r.country, r.units, r.revenue])).toEqual([
      ['2019-12-09', 'United Kingdom', '1', '1.00'],
      ['2019-12-10', 'France', '12', '257.64'],
    ]);
    const customers = await table(lakehouse, 'gold_customer_sales', 'customer_no');
    expect(customers.map((r) => [r.customer_no, r.units, r.revenue])).toEqual([
      ['12345', '12', '257.64'],
      ['17490', '1', '1.00'],
    ]);
  });

  it('counts cancellations apart and gives a customer with only cancellations no row', async () => {
    await lakehouse.ingest([
      await folder.write([
        change('c', 1, line({ TransactionNo: 'C581484', Quantity: -3, Price: 2.5, CustomerNo: '99999' })),
        change('c', 2, line({ TransactionNo: 'C581485', Quantity: -1, Price: 1.25, CustomerNo: '99999' })),
        change('c', 3, line({ Quantity: 2, Price: 10 })),
      ]),
    ]);
    expect(await table(lakehouse, 'gold_daily_sales')).toEqual([
      {
        order_date: '2019-12-09',
        country: 'United Kingdom',
        orders: '1',
        order_lines: '1',
        units: '2',
        revenue: '20.00',
        cancelled_orders: '2',
        cancelled_units: '4',
        cancelled_revenue: '8.75',
        customers: '1',
      },
    ]);
    expect((await table(lakehouse, 'gold_customer_sales')).map((r) => r.customer_no)).toEqual(['17490']);
    expect((await silver(lakehouse)).map((r) => [r.transaction_no, r.is_cancellation])).toEqual([
      ['581482', false],
      ['C581484', true],
      ['C581485', true],
    ]);
  });

  it('stores a null or numeric customer and a missing country as the spec says', async () => {
    const noCountry = { ...line({ ProductNo: 'X' }) } as Partial<ReturnType<typeof line>>;
    delete noCountry.Country;
    await lakehouse.ingest([
      await folder.write([
        change('c', 1, line({ CustomerNo: null })),
        change('c', 2, noCountry as ReturnType<typeof line>),
        change('c', 3, line({ ProductNo: 'Y', CustomerNo: 17490 })),
      ]),
    ]);
    expect((await silver(lakehouse)).map((r) => [r.product_no, r.customer_no, r.country])).toEqual([
      ['22485', null, 'United Kingdom'],
      ['X', '17490', 'Unspecified'],
      ['Y', '17490', 'United Kingdom'],
    ]);
    const daily = await table(lakehouse, 'gold_daily_sales', 'country');
    expect(daily.map((r) => [r.country, r.customers])).toEqual([
      ['United Kingdom', '1'],
      ['Unspecified', '1'],
    ]);
  });

  it('quarantines each rule with its name and reason, counts it in dq_metrics, and drops nothing', async () => {
    const bodies = [
      null,
      Buffer.from([0xff, 0xfe]),
      '{"op":"c",}',
      '[1]',
      JSON.stringify({ ...change('c', 1, line()), op: 'x' }),
      JSON.stringify({ ...change('c', 1, line()), source: { lsn: -1 } }),
      JSON.stringify(change('c', 1, line({ ProductNo: '' }))),
      JSON.stringify(change('c', 1, line({ Price: -1 }))),
      JSON.stringify(change('c', 1, line({ Quantity: 2.5 }))),
      JSON.stringify(change('c', 1, line({ Date: '2019-02-30' }))),
      JSON.stringify(change('c', 1, line())),
    ];
    const result = await lakehouse.ingest([await folder.write(bodies)]);
    expect(result.quarantined).toEqual({ json: 4, op: 1, lsn: 1, key: 1, price: 1, quantity: 1, date: 1 });
    const quarantine = await table(lakehouse, 'quarantine_order_events', 'sequence_number');
    expect(quarantine.map((r) => [r.sequence_number, r.rule, r.raw_body_encoding])).toEqual([
      ['0', 'json', 'base64'],
      ['1', 'json', 'base64'],
      ['2', 'json', 'utf8'],
      ['3', 'json', 'utf8'],
      ['4', 'op', 'utf8'],
      ['5', 'lsn', 'utf8'],
      ['6', 'key', 'utf8'],
      ['7', 'price', 'utf8'],
      ['8', 'quantity', 'utf8'],
      ['9', 'date', 'utf8'],
    ]);
    expect(quarantine[0]).toMatchObject({ raw_body: null, reason: 'body is null' });
    expect(quarantine[1]).toMatchObject({ raw_body: '//4=', reason: 'body is not valid UTF-8' });
    expect(quarantine[4].reason).toBe('op is x; expected one of c, u, d, r');
    expect(quarantine[9].reason).toBe(
      'after.Date is 2019-02-30; expected a real date as YYYY-MM-DD or M/D/YYYY',
    );
    const metrics = await lakehouse.rows(
      'SELECT rule, passed, failed FROM dq_metrics ORDER BY failed DESC, rule',
    );
    expect(metrics).toEqual([
      { rule: 'json', passed: '7', failed: '4' },
      { rule: 'date', passed: '1', failed: '1' },
      { rule: 'key', passed: '4', failed: '1' },
      { rule: 'lsn', passed: '5', failed: '1' },
      { rule: 'op', passed: '6', failed: '1' },
      { rule: 'price', passed: '3', failed: '1' },
      { rule: 'quantity', passed: '2', failed: '1' },
    ]);
    expect(await lakehouse.rows('SELECT count(*) AS n FROM silver_order_lines')).toEqual([{ n: '1' }]);
    expect(await lakehouse.rows('SELECT count(*) AS n FROM bronze_order_events')).toEqual([
      { n: String(bodies.length) },
    ]);
  });

  it('changes nothing when the same file is ingested twice, but still applies it in the new batch', async () => {
    const file = await folder.write([change('c', 1, line()), change('c', 2, line({ ProductNo: 'B' }))]);
    await lakehouse.ingest([file]);
    const snapshot = async () => ({
      bronze: await lakehouse.rows('SELECT count(*) AS n FROM bronze_order_events'),
      silver: await lakehouse.rows('SELECT * FROM silver_order_lines ORDER BY ALL'),
      daily: await table(lakehouse, 'gold_daily_sales'),
      customers: await table(lakehouse, 'gold_customer_sales'),
    });
    const before = await snapshot();
    const again = await lakehouse.ingest([file]);
    expect(again.files).toEqual([expect.objectContaining({ skipped: true, records: 2 })]);
    expect((await lakehouse.ingest([file, file])).files).toHaveLength(1);
    expect(again.loaded).toBe(0);
    expect(again.checked).toBe(2);
    expect(again.gold).toEqual({ dailyRowsChanged: 0, customerRowsChanged: 0 });
    expect(await snapshot()).toEqual(before);
    expect(await lakehouse.rows('SELECT count(DISTINCT batch_id) AS n FROM batch_files')).toEqual([
      { n: '3' },
    ]);
    expect(await lakehouse.rows('SELECT count(*) AS n FROM batch_files')).toEqual([{ n: '3' }]);
  });

  it('sums money exactly at the bounds the rules admit, without overflow', async () => {
    // Price just below 10^8 and the 32-bit quantity limits: one line is about 2.1 × 10^17.
    const big = (i: number, overrides: Parameters<typeof line>[0]) =>
      change('c', i, line({ ProductNo: `P${i}`, Price: 99999999.99, Quantity: 2147483647, ...overrides }));
    await lakehouse.ingest([
      await folder.write([
        big(1, {}),
        big(2, {}),
        big(3, {}),
        big(4, { TransactionNo: 'C1', Quantity: -2147483648 }),
        big(5, { TransactionNo: 'C1', Quantity: -2147483648 }),
      ]),
    ]);
    const cents = (quantity: bigint) => 9999999999n * quantity;
    const text = (value: bigint) => `${value / 100n}.${String(value % 100n).padStart(2, '0')}`;
    expect(await lakehouse.rows('SELECT revenue, cancelled_revenue, units FROM gold_daily_sales')).toEqual([
      {
        revenue: text(cents(3n * 2147483647n)),
        cancelled_revenue: text(cents(2n * 2147483648n)),
        units: String(3n * 2147483647n),
      },
    ]);
    expect(await lakehouse.rows('SELECT revenue FROM gold_customer_sales')).toEqual([
      { revenue: text(cents(3n * 2147483647n)) },
    ]);
    // The KPIs the dashboard and the CLI read: totals exact, the product ranking without overflow.
    expect((await goldSummary(lakehouse)).revenue).toBe(text(cents(3n * 2147483647n)));
    expect((await goldKpis(lakehouse)).topProducts).toHaveLength(3);
  });

  it("upgrades an earlier version's database: dq_metrics by file, gold money widened", async () => {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const os = await import('node:os');
    const path = await import('node:path');
    const fs = await import('node:fs');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lakehouse-upgrade-')), 'old.duckdb');
    const old = await DuckDBInstance.create(file);
    const connection = await old.connect();
    await connection.run(
      'CREATE TABLE dq_metrics (batch_id VARCHAR, rule VARCHAR, passed BIGINT, failed BIGINT, measured_at TIMESTAMP)',
    );
    await connection.run(
      `CREATE TABLE gold_customer_sales (customer_no VARCHAR, orders BIGINT, units BIGINT,
         revenue DECIMAL(18, 2), first_order_date DATE, last_order_date DATE)`,
    );
    await connection.run(
      `INSERT INTO gold_customer_sales VALUES ('1', 1, 1, 12.34, '2019-01-01', '2019-01-01')`,
    );
    connection.closeSync();
    old.closeSync();
    const upgraded = await LocalLakehouse.open(file);
    try {
      expect(
        await upgraded.rows(
          `SELECT table_name, column_name, data_type FROM duckdb_columns()
           WHERE column_name IN ('file_path', 'revenue') AND table_name IN ('dq_metrics', 'gold_customer_sales')
           ORDER BY ALL`,
        ),
      ).toEqual([
        { table_name: 'dq_metrics', column_name: 'file_path', data_type: 'VARCHAR' },
        { table_name: 'gold_customer_sales', column_name: 'revenue', data_type: 'DECIMAL(38,2)' },
      ]);
      expect(await upgraded.rows('SELECT revenue FROM gold_customer_sales')).toEqual([{ revenue: '12.34' }]);
      await upgraded.ingest([await folder.write([change('c', 1, line({ CustomerNo: '2' }))])]);
      expect(await upgraded.rows('SELECT count(*) AS n FROM dq_metrics WHERE file_path IS NOT NULL')).toEqual(
        [{ n: '7' }],
      );
    } finally {
      await upgraded.close();
    }
  });

  it('records an empty file as loaded and changes nothing', async () => {
    const empty = await folder.write([]);
    const result = await lakehouse.ingest([empty]);
    expect(result).toMatchObject({ loaded: 0, checked: 0, silver: { upserts: 0, deletes: 0 } });
    expect(result.files).toEqual([expect.objectContaining({ records: 0, skipped: false })]);
    expect((await lakehouse.ingest([empty])).files[0].skipped).toBe(true);
    // The file is judged once: the second batch that covers it adds no metrics rows.
    expect(
      await lakehouse.rows('SELECT rule, passed, failed FROM dq_metrics WHERE rule = $r', { r: 'json' }),
    ).toEqual([{ rule: 'json', passed: '0', failed: '0' }]);
  });

  it('fails the whole batch on a corrupt file, naming it, and leaves every table as it was', async () => {
    await lakehouse.ingest([await folder.write([change('c', 1, line())])]);
    const tables = [
      'bronze_order_events',
      'batch_files',
      'silver_order_lines',
      'gold_daily_sales',
      'dq_metrics',
    ];
    const before = await Promise.all(tables.map((t) => table(lakehouse, t)));
    const good = await folder.write([change('u', 2, line({ Quantity: 1 }))]);
    const corrupt = await folder.write([change('c', 3, line({ ProductNo: 'Z' }))], '1');
    const full = folder.store.fileUrl(corrupt.path);
    const fs = await import('node:fs');
    const bytes = fs.readFileSync(full);
    fs.writeFileSync(full, bytes.subarray(0, bytes.length - 20));
    const failure = lakehouse.ingest([good, corrupt]);
    await expect(failure).rejects.toThrow(BatchError);
    await expect(failure).rejects.toThrow(
      new RegExp(
        `file ${full.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*truncated Capture file at byte \\d+`,
      ),
    );
    expect(await Promise.all(tables.map((t) => table(lakehouse, t)))).toEqual(before);
    // The good file was not marked loaded: a retry without the corrupt file applies it.
    await lakehouse.ingest([good]);
    expect((await silver(lakehouse))[0]).toMatchObject({ quantity: 1, _lsn: '2' });
  });
});
