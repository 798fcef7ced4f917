import { readSqlFile } from './sqlText';

/**
 * Where gold is read: the local DuckDB lakehouse, or the Databricks SQL warehouse in Azure. Both run
 * the same SELECTs from infra/databricks/sql/kpis/, with the catalog and schema set by the engine.
 */
export interface GoldSource {
  query(sql: string): Promise<Record<string, unknown>[]>;
}

export type GoldQuery = 'totals' | 'daily' | 'countries' | 'products';

export function goldQuery(name: GoldQuery): string {
  const [statement] = readSqlFile(`databricks/sql/kpis/${name}.sql`);
  return statement.text;
}

export interface GoldSummary {
  days: number;
  countries: number;
  orders: number;
  revenue: string;
  cancelledRevenue: string;
  customers: number;
  /** Commit time of the newest silver change (ISO text of the engine), null while empty. */
  lastChange: string | null;
  topCountries: { country: string; orders: number; revenue: string }[];
}

type GoldTotals = Omit<GoldSummary, 'topCountries'>;

async function goldTotals(gold: GoldSource): Promise<GoldTotals> {
  const [totals] = await gold.query(goldQuery('totals'));
  return {
    days: Number(totals.days),
    countries: Number(totals.countries),
    orders: Number(totals.orders),
    revenue: decimalText(totals.revenue),
    cancelledRevenue: decimalText(totals.cancelled_revenue),
    customers: Number(totals.customers),
    lastChange: totals.last_change == null ? null : String(totals.last_change),
  };
}

/** Headline figures of the gold tables, as `npm start` prints them. */
export async function goldSummary(gold: GoldSource): Promise<GoldSummary> {
  const totals = await goldTotals(gold);
  const countries = await gold.query(goldQuery('countries'));
  return {
    ...totals,
    topCountries: countries.slice(0, 5).map((r) => ({
      country: String(r.country),
      orders: Number(r.orders),
      revenue: decimalText(r.revenue),
    })),
  };
}

/** Money as exact text with two decimals, whichever way the engine hands a DECIMAL back. */
function decimalText(value: unknown): string {
  return typeof value === 'number' ? value.toFixed(2) : String(value);
}

export function formatGold(g: GoldSummary): string {
  return [
    `Gold: ${g.orders} orders over ${g.days} days in ${g.countries} countries, revenue £${g.revenue} (cancelled £${g.cancelledRevenue}), ${g.customers} customers`,
    ...g.topCountries.map(
      (c) => `  ${c.country.padEnd(20)} ${String(c.orders).padStart(8)} orders  £${c.revenue}`,
    ),
    `  last change in gold: ${g.lastChange ?? 'none yet'}`,
    '',
  ].join('\n');
}

/** What the dashboard charts from gold (and silver, for products): by day, by country, top products. */
export interface GoldKpis {
  totals: GoldTotals;
  byDay: { date: string; orders: number; revenue: number }[];
  byCountry: { country: string; orders: number; revenue: number }[];
  topProducts: { productNo: string; productName: string; units: number; revenue: number }[];
}

export async function goldKpis(gold: GoldSource): Promise<GoldKpis> {
  const totals = await goldTotals(gold);
  const byDay = await gold.query(goldQuery('daily'));
  const byCountry = await gold.query(goldQuery('countries'));
  const products = await gold.query(goldQuery('products'));
  return {
    totals,
    byDay: byDay.reverse().map((r) => ({
      date: String(r.order_date),
      orders: Number(r.orders),
      revenue: Number(r.revenue),
    })),
    byCountry: byCountry.map((r) => ({
      country: String(r.country),
      orders: Number(r.orders),
      revenue: Number(r.revenue),
    })),
    topProducts: products.map((r) => ({
      productNo: String(r.product_no),
      productName: String(r.product_name),
      units: Number(r.units),
      revenue: Number(r.revenue),
    })),
  };
}
