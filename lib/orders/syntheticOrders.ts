import { OrderLine } from '../cdc/event';
import { SeededRandom, cumulativeWeights } from './random';

/**
 * Countries of the Kaggle "An Online Shop Business" dataset with roughly its share of rows
 * (the United Kingdom about nine in ten).
 */
// prettier-ignore
const COUNTRIES: readonly [string, number][] = [
  ['United Kingdom', 9100], ['Germany', 170], ['France', 160], ['EIRE', 150], ['Netherlands', 45],
  ['Spain', 48], ['Belgium', 38], ['Switzerland', 38], ['Portugal', 28], ['Australia', 24],
  ['Norway', 20], ['Italy', 15], ['Channel Islands', 14], ['Finland', 13], ['Cyprus', 12],
  ['Sweden', 9], ['Austria', 8], ['Denmark', 7], ['Japan', 6], ['Poland', 6], ['Unspecified', 8],
  ['Israel', 5], ['Iceland', 4], ['Singapore', 4], ['USA', 4], ['Hong Kong', 3], ['Canada', 3],
  ['Greece', 3], ['Malta', 2], ['United Arab Emirates', 2], ['European Community', 1], ['RSA', 1],
  ['Lebanon', 1], ['Lithuania', 1], ['Brazil', 1], ['Czech Republic', 1], ['Bahrain', 1], ['Saudi Arabia', 1],
];

// prettier-ignore
const ADJECTIVES = ['Set Of 3', 'Vintage', 'Pack Of 12', 'Regency', 'Jumbo', 'Retrospot', 'Woodland', 'Spaceboy',
  'Red', 'White', 'Pink', 'Blue', 'Heart', 'Paisley', 'Hanging', 'Glass', 'Wooden', 'Ceramic', 'Small', 'Large',
  'Party', 'Christmas', 'Garden', 'Polkadot', 'Antique', 'Enamel', 'Zinc', 'Lunch', 'Paper', 'Set Of 2'] as const;
// prettier-ignore
const NOUNS = ['Cake Cases', 'Tea Light Holder', 'Bag', 'Lantern', 'Bunting', 'Alarm Clock', 'Mug', 'Doormat',
  'Teacup And Saucer', 'Storage Jar', 'Market Crates', 'Skull Wrap', 'Photo Frame', 'Cushion Cover', 'Tin',
  'Lunch Box', 'Chalkboard', 'Jewellery Box', 'Water Bottle', 'Napkins', 'Coasters', 'Sign', 'Bowl',
  'Candle', 'Notebook', 'Heart Decoration', 'Pencils', 'Bell', 'Garland', 'Tray'] as const;

export interface SyntheticOrdersOptions {
  seed?: number;
  /** Rows to generate before folding; the Kaggle file has 536,350. */
  rows?: number;
  products?: number;
  customers?: number;
}

export const KAGGLE_ROWS = 536_350;
const FIRST_DAY = Date.UTC(2018, 11, 1);
const LAST_DAY = Date.UTC(2019, 11, 9);
const DAY_MS = 86_400_000;

interface Product {
  no: string;
  name: string;
  priceCents: number;
}

interface Customer {
  no: string;
  country: string;
}

/**
 * Order lines shaped like the Kaggle dataset — dates from Dec 2018 to Dec 2019, ~38 countries with
 * the UK dominant, ~3.7k products, ~4.7k customers, ~1.7% cancellation lines (`C` prefix, negative
 * quantity), some missing CustomerNo, some exact duplicate rows and repeated product lines — yielded
 * one transaction at a time. The same seed gives the same rows.
 */
export function* syntheticOrderTransactions(options: SyntheticOrdersOptions = {}): Generator<OrderLine[]> {
  const random = new SeededRandom(options.seed ?? 1);
  const rows = options.rows ?? KAGGLE_ROWS;
  const countryWeights = cumulativeWeights(COUNTRIES.map(([, w]) => w));
  const products = makeProducts(random, options.products ?? 3_700);
  const customers = makeCustomers(random, options.customers ?? 4_700, countryWeights);
  // A few best-sellers and frequent customers, as in real shop data.
  const productWeights = cumulativeWeights(products.map((_, i) => 1 / Math.sqrt(i + 1)));
  const customerWeights = cumulativeWeights(customers.map((_, i) => 1 / Math.sqrt(i + 1)));

  let transactionNo = 536_365;
  let emitted = 0;
  while (emitted < rows) {
    const day = FIRST_DAY + Math.floor(((LAST_DAY - FIRST_DAY) / DAY_MS) * (emitted / rows)) * DAY_MS;
    const date = usDate(new Date(day));
    // 13.7% of transactions, of 1-4 lines, make ~1.7% of lines cancellations.
    const cancellation = random.chance(0.137);
    const customer = customers[random.weighted(customerWeights)];
    const customerNo = random.chance(0.003) ? null : customer.no;
    const lineCount = cancellation
      ? random.int(1, 4)
      : Math.min(1 + Math.floor(-Math.log(1 - random.next()) * 22), 300);
    const lines: OrderLine[] = [];
    const txn = `${cancellation ? 'C' : ''}${transactionNo++}`;
    for (let i = 0; i < lineCount && emitted + lines.length < rows; i++) {
      const product = products[random.weighted(productWeights)];
      const units = random.chance(0.1) ? random.pick([24, 36, 48, 72, 96, 144]) : random.int(1, 12);
      const line: OrderLine = {
        TransactionNo: txn,
        Date: date,
        ProductNo: product.no,
        ProductName: product.name,
        Price: product.priceCents / 100,
        Quantity: cancellation ? -units : units,
        CustomerNo: customerNo,
        Country: customer.country,
      };
      lines.push(line);
      if (random.chance(0.01)) lines.push({ ...line });
      else if (random.chance(0.005)) lines.push({ ...line, Quantity: cancellation ? -1 : 1 });
    }
    emitted += lines.length;
    yield lines;
  }
}

function makeProducts(random: SeededRandom, count: number): Product[] {
  const numbers = new Set<string>();
  const products: Product[] = [];
  while (products.length < count) {
    const no = `${random.int(10002, 90214)}${random.chance(0.08) ? random.pick(['A', 'B', 'C', 'E', 'L', 'S']) : ''}`;
    if (numbers.has(no)) continue;
    numbers.add(no);
    products.push({
      no,
      name: `${random.pick(ADJECTIVES)} ${random.pick(NOUNS)}`,
      priceCents: random.int(550, 2500),
    });
  }
  return products;
}

function makeCustomers(random: SeededRandom, count: number, countryWeights: number[]): Customer[] {
  const numbers = new Set<string>();
  const customers: Customer[] = [];
  while (customers.length < count) {
    const no = String(random.int(12004, 18287));
    if (numbers.has(no)) continue;
    numbers.add(no);
    // The least active customers include one from every country, so each country occurs.
    const rest = customers.length - (count - COUNTRIES.length);
    const country = rest >= 0 ? rest % COUNTRIES.length : random.weighted(countryWeights);
    customers.push({ no, country: COUNTRIES[country][0] });
  }
  return customers;
}

function usDate(date: Date): string {
  return `${date.getUTCMonth() + 1}/${date.getUTCDate()}/${date.getUTCFullYear()}`;
}
