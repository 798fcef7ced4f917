-- Gold step of one batch, shared by Databricks and DuckDB. Recomputes only the groups silver marked
-- dirty (gold_dirty_groups: before and after each MERGE) — every outstanding one, whichever batch left
-- it, so a batch that failed after silver and was split or reprocessed leaves nothing stale — and
-- MERGEs them in: insert, update, or delete when no live line is left. Never a full rebuild.
-- Money is DECIMAL(38, 2): the rules admit price < 10^8 and any 32-bit quantity, so one line is
-- below 2.2 × 10^17 and a sum would need more than 10^20 lines to overflow.

MERGE INTO gold_daily_sales AS t
USING (
  SELECT
    g.order_date,
    g.country,
    count(DISTINCT CASE WHEN NOT s.is_cancellation THEN s.transaction_no END) AS orders,
    count(CASE WHEN NOT s.is_cancellation THEN 1 END) AS order_lines,
    coalesce(sum(CASE WHEN NOT s.is_cancellation THEN s.quantity END), 0) AS units,
    CAST(coalesce(sum(CASE WHEN NOT s.is_cancellation THEN CAST(s.price AS DECIMAL(38, 2)) * s.quantity END), 0) AS DECIMAL(38, 2)) AS revenue,
    count(DISTINCT CASE WHEN s.is_cancellation THEN s.transaction_no END) AS cancelled_orders,
    coalesce(sum(CASE WHEN s.is_cancellation THEN abs(CAST(s.quantity AS BIGINT)) END), 0) AS cancelled_units,
    CAST(coalesce(sum(CASE WHEN s.is_cancellation THEN abs(CAST(s.price AS DECIMAL(38, 2)) * s.quantity) END), 0) AS DECIMAL(38, 2))
      AS cancelled_revenue,
    count(DISTINCT CASE WHEN NOT s.is_cancellation THEN s.customer_no END) AS customers,
    count(s.transaction_no) AS live_lines
  FROM (
    SELECT DISTINCT order_date, country FROM gold_dirty_groups WHERE order_date IS NOT NULL
  ) g
  LEFT JOIN silver_order_lines s
    ON s.order_date = g.order_date AND s.country = g.country AND NOT s._deleted
  GROUP BY g.order_date, g.country
) AS a
ON t.order_date = a.order_date AND t.country = a.country
WHEN MATCHED AND a.live_lines = 0 THEN DELETE
-- Rows whose figures did not change are not rewritten (a replayed batch writes nothing).
WHEN MATCHED AND (
  t.orders IS DISTINCT FROM a.orders OR t.order_lines IS DISTINCT FROM a.order_lines
  OR t.units IS DISTINCT FROM a.units OR t.revenue IS DISTINCT FROM a.revenue
  OR t.cancelled_orders IS DISTINCT FROM a.cancelled_orders OR t.cancelled_units IS DISTINCT FROM a.cancelled_units
  OR t.cancelled_revenue IS DISTINCT FROM a.cancelled_revenue OR t.customers IS DISTINCT FROM a.customers
) THEN UPDATE SET
  orders = a.orders,
  order_lines = a.order_lines,
  units = a.units,
  revenue = a.revenue,
  cancelled_orders = a.cancelled_orders,
  cancelled_units = a.cancelled_units,
  cancelled_revenue = a.cancelled_revenue,
  customers = a.customers
WHEN NOT MATCHED AND a.live_lines > 0 THEN INSERT
  (order_date, country, orders, order_lines, units, revenue, cancelled_orders, cancelled_units, cancelled_revenue,
   customers)
VALUES
  (a.order_date, a.country, a.orders, a.order_lines, a.units, a.revenue, a.cancelled_orders, a.cancelled_units,
   a.cancelled_revenue, a.customers);

MERGE INTO gold_customer_sales AS t
USING (
  SELECT
    g.customer_no,
    count(DISTINCT s.transaction_no) AS orders,
    coalesce(sum(s.quantity), 0) AS units,
    CAST(coalesce(sum(CAST(s.price AS DECIMAL(38, 2)) * s.quantity), 0) AS DECIMAL(38, 2)) AS revenue,
    min(s.order_date) AS first_order_date,
    max(s.order_date) AS last_order_date,
    count(s.transaction_no) AS live_lines
  FROM (
    SELECT DISTINCT customer_no FROM gold_dirty_groups WHERE customer_no IS NOT NULL
  ) g
  LEFT JOIN silver_order_lines s
    ON s.customer_no = g.customer_no AND NOT s._deleted AND NOT s.is_cancellation
  GROUP BY g.customer_no
) AS a
ON t.customer_no = a.customer_no
WHEN MATCHED AND a.live_lines = 0 THEN DELETE
WHEN MATCHED AND (
  t.orders IS DISTINCT FROM a.orders OR t.units IS DISTINCT FROM a.units OR t.revenue IS DISTINCT FROM a.revenue
  OR t.first_order_date IS DISTINCT FROM a.first_order_date OR t.last_order_date IS DISTINCT FROM a.last_order_date
) THEN UPDATE SET
  orders = a.orders,
  units = a.units,
  revenue = a.revenue,
  first_order_date = a.first_order_date,
  last_order_date = a.last_order_date
WHEN NOT MATCHED AND a.live_lines > 0 THEN INSERT
  (customer_no, orders, units, revenue, first_order_date, last_order_date)
VALUES
  (a.customer_no, a.orders, a.units, a.revenue, a.first_order_date, a.last_order_date);

-- Exactly the groups recomputed above: the job runs one batch at a time (max_concurrent_runs 1, on
-- the workspace and locally), so nothing marks a group between the MERGEs and this statement.
DELETE FROM gold_dirty_groups;
