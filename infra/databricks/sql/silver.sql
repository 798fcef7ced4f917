-- Silver step of one batch, shared by Databricks and DuckDB (parameters :batch_id).
-- Reads `batch_events`, the engine-specific parse of the batch's bronze rows: typed fields and
-- type flags, never failing on a malformed body (databricks/parse.sql, infra/duckdb/parse.sql).
-- Safe to run again, whole or from any statement, for the same batch or for its files under a new
-- batch id (Delta commits each statement on its own): every write is keyed by the record or file
-- it describes, replaced, or a no-op by lsn.

-- The data-quality rules (docs/architecture.md), checked in order; `rule` is the first one a record fails.
-- Evaluated once, into checked_order_events, which the statements after it read.
CREATE OR REPLACE TEMPORARY VIEW batch_checked AS
WITH fields AS (
  SELECT
    e.*,
    CASE WHEN e.op_text = 'd' THEN e.before_type ELSE e.after_type END AS image_type,
    CASE WHEN e.op_text = 'd' THEN e.b_txn_type ELSE e.a_txn_type END AS txn_type,
    CASE WHEN e.op_text = 'd' THEN e.b_txn_text ELSE e.a_txn_text END AS txn_text,
    CASE WHEN e.op_text = 'd' THEN e.b_pno_type ELSE e.a_pno_type END AS pno_type,
    CASE WHEN e.op_text = 'd' THEN e.b_pno_text ELSE e.a_pno_text END AS pno_text,
    -- Plain integer and cents texts cast fast and exactly; only other forms (12.0, 1.5e1, 21.475)
    -- take the wide DECIMAL(38, x) cast, which is far slower.
    regexp_extract(CASE WHEN e.lsn_type = 'number' THEN e.lsn_text END, '^-?[0-9]{1,19}$', 0) <> '' AS lsn_plain,
    regexp_extract(CASE WHEN e.a_price_type = 'number' THEN e.a_price_text END, '^[0-9]{1,8}([.][0-9]{1,2})?$', 0) <> ''
      AS price_plain,
    regexp_extract(CASE WHEN e.a_qty_type = 'number' THEN e.a_qty_text END, '^-?[0-9]{1,9}$', 0) <> '' AS qty_plain,
    regexp_extract(CASE WHEN e.a_customer_type = 'number' THEN e.a_customer_text END, '^[0-9]{1,18}$', 0) <> ''
      AS customer_plain,
    CASE WHEN e.a_date_type = 'string' THEN e.a_date_text END AS date_text
  FROM batch_events e
),
numbers AS (
  SELECT
    f.*,
    CASE WHEN f.lsn_plain THEN try_cast(f.lsn_text AS BIGINT) END AS lsn_int,
    CASE WHEN f.lsn_type = 'number' AND NOT f.lsn_plain THEN try_cast(f.lsn_text AS DECIMAL(38, 10)) END AS lsn_dec,
    CASE WHEN f.price_plain THEN try_cast(f.a_price_text AS DECIMAL(10, 2)) END AS price_cents,
    CASE WHEN f.a_price_type = 'number' AND NOT f.price_plain THEN try_cast(f.a_price_text AS DECIMAL(38, 20)) END
      AS price_dec,
    CASE WHEN f.qty_plain THEN try_cast(f.a_qty_text AS BIGINT) END AS qty_int,
    CASE WHEN f.a_qty_type = 'number' AND NOT f.qty_plain THEN try_cast(f.a_qty_text AS DECIMAL(38, 10)) END AS qty_dec,
    CASE WHEN f.a_customer_type = 'number' AND NOT f.customer_plain THEN try_cast(f.a_customer_text AS DECIMAL(38, 10)) END
      AS customer_dec
  FROM fields f
),
parts AS (
  SELECT
    f.*,
    regexp_extract(f.date_text, '^([0-9]{4})-([0-9]{2})-([0-9]{2})$', 1) AS iso_y,
    regexp_extract(f.date_text, '^([0-9]{4})-([0-9]{2})-([0-9]{2})$', 2) AS iso_m,
    regexp_extract(f.date_text, '^([0-9]{4})-([0-9]{2})-([0-9]{2})$', 3) AS iso_d,
    regexp_extract(f.date_text, '^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$', 1) AS us_m,
    regexp_extract(f.date_text, '^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$', 2) AS us_d,
    regexp_extract(f.date_text, '^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$', 3) AS us_y
  FROM numbers f
),
dates AS (
  SELECT
    p.*,
    -- The length check rejects what Java's `$` would let through on Databricks (a final newline).
    CASE
      WHEN p.iso_y <> '' AND length(p.date_text) = 10 THEN try_cast(p.iso_y AS INT)
      WHEN p.us_y <> '' AND length(p.date_text) = length(p.us_m) + length(p.us_d) + 6 THEN try_cast(p.us_y AS INT)
    END AS y,
    CASE
      WHEN p.iso_y <> '' AND length(p.date_text) = 10 THEN try_cast(p.iso_m AS INT)
      WHEN p.us_y <> '' AND length(p.date_text) = length(p.us_m) + length(p.us_d) + 6 THEN try_cast(p.us_m AS INT)
    END AS m,
    CASE
      WHEN p.iso_y <> '' AND length(p.date_text) = 10 THEN try_cast(p.iso_d AS INT)
      WHEN p.us_y <> '' AND length(p.date_text) = length(p.us_m) + length(p.us_d) + 6 THEN try_cast(p.us_d AS INT)
    END AS d
  FROM parts p
),
checks AS (
  SELECT
    d.*,
    -- coalesce: a missing field makes a comparison NULL, and NULL must fail the rule.
    coalesce(d.op_type = 'string' AND d.op_text IN ('c', 'u', 'd', 'r'), false) AS op_ok,
    coalesce(
      CASE
        WHEN d.lsn_plain THEN d.lsn_int >= 0
        ELSE d.lsn_dec = floor(d.lsn_dec) AND d.lsn_dec >= 0 AND d.lsn_dec <= 9223372036854775807
      END,
      false
    ) AS lsn_ok,
    coalesce(
      d.image_type = 'object' AND d.txn_type = 'string' AND d.txn_text <> '' AND d.pno_type = 'string' AND d.pno_text <> '',
      false
    ) AS key_ok,
    -- Cents round half-up from the number's text; silver's DECIMAL(10,2) holds below 10^8.
    coalesce(
      CASE
        WHEN d.price_plain THEN d.price_cents IS NOT NULL
        ELSE d.price_dec >= 0 AND try_cast(d.price_dec AS DECIMAL(10, 2)) IS NOT NULL
      END,
      false
    ) AS price_ok,
    coalesce(
      CASE
        WHEN d.qty_plain THEN d.qty_int <> 0 AND d.qty_int BETWEEN -2147483648 AND 2147483647
        ELSE d.qty_dec = floor(d.qty_dec) AND d.qty_dec <> 0 AND d.qty_dec BETWEEN -2147483648 AND 2147483647
      END,
      false
    ) AS quantity_ok,
    coalesce(
      d.y >= 1 AND d.m BETWEEN 1 AND 12 AND d.d >= 1
        AND d.d <= CASE
          WHEN d.m = 2 AND (d.y % 4 = 0 AND d.y % 100 <> 0 OR d.y % 400 = 0) THEN 29
          WHEN d.m = 2 THEN 28
          WHEN d.m IN (4, 6, 9, 11) THEN 30
          ELSE 31
        END,
      false
    ) AS date_ok
  FROM dates d
),
ruled AS (
  SELECT
    c.*,
    CASE
      WHEN NOT coalesce(c.is_json_object, false) THEN 'json'
      WHEN NOT c.op_ok THEN 'op'
      WHEN NOT c.lsn_ok THEN 'lsn'
      WHEN NOT c.key_ok THEN 'key'
      WHEN c.op_text <> 'd' AND NOT c.price_ok THEN 'price'
      WHEN c.op_text <> 'd' AND NOT c.quantity_ok THEN 'quantity'
      WHEN c.op_text <> 'd' AND NOT c.date_ok THEN 'date'
    END AS rule
  FROM checks c
)
SELECT
  r.batch_id,
  r.file_path,
  r.partition_id,
  r.sequence_number,
  r.raw_body,
  r.raw_body_encoding,
  r.rule,
  CASE r.rule
    WHEN 'json' THEN CASE
      WHEN r.raw_body IS NULL THEN 'body is null'
      WHEN r.raw_body_encoding = 'base64' THEN 'body is not valid UTF-8'
      ELSE 'body is not a JSON object'
    END
    WHEN 'op' THEN concat('op is ', coalesce(r.op_text, r.op_type, 'missing'), '; expected one of c, u, d, r')
    WHEN 'lsn' THEN concat('source.lsn is ', coalesce(r.lsn_text, 'missing'), '; expected an integer from 0 to 2^63-1')
    WHEN 'key' THEN concat('TransactionNo ', coalesce(r.txn_text, 'missing'), ' and ProductNo ',
      coalesce(r.pno_text, 'missing'), ' must be non-empty strings in ', CASE WHEN r.op_text = 'd' THEN 'before' ELSE 'after' END)
    WHEN 'price' THEN concat('after.Price is ', coalesce(r.a_price_text, 'missing'), '; expected a number from 0 to below 100000000')
    WHEN 'quantity' THEN concat('after.Quantity is ', coalesce(r.a_qty_text, 'missing'), '; expected a non-zero integer within 32 bits')
    WHEN 'date' THEN concat('after.Date is ', coalesce(r.a_date_text, 'missing'), '; expected a real date as YYYY-MM-DD or M/D/YYYY')
  END AS reason,
  CASE r.rule WHEN 'json' THEN 1 WHEN 'op' THEN 2 WHEN 'lsn' THEN 3 WHEN 'key' THEN 4 WHEN 'price' THEN 5
    WHEN 'quantity' THEN 6 WHEN 'date' THEN 7 END AS rule_order,
  r.op_text AS op,
  CASE WHEN r.rule IS NULL THEN coalesce(r.lsn_int, CAST(r.lsn_dec AS BIGINT)) END AS lsn,
  r.txn_text AS transaction_no,
  r.pno_text AS product_no,
  CASE WHEN r.op_text <> 'd' AND r.a_name_type <> 'null' THEN r.a_name_text END AS product_name,
  CASE
    WHEN r.op_text <> 'd' AND r.rule IS NULL THEN coalesce(r.price_cents, try_cast(r.price_dec AS DECIMAL(10, 2)))
  END AS price,
  CASE WHEN r.op_text <> 'd' AND r.rule IS NULL THEN CAST(coalesce(r.qty_int, r.qty_dec) AS INT) END AS quantity,
  CASE
    WHEN r.op_text = 'd' OR r.a_customer_type IS NULL OR r.a_customer_type = 'null' THEN NULL
    WHEN r.customer_plain THEN r.a_customer_text
    WHEN r.a_customer_type = 'number' AND r.customer_dec = floor(r.customer_dec)
      THEN CAST(CAST(r.customer_dec AS DECIMAL(38, 0)) AS STRING)
    ELSE r.a_customer_text
  END AS customer_no,
  CASE
    WHEN r.op_text = 'd' THEN NULL
    WHEN r.a_country_type IS NULL OR r.a_country_type = 'null' THEN 'Unspecified'
    ELSE r.a_country_text
  END AS country,
  CASE WHEN r.op_text <> 'd' AND r.rule IS NULL THEN make_date(r.y, r.m, r.d) END AS order_date,
  CASE WHEN r.op_text <> 'd' THEN left(r.txn_text, 1) = 'C' END AS is_cancellation,
  r.op_text = 'd' AS deleted
