-- DuckDB's bronze load history: which files are loaded (with how many records), so loading a file
-- again is skipped, as COPY INTO's own load history does on Databricks. Empty files count too.
CREATE TABLE IF NOT EXISTS bronze_loaded_files (
  file_path STRING PRIMARY KEY,
  records BIGINT,
  bytes BIGINT,
  batch_id STRING,
  loaded_at TIMESTAMP
);
