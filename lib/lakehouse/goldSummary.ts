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
  const [totals] = await lakehouse.rows(
    `SELECT count(DISTINCT order_date) AS days, count(DISTINCT country) AS countries,
            coalesce(sum(orders), 0) AS orders, coalesce(sum(revenue), 0) AS revenue,
            coalesce(sum(cancelled_revenue), 0) AS cancelled_revenue,
            (SELECT count(*) FROM gold_customer_sales) AS customers
     FROM gold_daily_sales`,
  );
  const top = await lakehouse.rows(
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
