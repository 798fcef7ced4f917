import fc from 'fast-check';
import { formatCents } from '../lib/cdc/decimal';
import { validateCdcBody } from '../lib/cdc/validate';
import { LocalLakehouse } from '../lib/lakehouse/localLakehouse';
import { Body, CaptureFolder, change, line } from './lakehouseFixtures';

/** JSON text of a value, or undefined to leave the member out. */
type Member = string | undefined;

const digits = (min: number, max: number) =>
  fc.integer({ min, max }).chain((n) => fc.array(fc.constantFrom(...'0123456789'), { minLength: n, maxLength: n }));

/** Number texts as producers write them, within 15 significant digits (DuckDB reads JSON numbers as doubles). */
const numberText = fc.oneof(
  fc.integer({ min: -1000, max: 100_000 }).map(String),
  fc.tuple(digits(1, 8), digits(1, 6)).map(([i, f]) => `${i.join('').replace(/^0+(?=\d)/, '')}.${f.join('')}`),
  fc.tuple(fc.integer({ min: 1, max: 99 }), fc.integer({ min: -3, max: 9 })).map(([m, e]) => `${m / 10}e${e}`),
  fc.constantFrom('0', '-0', '-0.0', '12.0', '2.5', '1e8', '0.005', '1.005', '99999999.99', '99999999.995', '21.475', '-0.01', '1E2'),
  fc.constantFrom('2147483647', '2147483648', '-2147483648', '-2147483649', '9223372036854775807', '1e400'),
);

const jsonString = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom('', 'c', 'u', 'd', 'r', 'C581484', '581482', 'x'),
).map((s) => JSON.stringify(s));

const scalar = fc.oneof(numberText, jsonString, fc.constantFrom('null', 'true', '[]', '{}'));
const member = (arb: fc.Arbitrary<string>): fc.Arbitrary<Member> => fc.option(arb, { nil: undefined, freq: 8 });

const dateText = fc.oneof(
  fc
    .tuple(fc.integer({ min: 0, max: 2100 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }))
    .chain(([y, m, d]) =>
      fc.constantFrom(
        `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`,
        `${m}/${d}/${String(y).padStart(4, '0')}`,
        `0${m}/${d}/${y}`,
        `${y}-${m}-${d}`,
      ),
    ),
  fc.constantFrom('2019-02-29', '2020-02-29', '1900-02-29', '2000-02-29', '12/9/2019', '2019-12-09 ', ' 12/9/2019'),
).map((s) => JSON.stringify(s));

function object(members: Record<string, Member>): string {
  return `{${Object.entries(members)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
    .join(',')}}`;
}

/** Mostly a good value, sometimes anything: so records reach every rule, not just the first ones. */
const mostly = (good: fc.Arbitrary<string>, other: fc.Arbitrary<string>): fc.Arbitrary<Member> =>
  fc.oneof({ weight: 8, arbitrary: good }, { weight: 2, arbitrary: other }, { weight: 1, arbitrary: fc.constant(undefined) });

const keyText = fc.oneof(fc.integer({ min: 536365, max: 581587 }).map(String), fc.constantFrom('C581484', '85123A'));
const priceText = fc
  .tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 999 }))
  .map(([whole, fraction]) => `${whole}.${fraction}`);
const quantityText = fc.oneof(fc.integer({ min: -50, max: 150 }).map(String), fc.constant('12.0'));

const image = fc
  .record({
    TransactionNo: mostly(keyText.map((k) => JSON.stringify(k)), fc.oneof(jsonString, scalar)),
    ProductNo: mostly(keyText.map((k) => JSON.stringify(k)), fc.oneof(jsonString, scalar)),
    Price: mostly(priceText, fc.oneof(numberText, scalar)),
    Quantity: mostly(quantityText, fc.oneof(numberText, scalar)),
    Date: mostly(dateText, scalar),
    ProductName: member(fc.oneof(jsonString, fc.constant('null'))),
    CustomerNo: member(fc.oneof(jsonString, fc.integer({ min: 0, max: 99999 }).map(String), fc.constant('null'))),
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
  { weight: 1, arbitrary: fc.constantFrom<Body>(null, '[1]', '"c"', 'NaN', '{"op":NaN}', '{"op":"\\ud800"}', '\uFEFF{}') },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }).map((bytes) => Buffer.from(bytes)) },
);

describe('the TypeScript validator and the shared SQL agree', () => {
  it('on every body: the same rule, and the same values for the records that pass', async () => {
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
            const result = validateCdcBody(b === null ? null : typeof b === 'string' ? Buffer.from(b) : b);
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
      expect([...seen.keys()].sort()).toEqual(['date', 'json', 'key', 'lsn', 'null', 'op', 'price', 'quantity']);
    } finally {
      lakehouse.close();
    }
  });
});
