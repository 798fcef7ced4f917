-- Continuous mode: the same bronze, silver and gold as the event-driven job, as a Lakeflow
-- Declarative Pipeline (formerly Delta Live Tables), for high volume or when minutes of freshness
-- are too slow (README, "Which mode?"). Off by default (databricks.yml, resource orders_continuous).
-- It publishes into its own schema, so both modes can run side by side while you compare them.
-- Configuration: capture_path = the capture container as abfss:// (a Unity Catalog external location).
-- Syntax: https://docs.databricks.com/aws/en/dlt-ref/dlt-sql-ref-create-streaming-table
--         https://docs.databricks.com/aws/en/dlt-ref/dlt-sql-ref-apply-changes-into (AUTO CDC INTO)

-- Bronze: Auto Loader over the Capture files, one row per record, the body kept raw.
CREATE OR REFRESH STREAMING TABLE bronze_order_events
COMMENT 'One row per Capture record: raw body plus capture metadata.'
AS SELECT
  CAST(NULL AS STRING) AS batch_id,
  _metadata.file_path AS file_path,
  -- {Namespace}/{EventHub}/{PartitionId}/{Year}/{Month}/{Day}/{Hour}/{Minute}/{Second}.avro
  element_at(split(_metadata.file_path, '/'), -7) AS partition_id,
  SequenceNumber AS sequence_number,
  Offset AS capture_offset,
  to_timestamp(EnqueuedTimeUtc, 'M/d/yyyy h:mm:ss a') AS enqueued_time,
  current_timestamp() AS ingested_at,
  CASE WHEN Body IS NULL OR is_valid_utf8(Body) THEN CAST(Body AS STRING) ELSE base64(Body) END AS raw_body,
  CASE WHEN Body IS NULL OR is_valid_utf8(Body) THEN 'utf8' ELSE 'base64' END AS raw_body_encoding,
  CAST(NULL AS BOOLEAN) AS body_is_json
FROM STREAM read_files('${capture_path}', format => 'avro');

-- The data-quality rules of DESIGN.md in their order; `rule` is the first one a record fails, as in
-- the job's silver.sql. Numbers are judged from VARIANT, which keeps their decimal digits exactly.
CREATE TEMPORARY VIEW order_events_checked AS
WITH parsed AS (
  SELECT
    b.*,
    CASE WHEN b.raw_body_encoding = 'utf8' THEN try_parse_json(b.raw_body) END AS v
  FROM STREAM(bronze_order_events) b
),
fields AS (
  SELECT
    p.*,
    coalesce(schema_of_variant(p.v) LIKE 'OBJECT%', false) AS is_object,
    CASE WHEN schema_of_variant(p.v:op) = 'STRING' THEN p.v:op::string END AS op,
    CASE WHEN schema_of_variant(p.v:op) = 'STRING' AND p.v:op::string = 'd' THEN p.v:before ELSE p.v:after END AS image,
    schema_of_variant(p.v:source.lsn) AS lsn_type,
    try_variant_get(p.v, '$.source.lsn', 'decimal(38,10)') AS lsn_dec,
    schema_of_variant(p.v:after.Price) AS price_type,
    try_variant_get(p.v, '$.after.Price', 'decimal(38,20)') AS price_dec,
    schema_of_variant(p.v:after.Quantity) AS qty_type,
    try_variant_get(p.v, '$.after.Quantity', 'decimal(38,10)') AS qty_dec,
    CASE WHEN schema_of_variant(p.v:after.Date) = 'STRING' THEN p.v:after.Date::string END AS date_text
  FROM parsed p
),
checks AS (
  SELECT
    f.*,
    coalesce(f.op IN ('c', 'u', 'd', 'r'), false) AS op_ok,
    coalesce(
      (f.lsn_type IN ('TINYINT', 'SMALLINT', 'INT', 'BIGINT') OR f.lsn_type LIKE 'DECIMAL%')
        AND f.lsn_dec = floor(f.lsn_dec) AND f.lsn_dec BETWEEN 0 AND 9223372036854775807,
      false
    ) AS lsn_ok,
    coalesce(
      schema_of_variant(f.image) LIKE 'OBJECT%'
        AND schema_of_variant(f.image:TransactionNo) = 'STRING' AND f.image:TransactionNo::string <> ''
        AND schema_of_variant(f.image:ProductNo) = 'STRING' AND f.image:ProductNo::string <> '',
      false
    ) AS key_ok,
    coalesce(
      (f.price_type IN ('TINYINT', 'SMALLINT', 'INT', 'BIGINT', 'DOUBLE', 'FLOAT') OR f.price_type LIKE 'DECIMAL%')
        AND f.price_dec >= 0 AND try_cast(f.price_dec AS DECIMAL(10, 2)) IS NOT NULL,
      false
    ) AS price_ok,
    coalesce(
      (f.qty_type IN ('TINYINT', 'SMALLINT', 'INT', 'BIGINT') OR f.qty_type LIKE 'DECIMAL%')
        AND f.qty_dec = floor(f.qty_dec) AND f.qty_dec <> 0 AND f.qty_dec BETWEEN -2147483648 AND 2147483647,
      false
    ) AS quantity_ok,
    CASE
      WHEN f.date_text RLIKE '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN try_to_date(f.date_text, 'yyyy-MM-dd')
      WHEN f.date_text RLIKE '^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}$' THEN try_to_date(f.date_text, 'M/d/yyyy')
    END AS order_date
  FROM fields f
)
SELECT
  c.file_path,
  c.partition_id,
  c.sequence_number,
  c.raw_body,
  c.raw_body_encoding,
  CASE
    WHEN NOT c.is_object THEN 'json'
    WHEN NOT c.op_ok THEN 'op'
    WHEN NOT c.lsn_ok THEN 'lsn'
    WHEN NOT c.key_ok THEN 'key'
    WHEN c.op <> 'd' AND NOT c.price_ok THEN 'price'
    WHEN c.op <> 'd' AND NOT c.quantity_ok THEN 'quantity'
    WHEN c.op <> 'd' AND c.order_date IS NULL THEN 'date'
  END AS rule,
  c.op,
  CAST(c.lsn_dec AS BIGINT) AS lsn,
  c.image:TransactionNo::string AS transaction_no,
  c.image:ProductNo::string AS product_no,
  CASE WHEN c.op <> 'd' THEN c.v:after.ProductName::string END AS product_name,
  CASE WHEN c.op <> 'd' THEN CAST(c.price_dec AS DECIMAL(10, 2)) END AS price,
  CASE WHEN c.op <> 'd' THEN CAST(c.qty_dec AS INT) END AS quantity,
  -- A number's decimal text, a string as it is, missing or null → NULL.
  CASE
    WHEN c.op = 'd' THEN NULL
    WHEN schema_of_variant(c.v:after.CustomerNo) = 'STRING' THEN c.v:after.CustomerNo::string
    WHEN schema_of_variant(c.v:after.CustomerNo) IN ('NULL', 'VOID') OR c.v:after.CustomerNo IS NULL THEN NULL
    ELSE CAST(CAST(try_variant_get(c.v, '$.after.CustomerNo', 'decimal(38,0)') AS DECIMAL(38, 0)) AS STRING)
  END AS customer_no,
  CASE WHEN c.op <> 'd' THEN coalesce(c.v:after.Country::string, 'Unspecified') END AS country,
  CASE WHEN c.op <> 'd' THEN c.order_date END AS order_date,
  CASE WHEN c.op <> 'd' THEN left(c.image:TransactionNo::string, 1) = 'C' END AS is_cancellation,
  c.op = 'd' AS deleted
