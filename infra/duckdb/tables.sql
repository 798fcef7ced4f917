-- DuckDB's bronze load history: which files are loaded (with how many records), so loading a file
-- again is skipped, as COPY INTO's own load history does on Databricks. Empty files count too.
CREATE TABLE IF NOT EXISTS bronze_loaded_files (
  file_path STRING PRIMARY KEY,
  records BIGINT,
  bytes BIGINT,
  batch_id STRING,
  loaded_at TIMESTAMP
);

-- The batch's checked records live only while its silver step runs, and locally that step is one
-- transaction: a temporary table (shadowing the shared one) is never written to the database file.
CREATE TEMPORARY TABLE IF NOT EXISTS checked_order_events AS
SELECT * FROM main.checked_order_events LIMIT 0;
