import fc from 'fast-check';
import { formatCents } from '../../lib/cdc/decimal';
import { validateCdcBody } from '../../lib/cdc/validate';
import { LocalLakehouse } from '../../lib/lakehouse/localLakehouse';
import { Body, CaptureFolder, change, line } from './lakehouseFixtures';

// Many DuckDB batches per property: on a loaded 2-core CI machine they can outlast jest's 60 s default.
const HEAVY_PROPERTY_TIMEOUT_MS = 180_000;

/** JSON text of a value, or undefined to leave the member out. */
type Member = string | undefined;

const digits = (min: number, max: number) =>
  fc
    .integer({ min, max })
    .chain((n) => fc.array(fc.constantFrom(...'0123456789'), { minLength: n, maxLength: n }));

/** Number texts as producers write them, within 15 significant digits (DuckDB reads JSON numbers as doubles). */
const numberText = fc.oneof(
  fc.integer({ min: -1000, max: 100_000 }).map(String),
  fc
    .tuple(digits(1, 8), digits(1, 6))
    .map(([i, f]) => `${i.join('').replace(/^0+(?=\d)/, '')}.${f.join('')}`),
  fc
    .tuple(fc.integer({ min: 1, max: 99 }), fc.integer({ min: -3, max: 9 }))
    .map(([m, e]) => `${m / 10}e${e}`),
  fc.constantFrom(
    '0',
    '-0',
    '-0.0',
    '12.0',
    '2.5',
    '1e8',
    '0.005',
    '1.005',
    '99999999.99',
    '99999999.995',
    '21.475',
    '-0.01',
    '1E2',
  ),
  fc.constantFrom('2147483647', '2147483648', '-2147483648', '-2147483649', '9223372036854775807', '1e400'),
);

const jsonString = fc
  .oneof(fc.string({ maxLength: 8 }), fc.constantFrom('', 'c', 'u', 'd', 'r', 'C581484', '581482', 'x'))
  .map((s) => JSON.stringify(s));

const scalar = fc.oneof(numberText, jsonString, fc.constantFrom('null', 'true', '[]', '{}'));
const member = (arb: fc.Arbitrary<string>): fc.Arbitrary<Member> =>
  fc.option(arb, { nil: undefined, freq: 8 });

const dateText = fc
  .oneof(
    fc
      .tuple(
        fc.integer({ min: 0, max: 2100 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
      )
      .chain(([y, m, d]) =>
        fc.constantFrom(
          `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`,
          `${m}/${d}/${String(y).padStart(4, '0')}`,
          `0${m}/${d}/${y}`,
          `${y}-${m}-${d}`,
        ),
      ),
    fc.constantFrom(
      '2019-02-29',
      '2020-02-29',
      '1900-02-29',
      '2000-02-29',
      '12/9/2019',
      '2019-12-09 ',
      ' 12/9/2019',
    ),
  )
  .map((s) => JSON.stringify(s));

function object(members: Record<string, Member>): string {
  return `{${Object.entries(members)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
    .join(',')}}`;
}

/** Mostly a good value, sometimes anything: so records reach every rule, not just the first ones. */
const mostly = (good: fc.Arbitrary<string>, other: fc.Arbitrary<string>): fc.Arbitrary<Member> =>
  fc.oneof(
    { weight: 8, arbitrary: good },
    { weight: 2, arbitrary: other },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );

const keyText = fc.oneof(
  fc.integer({ min: 536365, max: 581587 }).map(String),
  fc.constantFrom('C581484', '85123A'),
);
const priceText = fc
  .tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 999 }))
  .map(([whole, fraction]) => `${whole}.${fraction}`);
const quantityText = fc.oneof(fc.integer({ min: -50, max: 150 }).map(String), fc.constant('12.0'));

const image = fc
  .record({
    TransactionNo: mostly(
      keyText.map((k) => JSON.stringify(k)),
      fc.oneof(jsonString, scalar),
    ),
    ProductNo: mostly(
      keyText.map((k) => JSON.stringify(k)),
      fc.oneof(jsonString, scalar),
    ),
    Price: mostly(priceText, fc.oneof(numberText, scalar)),
    Quantity: mostly(quantityText, fc.oneof(numberText, scalar)),
    Date: mostly(dateText, scalar),
    ProductName: member(fc.oneof(jsonString, fc.constant('null'))),
    CustomerNo: member(
      fc.oneof(jsonString, fc.integer({ min: 0, max: 99999 }).map(String), fc.constant('null')),
    ),
    Country: member(fc.oneof(jsonString, fc.constant('null'))),
  })
  .map(object);

const envelope = fc
  .record({
    op: mostly(fc.constantFrom('"c"', '"u"', '"d"', '"r"'), scalar),
    source: mostly(
      fc.oneof(fc.nat().map(String), numberText).map((lsn) => object({ db: '"shop"', lsn })),
      fc.oneof(scalar, fc.constant('{}')),
    ),
    before: mostly(image, scalar),
    after: mostly(image, scalar),
  })
  .map(object);

