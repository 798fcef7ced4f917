-- DuckDB's bronze load history: which files are loaded (with how many records), so loading a file
-- again is skipped, as COPY INTO's own load history does on Databricks. Empty files count too.
CREATE TABLE IF NOT EXISTS bronze_loaded_files (
  file_path STRING PRIMARY KEY,
  records BIGINT,
  bytes BIGINT,
  batch_id STRING,
  loaded_at TIMESTAMP
);

-- The loader appends a file's decoded records here (only the columns that vary per record, which
-- keeps the native appends cheap), then moves them into bronze_order_events with the file's own.
CREATE OR REPLACE TEMPORARY TABLE bronze_staging (
  sequence_number BIGINT,
  capture_offset STRING,
  enqueued_time TIMESTAMP,
  raw_body STRING,
  utf8 BOOLEAN,
  body_is_json BOOLEAN
);