FROM ruled r;

DELETE FROM checked_order_events WHERE batch_id = :batch_id;

INSERT INTO checked_order_events
SELECT
  :batch_id, file_path, partition_id, sequence_number, rule, reason, rule_order, op, lsn, transaction_no, product_no,
  product_name, price, quantity, customer_no, country, order_date, is_cancellation, deleted
FROM batch_checked;

-- One row per bad record, keyed by (file_path, sequence_number): a record already quarantined (by
-- this batch's earlier attempt, or by an earlier batch of the same file) is not added again, and
-- batch_id stays the batch that first quarantined it. The raw body comes from bronze.
INSERT INTO quarantine_order_events
  (file_path, partition_id, sequence_number, rule, reason, raw_body, raw_body_encoding, quarantined_at, batch_id)
SELECT c.file_path, c.partition_id, c.sequence_number, c.rule, c.reason, b.raw_body, b.raw_body_encoding, now(), :batch_id
FROM checked_order_events c
JOIN bronze_order_events b ON b.file_path = c.file_path AND b.sequence_number = c.sequence_number
WHERE c.batch_id = :batch_id AND c.rule IS NOT NULL
  AND NOT EXISTS (
    SELECT 1 FROM quarantine_order_events q WHERE q.file_path = c.file_path AND q.sequence_number = c.sequence_number
  );

-- Per file and rule: records that reached the rule and passed (a delete passes the rules of after's
-- columns), and failed. A file is judged once: a file that already has rows (this batch's earlier
-- attempt, or an earlier batch) adds none, so totals over batches never count a record twice.
-- The batch's records are counted per (file, first failed rule) once, then spread over the seven
-- rules: a join of every record with every rule it reached cost seven passes over the batch.
INSERT INTO dq_metrics (batch_id, file_path, rule, passed, failed, measured_at)
SELECT
  :batch_id,
  f.file_path,
  rules.rule,
  CAST(coalesce(sum(CASE WHEN c.rule_order IS NULL OR c.rule_order > rules.rule_order THEN c.records END), 0) AS BIGINT),
  CAST(coalesce(sum(CASE WHEN c.rule_order = rules.rule_order THEN c.records END), 0) AS BIGINT),
  now()
FROM (SELECT DISTINCT file_path FROM batch_files WHERE batch_id = :batch_id) f
CROSS JOIN (VALUES ('json', 1), ('op', 2), ('lsn', 3), ('key', 4), ('price', 5), ('quantity', 6), ('date', 7))
  AS rules (rule, rule_order)
LEFT JOIN (
  SELECT file_path, rule_order, count(*) AS records
  FROM checked_order_events
  WHERE batch_id = :batch_id
  GROUP BY file_path, rule_order
) c
  ON c.file_path = f.file_path
WHERE NOT EXISTS (SELECT 1 FROM dq_metrics m WHERE m.file_path = f.file_path)
GROUP BY f.file_path, rules.rule, rules.rule_order;

-- Gold groups of the batch's keys before the MERGE (a change can move a line to another group),
-- kept until gold has committed; the same statement after the MERGE adds the groups they move to.
INSERT INTO gold_dirty_groups (batch_id, order_date, country, customer_no)
SELECT DISTINCT :batch_id, s.order_date, s.country, s.customer_no
FROM silver_order_lines s
JOIN (
  SELECT DISTINCT transaction_no, product_no FROM checked_order_events WHERE batch_id = :batch_id AND rule IS NULL
) k
  ON s.transaction_no = k.transaction_no AND s.product_no = k.product_no
WHERE NOT s._deleted;

-- Only the highest-ranked change per key applies: rank = (lsn, delete over non-delete). An equal
-- rank is a redelivery (no-op); a lower one is late and loses, so a tombstone cannot be undone.
MERGE INTO silver_order_lines AS s
USING (
  SELECT *
  FROM (
    SELECT
      c.*,
      row_number() OVER (
        PARTITION BY c.transaction_no, c.product_no
        ORDER BY c.lsn DESC, c.deleted DESC, c.file_path DESC, c.sequence_number DESC
      ) AS rank_in_batch
    FROM checked_order_events c
    WHERE c.batch_id = :batch_id AND c.rule IS NULL
  ) ranked
  WHERE ranked.rank_in_batch = 1
) AS n
ON s.transaction_no = n.transaction_no AND s.product_no = n.product_no
WHEN MATCHED AND (n.lsn > s._lsn OR (n.lsn = s._lsn AND n.deleted AND NOT s._deleted)) THEN UPDATE SET
  product_name = n.product_name,
  price = n.price,
  quantity = n.quantity,
  customer_no = n.customer_no,
  country = n.country,
  order_date = n.order_date,
  is_cancellation = n.is_cancellation,
  _lsn = n.lsn,
  _deleted = n.deleted,
  _updated_at = now()
WHEN NOT MATCHED THEN INSERT
  (transaction_no, product_no, product_name, price, quantity, customer_no, country, order_date, is_cancellation,
   _lsn, _deleted, _updated_at)
VALUES
  (n.transaction_no, n.product_no, n.product_name, n.price, n.quantity, n.customer_no, n.country, n.order_date,
   n.is_cancellation, n.lsn, n.deleted, now());

INSERT INTO gold_dirty_groups (batch_id, order_date, country, customer_no)
SELECT DISTINCT :batch_id, s.order_date, s.country, s.customer_no
FROM silver_order_lines s
JOIN (
  SELECT DISTINCT transaction_no, product_no FROM checked_order_events WHERE batch_id = :batch_id AND rule IS NULL
) k
  ON s.transaction_no = k.transaction_no AND s.product_no = k.product_no
WHERE NOT s._deleted;

DELETE FROM checked_order_events WHERE batch_id = :batch_id;