const body: fc.Arbitrary<Body> = fc.oneof(
  { weight: 12, arbitrary: envelope },
  { weight: 1, arbitrary: envelope.map((text) => text.replace(/}$/, ',}')) },
  { weight: 1, arbitrary: envelope.map((text) => text.slice(0, -1)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Body>(null, '[1]', '"c"', 'NaN', '{"op":NaN}', '{"op":"\\ud800"}', '\uFEFF{}'),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }).map((bytes) => Buffer.from(bytes)) },
);

describe('the TypeScript validator and the shared SQL agree', () => {
  it(
    'on every body: the same rule, and the same values for the records that pass',
    async () => {
      const lakehouse = await LocalLakehouse.open(':memory:');
      const folder = new CaptureFolder();
      const seen = new Map<string, number>();
      try {
        await fc.assert(
          fc.asyncProperty(fc.array(body, { minLength: 100, maxLength: 400 }), async (bodies) => {
            await lakehouse.ingest([await folder.write(bodies)]);
            const rows = await lakehouse.rows(
              `SELECT sequence_number, rule, lsn, price, quantity, order_date, customer_no, country, product_name,
                    transaction_no, product_no, is_cancellation
             FROM batch_checked ORDER BY sequence_number`,
            );
            const expected = bodies.map((b, i) => {
              const result = validateCdcBody(
                b === null
                  ? null
                  : Buffer.isBuffer(b)
                    ? b
                    : Buffer.from(typeof b === 'string' ? b : JSON.stringify(b)),
              );
              if (!result.ok) return { i, rule: result.rule };
              const c = result.change;
              return {
                i,
                rule: null,
                lsn: String(c.lsn),
                transaction_no: c.transactionNo,
                product_no: c.productNo,
                price: c.priceCents === null ? null : formatCents(c.priceCents),
                quantity: c.quantity,
                order_date: c.orderDate,
                customer_no: c.customerNo,
                country: c.country,
                product_name: c.productName,
                is_cancellation: c.deleted ? null : c.isCancellation,
              };
            });
            const actual = rows.map((r, i) =>
              r.rule !== null
                ? { i, rule: r.rule }
                : {
                    i,
                    rule: null,
                    lsn: r.lsn,
                    transaction_no: r.transaction_no,
                    product_no: r.product_no,
                    price: r.price,
                    quantity: r.quantity,
                    order_date: r.order_date,
                    customer_no: r.customer_no,
                    country: r.country,
                    product_name: r.product_name,
                    is_cancellation: r.is_cancellation,
                  },
            );
            expect(actual).toEqual(expected);
            for (const e of expected) seen.set(String(e.rule), (seen.get(String(e.rule)) ?? 0) + 1);
          }),
          { numRuns: 12 },
        );
        // The bodies reach every outcome, so agreement is tested on each rule and on passing records.
        expect([...seen.keys()].sort()).toEqual([
          'date',
          'json',
          'key',
          'lsn',
          'null',
          'op',
          'price',
          'quantity',
        ]);
      } finally {
        await lakehouse.close();
      }
    },
    HEAVY_PROPERTY_TIMEOUT_MS,
  );
});

interface Line {
  txn: string;
  product: string;
  priceCents: bigint;
  quantity: number;
  customer: string | null;
  country: string;
  date: string;
  lsn: number;
  deleted: boolean;
}

/** Silver and gold from scratch, straight from the spec: the reference incremental gold must equal. */
function referenceGold(events: ReturnType<typeof change>[]) {
  const silver = new Map<string, Line>();
  for (const event of events) {
    const result = validateCdcBody(JSON.stringify(event));
    if (!result.ok) continue;
    const c = result.change;
    const key = `${c.transactionNo}|${c.productNo}`;
    const current = silver.get(key);
    const lsn = Number(c.lsn);
    if (current && (lsn < current.lsn || (lsn === current.lsn && (!c.deleted || current.deleted)))) continue;
    silver.set(key, {
      txn: c.transactionNo,
      product: c.productNo,
      priceCents: c.priceCents ?? 0n,
      quantity: c.quantity ?? 0,
      customer: c.customerNo,
      country: c.country ?? '',
      date: c.orderDate ?? '',
      lsn,
      deleted: c.deleted,
    });
  }
  const live = [...silver.values()].filter((l) => !l.deleted);
  const daily = new Map<string, Line[]>();
  const customers = new Map<string, Line[]>();
  for (const l of live) {
    daily.set(`${l.date}|${l.country}`, [...(daily.get(`${l.date}|${l.country}`) ?? []), l]);
    if (l.customer !== null && !l.txn.startsWith('C'))
      customers.set(l.customer, [...(customers.get(l.customer) ?? []), l]);
  }
  const sum = (ls: Line[], f: (l: Line) => bigint): bigint => ls.reduce((a, l) => a + f(l), 0n);
  const abs = (n: bigint): bigint => (n < 0n ? -n : n);
  const dailyRows = [...daily.entries()].map(([group, ls]) => {
    const sales = ls.filter((l) => !l.txn.startsWith('C'));
    const cancels = ls.filter((l) => l.txn.startsWith('C'));
    const [date, country] = group.split('|');
    return {
      order_date: date,
      country,
      orders: String(new Set(sales.map((l) => l.txn)).size),
      order_lines: String(sales.length),
      units: String(sum(sales, (l) => BigInt(l.quantity))),
      revenue: formatCents(sum(sales, (l) => l.priceCents * BigInt(l.quantity))),
      cancelled_orders: String(new Set(cancels.map((l) => l.txn)).size),
      cancelled_units: String(sum(cancels, (l) => abs(BigInt(l.quantity)))),
      cancelled_revenue: formatCents(sum(cancels, (l) => abs(l.priceCents * BigInt(l.quantity)))),
      customers: String(new Set(sales.filter((l) => l.customer !== null).map((l) => l.customer)).size),
    };
  });
  const customerRows = [...customers.entries()].map(([customer, ls]) => ({
    customer_no: customer,
    orders: String(new Set(ls.map((l) => l.txn)).size),
    units: String(sum(ls, (l) => BigInt(l.quantity))),
    revenue: formatCents(sum(ls, (l) => l.priceCents * BigInt(l.quantity))),
    first_order_date: ls.map((l) => l.date).sort()[0],
    last_order_date: ls
      .map((l) => l.date)
      .sort()
      .reverse()[0],
  }));
  const byKeys = (a: Record<string, string>, b: Record<string, string>, keys: string[]): number => {
    for (const k of keys) if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
    return 0;
  };
  return {
    daily: dailyRows.sort((a, b) => byKeys(a, b, ['order_date', 'country'])),
    customers: customerRows.sort((a, b) => byKeys(a, b, ['customer_no'])),
  };
}

