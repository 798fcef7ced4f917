-- DuckDB's parse step for one batch (parameter :batch_id): the batch's bronze rows with typed
-- fields and type flags, as the shared silver SQL reads them. Each body is parsed once (one
-- json_extract over every path). A body counts as JSON only if it is strict JSON (the loader's
-- check: DuckDB's own parser also takes trailing commas and NaN) and DuckDB reads it too.
CREATE OR REPLACE TEMPORARY TABLE batch_events AS
WITH batch_rows AS (
  SELECT
    b.file_path,
    b.partition_id,
    b.sequence_number,
    b.raw_body,
    b.raw_body_encoding,
    coalesce(b.raw_body_encoding = 'utf8' AND b.body_is_json AND json_valid(b.raw_body), false) AS valid_json
  FROM bronze_order_events b
  JOIN batch_files f ON f.file_path = b.file_path
  WHERE f.batch_id = :batch_id
),
extracted AS (
  SELECT
    r.*,
    CASE WHEN r.valid_json THEN json_extract(r.raw_body, [
      '$.op', '$.source.lsn', '$.after', '$.before',
      '$.after.TransactionNo', '$.after.ProductNo', '$.after.Price', '$.after.Quantity', '$.after.Date',
      '$.after.ProductName', '$.after.CustomerNo', '$.after.Country',
      '$.before.TransactionNo', '$.before.ProductNo'
    ]) END AS v
  FROM batch_rows r
)
SELECT
  :batch_id AS batch_id,
  file_path,
  partition_id,
  sequence_number,
  raw_body,
  raw_body_encoding,
  valid_json AND left(ltrim(raw_body, ' ' || chr(9) || chr(10) || chr(13)), 1) = '{' AS is_json_object,
  json_kind(v[1]) AS op_type, json_text(v[1]) AS op_text,
  json_kind(v[2]) AS lsn_type, json_text(v[2]) AS lsn_text,
  json_kind(v[3]) AS after_type,
  json_kind(v[4]) AS before_type,
  json_kind(v[5]) AS a_txn_type, json_text(v[5]) AS a_txn_text,
  json_kind(v[6]) AS a_pno_type, json_text(v[6]) AS a_pno_text,
  json_kind(v[7]) AS a_price_type, json_text(v[7]) AS a_price_text,
  json_kind(v[8]) AS a_qty_type, json_text(v[8]) AS a_qty_text,
  json_kind(v[9]) AS a_date_type, json_text(v[9]) AS a_date_text,
  json_kind(v[10]) AS a_name_type, json_text(v[10]) AS a_name_text,
  json_kind(v[11]) AS a_customer_type, json_text(v[11]) AS a_customer_text,
  json_kind(v[12]) AS a_country_type, json_text(v[12]) AS a_country_text,
  json_kind(v[13]) AS b_txn_type, json_text(v[13]) AS b_txn_text,
  json_kind(v[14]) AS b_pno_type, json_text(v[14]) AS b_pno_text
FROM extracted;
