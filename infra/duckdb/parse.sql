-- DuckDB's parse step for one batch (parameter :batch_id): the batch's bronze rows with typed
-- fields and type flags, as the shared silver SQL reads them. Two vectorised passes over each body
-- (json_type and json_extract_string over every path at once), no per-field re-parsing. A body
-- counts as JSON only if it is strict JSON (body_is_json, the loader's check: DuckDB's own parser
-- also takes trailing commas and NaN); try() turns anything DuckDB still refuses into "not JSON".
-- DuckDB does not bind parameters in a view's text: the view reads the batch id from here.
CREATE OR REPLACE TEMPORARY TABLE batch_scope AS SELECT CAST(:batch_id AS VARCHAR) AS batch_id;

CREATE OR REPLACE TEMPORARY VIEW batch_events AS
WITH batch_rows AS (
  SELECT
    b.file_path,
    b.partition_id,
    b.sequence_number,
    b.raw_body,
    b.raw_body_encoding,
    b.body_is_json
  FROM bronze_order_events b
  JOIN batch_files f ON f.file_path = b.file_path
  JOIN batch_scope scope ON f.batch_id = scope.batch_id
),
extracted AS (
  SELECT
    r.*,
    CASE WHEN r.body_is_json THEN try(json_type(r.raw_body, [
      '$', '$.op', '$.source.lsn', '$.after', '$.before',
      '$.after.TransactionNo', '$.after.ProductNo', '$.after.Price', '$.after.Quantity', '$.after.Date',
      '$.after.ProductName', '$.after.CustomerNo', '$.after.Country',
      '$.before.TransactionNo', '$.before.ProductNo'
    ])) END AS t,
    -- Text only of the leaves: serialising whole objects would double the cost.
    CASE WHEN r.body_is_json THEN try(json_extract_string(r.raw_body, [
      '$.op', '$.source.lsn',
      '$.after.TransactionNo', '$.after.ProductNo', '$.after.Price', '$.after.Quantity', '$.after.Date',
      '$.after.ProductName', '$.after.CustomerNo', '$.after.Country',
      '$.before.TransactionNo', '$.before.ProductNo'
    ])) END AS s
  FROM batch_rows r
)
SELECT
  (SELECT batch_id FROM batch_scope) AS batch_id,
  file_path,
  partition_id,
  sequence_number,
  raw_body,
  raw_body_encoding,
  coalesce(t[1] = 'OBJECT' AND s IS NOT NULL, false) AS is_json_object,
  json_kind(t[2]) AS op_type, s[1] AS op_text,
  json_kind(t[3]) AS lsn_type, s[2] AS lsn_text,
  json_kind(t[4]) AS after_type,
  json_kind(t[5]) AS before_type,
  json_kind(t[6]) AS a_txn_type, s[3] AS a_txn_text,
  json_kind(t[7]) AS a_pno_type, s[4] AS a_pno_text,
  json_kind(t[8]) AS a_price_type, s[5] AS a_price_text,
  json_kind(t[9]) AS a_qty_type, s[6] AS a_qty_text,
  json_kind(t[10]) AS a_date_type, s[7] AS a_date_text,
  json_kind(t[11]) AS a_name_type, s[8] AS a_name_text,
  json_kind(t[12]) AS a_customer_type, s[9] AS a_customer_text,
  json_kind(t[13]) AS a_country_type, s[10] AS a_country_text,
  json_kind(t[14]) AS b_txn_type, s[11] AS b_txn_text,
  json_kind(t[15]) AS b_pno_type, s[12] AS b_pno_text
FROM extracted;