const orderChange = fc.record({
  op: fc.constantFrom<'c' | 'u' | 'd' | 'r'>('c', 'u', 'd', 'r', 'u'),
  txn: fc.constantFrom('536365', '536366', 'C536367', 'C536368'),
  product: fc.constantFrom('A', 'B', 'C'),
  price: fc.constantFrom(0, 0.01, 1.25, 2.5, 21.47, 99.99),
  units: fc.integer({ min: 1, max: 30 }),
  customer: fc.constantFrom<string | number | null>('17490', '12345', 17490, null),
  country: fc.constantFrom<string | null>('United Kingdom', 'EIRE', null),
  date: fc.constantFrom('2019-12-09', '12/10/2019', '2019-12-11'),
  /** Where it lands: batch and file, and where a redelivered copy lands, if any. */
  batch: fc.nat(4),
  file: fc.nat(2),
  redelivery: fc.option(fc.tuple(fc.nat(4), fc.nat(2)), { freq: 4 }),
  /** Decides its lsn: changes get distinct lsns in this order, so arrival order is not lsn order. */
  lsnOrder: fc.double({ min: 0, max: 1, noNaN: true }),
});

/** Batches of files of events over a few keys: updates, deletes, late events and identical redeliveries. */
const batchesOfFiles = fc.array(orderChange, { minLength: 1, maxLength: 40 }).map((changes) => {
  const lsnOf = new Map(
    changes
      .map((c, i) => ({ c, i }))
      .sort((a, b) => a.c.lsnOrder - b.c.lsnOrder || a.i - b.i)
      .map(({ i }, rank) => [i, rank + 1]),
  );
  const batches: ReturnType<typeof change>[][][] = Array.from({ length: 5 }, () => [[], [], []]);
  changes.forEach((r, i) => {
    const event = change(
      r.op,
      lsnOf.get(i)!,
      line({
        TransactionNo: r.txn,
        ProductNo: r.product,
        Price: r.price,
        Quantity: r.txn.startsWith('C') ? -r.units : r.units,
        CustomerNo: r.customer,
        Country: r.country,
        Date: r.date,
      }),
    );
    batches[r.batch][r.file].push(event);
    if (r.redelivery) batches[r.redelivery[0]][r.redelivery[1]].push(event);
  });
  return batches.filter((files) => files.some((events) => events.length > 0));
});

describe('incremental gold', () => {
  it(
    'after many batches equals gold recomputed from scratch',
    async () => {
      await fc.assert(
        fc.asyncProperty(batchesOfFiles, async (batches) => {
          const lakehouse = await LocalLakehouse.open(':memory:');
          const folder = new CaptureFolder();
          try {
            for (const files of batches) {
              await lakehouse.ingest(
                await Promise.all(files.map((events, i) => folder.write(events, String(i)))),
              );
            }
            const expected = referenceGold(batches.flat(2));
            expect(
              await lakehouse.rows('SELECT * FROM gold_daily_sales ORDER BY order_date, country'),
            ).toEqual(expected.daily);
            expect(await lakehouse.rows('SELECT * FROM gold_customer_sales ORDER BY customer_no')).toEqual(
              expected.customers,
            );
            expect(await lakehouse.rows('SELECT count(*) AS n FROM gold_dirty_groups')).toEqual([{ n: '0' }]);
          } finally {
            await lakehouse.close();
          }
        }),
        { numRuns: 25 },
      );
    },
    HEAVY_PROPERTY_TIMEOUT_MS,
  );
});