FROM checks c;

-- The rules as expectations, with the same names: a record failing one is dropped here and kept in
-- quarantine below (expectations count failures per rule but do not record which rule failed).
CREATE OR REFRESH STREAMING TABLE order_events_valid (
  CONSTRAINT json EXPECT (rule IS DISTINCT FROM 'json') ON VIOLATION DROP ROW,
  CONSTRAINT op EXPECT (rule IS DISTINCT FROM 'op') ON VIOLATION DROP ROW,
  CONSTRAINT lsn EXPECT (rule IS DISTINCT FROM 'lsn') ON VIOLATION DROP ROW,
  CONSTRAINT key EXPECT (rule IS DISTINCT FROM 'key') ON VIOLATION DROP ROW,
  CONSTRAINT price EXPECT (rule IS DISTINCT FROM 'price') ON VIOLATION DROP ROW,
  CONSTRAINT quantity EXPECT (rule IS DISTINCT FROM 'quantity') ON VIOLATION DROP ROW,
  CONSTRAINT date EXPECT (rule IS DISTINCT FROM 'date') ON VIOLATION DROP ROW
)
COMMENT 'Records that pass every data-quality rule.'
AS SELECT * FROM STREAM(order_events_checked);

-- The negated rules: every record that failed one, with its name. Nothing is dropped silently.
CREATE OR REFRESH STREAMING TABLE quarantine_order_events
COMMENT 'Records that failed a data-quality rule, with the first rule they failed.'
AS SELECT
  file_path, partition_id, sequence_number, rule,
  concat('failed rule ', rule) AS reason,
  raw_body, raw_body_encoding, current_timestamp() AS quarantined_at, CAST(NULL AS STRING) AS batch_id
FROM STREAM(order_events_checked)
WHERE rule IS NOT NULL;

-- Silver: one row per live order line (SCD type 1), the highest (lsn, delete over non-delete) wins;
-- a delete removes the line. Same live rows as the job's silver (which also keeps tombstones).
CREATE OR REFRESH STREAMING TABLE silver_order_lines
COMMENT 'Current state of each live order line.';

CREATE FLOW silver_order_lines_cdc AS AUTO CDC INTO silver_order_lines
FROM (
  SELECT
    transaction_no, product_no, product_name, price, quantity, customer_no, country, order_date, is_cancellation,
    lsn AS _lsn, false AS _deleted, current_timestamp() AS _updated_at, deleted, struct(lsn, deleted) AS _rank
  FROM STREAM(order_events_valid)
)
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
  CAST(coalesce(sum(CASE WHEN NOT is_cancellation THEN price * quantity END), 0) AS DECIMAL(18, 2)) AS revenue,
  count(DISTINCT CASE WHEN is_cancellation THEN transaction_no END) AS cancelled_orders,
  coalesce(sum(CASE WHEN is_cancellation THEN abs(quantity) END), 0) AS cancelled_units,
  CAST(coalesce(sum(CASE WHEN is_cancellation THEN abs(price * quantity) END), 0) AS DECIMAL(18, 2)) AS cancelled_revenue,
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
  CAST(coalesce(sum(price * quantity), 0) AS DECIMAL(18, 2)) AS revenue,
  min(order_date) AS first_order_date,
  max(order_date) AS last_order_date
FROM silver_order_lines
WHERE NOT _deleted AND NOT is_cancellation AND customer_no IS NOT NULL
GROUP BY customer_no;
