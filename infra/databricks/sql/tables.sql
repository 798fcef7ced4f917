-- Lakehouse tables (docs/architecture.md), shared by Databricks and the local DuckDB
-- engine. Written in Spark SQL; DuckDB drops `USING DELTA` (lib/lakehouse/sqlText.ts). Databricks
-- adds liquid clustering on the query keys in databricks/clustering.sql.

CREATE TABLE IF NOT EXISTS bronze_order_events (
  batch_id STRING,
  file_path STRING,
  partition_id STRING,
  sequence_number BIGINT,
  capture_offset STRING,
  enqueued_time TIMESTAMP,
  ingested_at TIMESTAMP,
  raw_body STRING,
  raw_body_encoding STRING,
  body_is_json BOOLEAN
) USING DELTA;

CREATE TABLE IF NOT EXISTS batch_files (
  batch_id STRING,
  file_path STRING,
  bytes BIGINT,
  records BIGINT,
  added_at TIMESTAMP
) USING DELTA;

CREATE TABLE IF NOT EXISTS quarantine_order_events (
  file_path STRING,
  partition_id STRING,
  sequence_number BIGINT,
  rule STRING,
  reason STRING,
  raw_body STRING,
  raw_body_encoding STRING,
  quarantined_at TIMESTAMP,
  batch_id STRING
) USING DELTA;

CREATE TABLE IF NOT EXISTS dq_metrics (
  batch_id STRING,
  file_path STRING,
  rule STRING,
  passed BIGINT,
  failed BIGINT,
  measured_at TIMESTAMP
) USING DELTA;

-- A batch's records with their data-quality verdict and normalised columns, checked once and read
-- by every silver statement; kept only while the batch's silver step runs.
CREATE TABLE IF NOT EXISTS checked_order_events (
  batch_id STRING,
  file_path STRING,
  partition_id STRING,
  sequence_number BIGINT,
  rule STRING,
  reason STRING,
  rule_order INT,
  op STRING,
  lsn BIGINT,
  transaction_no STRING,
  product_no STRING,
  product_name STRING,
  price DECIMAL(10, 2),
  quantity INT,
  customer_no STRING,
  country STRING,
  order_date DATE,
  is_cancellation BOOLEAN,
  deleted BOOLEAN
) USING DELTA;

CREATE TABLE IF NOT EXISTS silver_order_lines (
  transaction_no STRING,
  product_no STRING,
  product_name STRING,
  price DECIMAL(10, 2),
  quantity INT,
  customer_no STRING,
  country STRING,
  order_date DATE,
  is_cancellation BOOLEAN,
  _lsn BIGINT,
  _deleted BOOLEAN,
  _updated_at TIMESTAMP
) USING DELTA;

CREATE TABLE IF NOT EXISTS gold_dirty_groups (
  batch_id STRING,
  order_date DATE,
  country STRING,
  customer_no STRING
) USING DELTA;

CREATE TABLE IF NOT EXISTS gold_daily_sales (
  order_date DATE,
  country STRING,
  orders BIGINT,
  order_lines BIGINT,
  units BIGINT,
  revenue DECIMAL(38, 2),
  cancelled_orders BIGINT,
  cancelled_units BIGINT,
  cancelled_revenue DECIMAL(38, 2),
  customers BIGINT
) USING DELTA;

CREATE TABLE IF NOT EXISTS gold_customer_sales (
  customer_no STRING,
  orders BIGINT,
  units BIGINT,
  revenue DECIMAL(38, 2),
  first_order_date DATE,
  last_order_date DATE
) USING DELTA;
