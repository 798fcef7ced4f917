-- Headline figures of gold (the dashboard's KPI strip, `npm start`'s summary). Read on demand only:
-- on Databricks it wakes the SQL warehouse. last_change = the commit time of the newest silver change.
SELECT
  (SELECT count(DISTINCT order_date) FROM gold_daily_sales) AS days,
  (SELECT count(DISTINCT country) FROM gold_daily_sales) AS countries,
  (SELECT coalesce(sum(orders), 0) FROM gold_daily_sales) AS orders,
  (SELECT coalesce(sum(revenue), 0) FROM gold_daily_sales) AS revenue,
  (SELECT coalesce(sum(cancelled_revenue), 0) FROM gold_daily_sales) AS cancelled_revenue,
  (SELECT count(*) FROM gold_customer_sales) AS customers,
  (SELECT CAST(max(_updated_at) AS STRING) FROM silver_order_lines) AS last_change
