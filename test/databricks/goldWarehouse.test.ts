import type { AccessToken, TokenCredential } from '@azure/identity';
import { DATABRICKS_SCOPE } from '../../lib/databricks/jobsClient';
import { SqlWarehouse, SqlWarehouseError } from '../../lib/databricks/sqlWarehouse';
import { GoldQuery, goldKpis, goldQuery, goldSummary } from '../../lib/lakehouse/goldSummary';
import { LocalLakehouse } from '../../lib/lakehouse/localLakehouse';
import { GoldAnswer, GoldCache, goldAnswer } from '../../lib/operate/goldReport';
import { FakeSqlWarehouse, startFakeSqlWarehouse } from './fakeSqlWarehouse';
import { CaptureFolder, change, line } from '../lakehouse/lakehouseFixtures';

const TOKEN = 'dapi-gold-reader';

describe('gold KPIs on the Databricks SQL warehouse (@databricks/sql against a Thrift stand-in)', () => {
  let lakehouse: LocalLakehouse;
  let fake: FakeSqlWarehouse;
  const warehouse = (overrides: Partial<ConstructorParameters<typeof SqlWarehouse>[0]> = {}) =>
    new SqlWarehouse({
      workspaceUrl: fake.url,
      httpPath: fake.httpPath,
      catalog: 'main',
      schema: 'orders',
      auth: { token: TOKEN },
      caCert: fake.caCert,
      ...overrides,
    });

  beforeAll(async () => {
    lakehouse = await LocalLakehouse.open(':memory:');
    const folder = new CaptureFolder();
    await lakehouse.ingest([
      await folder.write([
        change('c', 1, line()),
        change(
          'c',
          2,
          line({ ProductNo: '22086', ProductName: 'Paper Chain Kit', Price: 6.19, Quantity: 3 }),
        ),
        change(
          'c',
          3,
          line({ TransactionNo: '581483', Country: 'France', CustomerNo: 12680, Date: '2019-12-10' }),
        ),
        change('c', 4, line({ TransactionNo: 'C581484', Quantity: -2 })),
        change('c', 5, line({ TransactionNo: '581485', ProductNo: '84029E', Country: 'Germany' })),
      ]),
    ]);
    await lakehouse.ingest([
      await folder.write([change('d', 6, line({ TransactionNo: '581485', ProductNo: '84029E' }))]),
    ]);
    fake = await startFakeSqlWarehouse(
      {
        describe: (sql) =>
          lakehouse.rows(`DESCRIBE ${sql}`) as Promise<{ column_name: unknown; column_type: unknown }[]>,
        query: (sql) => lakehouse.query(sql),
      },
      { token: TOKEN },
    );
  });
  afterAll(async () => {
    await fake?.close();
    await lakehouse?.close();
  });

  it('answers the gold API from whichever engine it is given, saying which', async () => {
    const remote = warehouse();
    try {
      const answer = await goldAnswer(remote, 'sql-warehouse', new Date('2026-11-26T10:00:00Z'));
      expect(answer).toEqual({
        status: 200,
        body: { engine: 'sql-warehouse', at: '2026-11-26T10:00:00.000Z', ...(await goldKpis(lakehouse)) },
      });
    } finally {
      await remote.close();
    }
  });

  it('reads the same KPIs as DuckDB, through the same SQL files, in the lakehouse catalog and schema', async () => {
    const local = await goldKpis(lakehouse);
    expect(local.byCountry.map((c) => c.country)).toEqual(['United Kingdom', 'France']);
    expect(local.totals.orders).toBe(2);

    const before = fake.seen.statements.length;
    const remote = warehouse();
    try {
      expect(await goldKpis(remote)).toEqual(local);
      expect(await goldSummary(remote)).toEqual(await goldSummary(lakehouse));
    } finally {
      await remote.close();
    }
    const names: GoldQuery[] = ['totals', 'daily', 'countries', 'products', 'totals', 'countries'];
    expect(fake.seen.statements.slice(before)).toEqual(names.map(goldQuery));
    expect(fake.seen.sessions.at(-1)).toEqual({ catalog: 'main', schema: 'orders' });
    expect(new Set(fake.seen.authorization)).toEqual(new Set([`Bearer ${TOKEN}`]));
  });

  it("authenticates with the app's Entra ID identity when no PAT is configured", async () => {
    const scopes: string[] = [];
    const credential: TokenCredential = {
      getToken: async (scope): Promise<AccessToken> => {
        scopes.push(...[scope].flat());
        return { token: TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    };
    const remote = warehouse({ auth: { credential } });
    try {
      expect((await goldSummary(remote)).orders).toBe(2);
    } finally {
      await remote.close();
    }
    expect(new Set(scopes)).toEqual(new Set([DATABRICKS_SCOPE]));
  });

  it('fails with the warehouse path and step on a rejected token, a bad statement or an untrusted certificate', async () => {
    const denied = warehouse({ auth: { token: 'dapi-wrong' } });
    await expect(denied.query('SELECT 1')).rejects.toThrow(SqlWarehouseError);
    await expect(denied.query('SELECT 1')).rejects.toThrow(`SQL warehouse ${fake.httpPath}: connect failed`);
    await denied.close();

    const remote = warehouse();
    try {
      await expect(remote.query('SELEC nothing')).rejects.toThrow(
        `SQL warehouse ${fake.httpPath}: query failed`,
      );
    } finally {
      await remote.close();
    }

    const failed = warehouse({ auth: { token: 'dapi-wrong' } });
    expect(await goldAnswer(failed, 'sql-warehouse')).toEqual({
      status: 502,
      body: { error: expect.stringMatching(`^SQL warehouse ${fake.httpPath}: connect failed`) },
    });
    await failed.close();

    const untrusted = warehouse({ caCert: undefined });
    await expect(untrusted.query('SELECT 1')).rejects.toThrow(/connect failed: .*certificate/i);
    await untrusted.close();
  });
});

describe('gold answer cache', () => {
  const ok = (n: number): GoldAnswer => ({
    status: 200,
    body: {
      engine: 'sql-warehouse',
      at: String(n),
      totals: {
        days: 0,
        countries: 0,
        orders: n,
        revenue: '0.00',
        cancelledRevenue: '0.00',
        customers: 0,
        lastChange: null,
      },
      byDay: [],
      byCountry: [],
      topProducts: [],
    },
  });

  it('reuses a successful answer for its age, shares a read in flight, keeps no failure, reads afresh on request', async () => {
    let reads = 0;
    const cache = new GoldCache(300_000);
    const read = async () => ok(++reads);
    const [a, b] = await Promise.all([cache.get(read, { now: 0 }), cache.get(read, { now: 0 })]);
    expect([a, b, reads]).toEqual([ok(1), ok(1), 1]);
    expect(await cache.get(read, { now: 299_999 })).toEqual(ok(1));
    expect(await cache.get(read, { now: 300_000 })).toEqual(ok(2));
    expect(await cache.get(read, { now: 300_001, fresh: true })).toEqual(ok(3));
    const failed: GoldAnswer = { status: 502, body: { error: 'down' } };
    const failing = new GoldCache(300_000);
    expect(await failing.get(async () => failed, { now: 0 })).toEqual(failed);
    expect(await failing.get(read, { now: 1 })).toEqual(ok(4));
    const never = new GoldCache(0);
    await never.get(read, { now: 0 });
    expect(await never.get(read, { now: 0 })).toEqual(ok(6));
  });
});
