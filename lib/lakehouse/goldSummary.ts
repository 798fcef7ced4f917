import { LocalLakehouse } from './localLakehouse';

export interface GoldSummary {
  days: number;
  countries: number;
  orders: number;
  revenue: string;
  cancelledRevenue: string;
  customers: number;
  topCountries: { country: string; orders: number; revenue: string }[];
}

/** Headline figures of the gold tables, as the dashboard shows them. */
export async function goldSummary(lakehouse: LocalLakehouse): Promise<GoldSummary> {
  const [totals] = await lakehouse.readCommitted(
    `SELECT count(DISTINCT order_date) AS days, count(DISTINCT country) AS countries,
            coalesce(sum(orders), 0) AS orders, coalesce(sum(revenue), 0) AS revenue,
            coalesce(sum(cancelled_revenue), 0) AS cancelled_revenue,
            (SELECT count(*) FROM gold_customer_sales) AS customers
     FROM gold_daily_sales`,
  );
  const top = await lakehouse.readCommitted(
    `SELECT country, sum(orders) AS orders, sum(revenue) AS revenue
     FROM gold_daily_sales GROUP BY country ORDER BY sum(revenue) DESC, country LIMIT 5`,
  );
  return {
    days: Number(totals.days),
    countries: Number(totals.countries),
    orders: Number(totals.orders),
    revenue: String(totals.revenue),
    cancelledRevenue: String(totals.cancelled_revenue),
    customers: Number(totals.customers),
    topCountries: top.map((r) => ({
      country: String(r.country),
      orders: Number(r.orders),
      revenue: String(r.revenue),
    })),
  };
}

export function formatGold(g: GoldSummary): string {
  return [
    `Gold: ${g.orders} orders over ${g.days} days in ${g.countries} countries, revenue £${g.revenue} (cancelled £${g.cancelledRevenue}), ${g.customers} customers`,
    ...g.topCountries.map(
      (c) => `  ${c.country.padEnd(20)} ${String(c.orders).padStart(8)} orders  £${c.revenue}`,
    ),
    '',
  ].join('\n');
}

/** What the dashboard charts from gold (and silver, for products): by day, by country, top products. */
export interface GoldKpis {
  byDay: { date: string; orders: number; revenue: number }[];
  byCountry: { country: string; orders: number; revenue: number }[];
  topProducts: { productNo: string; productName: string; units: number; revenue: number }[];
}

export async function goldKpis(lakehouse: LocalLakehouse, days = 60): Promise<GoldKpis> {
  const byDay = await lakehouse.readCommitted(
    `SELECT CAST(order_date AS VARCHAR) AS date, sum(orders) AS orders, sum(revenue) AS revenue
     FROM gold_daily_sales GROUP BY order_date ORDER BY order_date DESC LIMIT ${Number(days)}`,
  );
  const byCountry = await lakehouse.readCommitted(
    `SELECT country, sum(orders) AS orders, sum(revenue) AS revenue
     FROM gold_daily_sales GROUP BY country ORDER BY sum(revenue) DESC, country LIMIT 12`,
  );
  const products = await lakehouse.readCommitted(
    `SELECT product_no, any_value(product_name) AS product_name, sum(quantity) AS units,
            sum(price * quantity) AS revenue
     FROM silver_order_lines WHERE NOT _deleted AND NOT is_cancellation
     GROUP BY product_no ORDER BY revenue DESC, product_no LIMIT 10`,
  );
  return {
    byDay: byDay
      .reverse()
      .map((r) => ({ date: String(r.date), orders: Number(r.orders), revenue: Number(r.revenue) })),
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
