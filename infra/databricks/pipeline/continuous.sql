-- Continuous mode: the same bronze, silver and gold as the event-driven job, as a Lakeflow
-- Declarative Pipeline (formerly Delta Live Tables), for high volume or when minutes of freshness
-- are too slow (README, "Which mode?"). Off by default (databricks.yml, resource orders_continuous).
-- It publishes into its own schema, so both modes can run side by side while you compare them.
-- Configuration (databricks.yml): source and its settings (read by bronze_stream.py), sql_root = the
-- bundle's sql/ folder (read by continuous.py).
-- Syntax: https://docs.databricks.com/aws/en/dlt-ref/dlt-sql-ref-create-streaming-table
--         https://docs.databricks.com/aws/en/dlt-ref/dlt-sql-ref-create-temporary-view
--         https://docs.databricks.com/aws/en/dlt-ref/dlt-sql-ref-apply-changes-into (AUTO CDC INTO)

-- Bronze (bronze_order_events) is pipeline/bronze_stream.py: one row per event from the source the
-- bundle variable `source` picks (Capture files or the hub's Kafka endpoint), in the same columns.

-- The parse and the data-quality rules (order_events_valid, quarantine_order_events) are defined in
-- continuous.py from the shared SQL, so they exist once for both modes.

-- Silver: one row per live order line (SCD type 1), the highest (lsn, delete over non-delete) wins;
-- a delete removes the line. Same live rows as the job's silver (which also keeps tombstones).
-- AUTO CDC reads its changes FROM STREAM(<view>), the documented source form: the valid records
-- shaped as silver rows, with the delete flag and the sequence (lsn, deleted) as a struct.
CREATE TEMPORARY VIEW silver_order_changes
COMMENT 'Valid records as silver rows, with the delete flag and the (lsn, deleted) sequence.'
AS SELECT
  transaction_no, product_no, product_name, price, quantity, customer_no, country, order_date, is_cancellation,
  lsn AS _lsn, false AS _deleted, current_timestamp() AS _updated_at, deleted, struct(lsn, deleted) AS _rank
FROM STREAM(order_events_valid);

CREATE OR REFRESH STREAMING TABLE silver_order_lines
COMMENT 'Current state of each live order line.';

CREATE FLOW silver_order_lines_cdc AS AUTO CDC INTO silver_order_lines
FROM STREAM(silver_order_changes)
KEYS (transaction_no, product_no)
APPLY AS DELETE WHEN deleted
SEQUENCE BY _rank
COLUMNS * EXCEPT (deleted, _rank)
STORED AS SCD TYPE 1;

-- Gold: the same columns and figures as the job's incremental MERGEs (infra/databricks/sql/gold.sql),
-- as materialized views the pipeline refreshes incrementally.
CREATE OR REFRESH MATERIALIZED VIEW gold_daily_sales
COMMENT 'Orders, units and revenue per day and country (non-cancellations), and cancellations.'
AS SELECT
  order_date,
  country,
  count(DISTINCT CASE WHEN NOT is_cancellation THEN transaction_no END) AS orders,
  count(CASE WHEN NOT is_cancellation THEN 1 END) AS order_lines,
  coalesce(sum(CASE WHEN NOT is_cancellation THEN quantity END), 0) AS units,
  CAST(coalesce(sum(CASE WHEN NOT is_cancellation THEN CAST(price AS DECIMAL(38, 2)) * quantity END), 0) AS DECIMAL(38, 2)) AS revenue,
  count(DISTINCT CASE WHEN is_cancellation THEN transaction_no END) AS cancelled_orders,
  coalesce(sum(CASE WHEN is_cancellation THEN abs(CAST(quantity AS BIGINT)) END), 0) AS cancelled_units,
  CAST(coalesce(sum(CASE WHEN is_cancellation THEN abs(CAST(price AS DECIMAL(38, 2)) * quantity) END), 0) AS DECIMAL(38, 2)) AS cancelled_revenue,
  count(DISTINCT CASE WHEN NOT is_cancellation THEN customer_no END) AS customers
FROM silver_order_lines
WHERE NOT _deleted
GROUP BY order_date, country;

CREATE OR REFRESH MATERIALIZED VIEW gold_customer_sales
COMMENT 'Orders, units, revenue and first/last order date per customer (non-cancellations).'
AS SELECT
  customer_no,
  count(DISTINCT transaction_no) AS orders,
  coalesce(sum(quantity), 0) AS units,
  CAST(coalesce(sum(CAST(price AS DECIMAL(38, 2)) * quantity), 0) AS DECIMAL(38, 2)) AS revenue,
  min(order_date) AS first_order_date,
  max(order_date) AS last_order_date
FROM silver_order_lines
WHERE NOT _deleted AND NOT is_cancellation AND customer_no IS NOT NULL
GROUP BY customer_no;
