-- Databricks' parse step for one batch (parameter :batch_id): the batch's bronze rows with typed
-- fields and type flags, as the shared silver SQL reads them (the same columns as
-- infra/duckdb/parse.sql). Each body is parsed once, into a VARIANT (DBR 15.3+); VARIANT keeps a
-- number's decimal digits exactly, so rules judge number text, never a double.

CREATE OR REPLACE TEMPORARY FUNCTION json_kind(v VARIANT) RETURNS STRING RETURN
  CASE
    WHEN v IS NULL THEN NULL
    WHEN is_variant_null(v) THEN 'null'
    WHEN schema_of_variant(v) = 'STRING' THEN 'string'
    WHEN schema_of_variant(v) = 'BOOLEAN' THEN 'boolean'
    WHEN schema_of_variant(v) LIKE 'OBJECT%' THEN 'object'
    WHEN schema_of_variant(v) LIKE 'ARRAY%' THEN 'array'
    ELSE 'number'
  END;

CREATE OR REPLACE TEMPORARY FUNCTION json_text(v VARIANT) RETURNS STRING RETURN
  CASE WHEN schema_of_variant(v) = 'STRING' THEN variant_get(v, '$', 'string') ELSE to_json(v) END;

-- Reads batch_rows: the batch's bronze rows with each body parsed once into `v`, registered by the
-- job's runner (run_sql.py --batch-rows, with the DataFrame API: Databricks Runtime 17.3 and earlier
-- reject parameter markers inside a view) or by the continuous pipeline over its stream.
CREATE OR REPLACE TEMPORARY VIEW batch_events AS
SELECT
  batch_id,
  file_path,
  partition_id,
  sequence_number,
  raw_body,
  raw_body_encoding,
  coalesce(schema_of_variant(v) LIKE 'OBJECT%', false) AS is_json_object,
  json_kind(try_variant_get(v, '$.op', 'variant')) AS op_type,
  json_text(try_variant_get(v, '$.op', 'variant')) AS op_text,
  json_kind(try_variant_get(v, '$.source.lsn', 'variant')) AS lsn_type,
  json_text(try_variant_get(v, '$.source.lsn', 'variant')) AS lsn_text,
  json_kind(try_variant_get(v, '$.after', 'variant')) AS after_type,
  json_kind(try_variant_get(v, '$.before', 'variant')) AS before_type,
  json_kind(try_variant_get(v, '$.after.TransactionNo', 'variant')) AS a_txn_type,
  json_text(try_variant_get(v, '$.after.TransactionNo', 'variant')) AS a_txn_text,
  json_kind(try_variant_get(v, '$.after.ProductNo', 'variant')) AS a_pno_type,
  json_text(try_variant_get(v, '$.after.ProductNo', 'variant')) AS a_pno_text,
  json_kind(try_variant_get(v, '$.after.Price', 'variant')) AS a_price_type,
  json_text(try_variant_get(v, '$.after.Price', 'variant')) AS a_price_text,
  json_kind(try_variant_get(v, '$.after.Quantity', 'variant')) AS a_qty_type,
  json_text(try_variant_get(v, '$.after.Quantity', 'variant')) AS a_qty_text,
  json_kind(try_variant_get(v, '$.after.Date', 'variant')) AS a_date_type,
  json_text(try_variant_get(v, '$.after.Date', 'variant')) AS a_date_text,
  json_kind(try_variant_get(v, '$.after.ProductName', 'variant')) AS a_name_type,
  json_text(try_variant_get(v, '$.after.ProductName', 'variant')) AS a_name_text,
  json_kind(try_variant_get(v, '$.after.CustomerNo', 'variant')) AS a_customer_type,
  json_text(try_variant_get(v, '$.after.CustomerNo', 'variant')) AS a_customer_text,
  json_kind(try_variant_get(v, '$.after.Country', 'variant')) AS a_country_type,
  json_text(try_variant_get(v, '$.after.Country', 'variant')) AS a_country_text,
  json_kind(try_variant_get(v, '$.before.TransactionNo', 'variant')) AS b_txn_type,
  json_text(try_variant_get(v, '$.before.TransactionNo', 'variant')) AS b_txn_text,
  json_kind(try_variant_get(v, '$.before.ProductNo', 'variant')) AS b_pno_type,
  json_text(try_variant_get(v, '$.before.ProductNo', 'variant')) AS b_pno_text
FROM batch_rows;
