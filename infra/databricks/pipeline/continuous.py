"""Continuous mode, the checks: the same parse and data-quality rules as the event-driven job,
taken from the shared SQL (shared_sql.py), as pipeline views; the rules as expectations named like
the rules; the quarantine fed by the negated rules, with the job's reasons. continuous.sql holds
bronze, silver and gold. Python API: https://docs.databricks.com/aws/en/dlt-ref/dlt-python-ref
"""

import os
import sys

import dlt
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
SQL_ROOT = spark.conf.get("sql_root")
# shared_sql.py sits beside this file, in the bundle folder next to sql/.
sys.path.insert(0, os.path.join(SQL_ROOT, "..", "pipeline"))
from shared_sql import RULES, pipeline_views  # noqa: E402

VIEWS = pipeline_views(SQL_ROOT)


@dlt.view(name="batch_rows", comment="Bronze rows as the shared parse reads them, each body parsed once.")
def batch_rows():
    return spark.sql(
        """SELECT CAST(NULL AS STRING) AS batch_id, file_path, partition_id, sequence_number, raw_body,
                  raw_body_encoding,
                  CASE WHEN raw_body_encoding = 'utf8' THEN try_parse_json(raw_body) END AS v
           FROM STREAM(bronze_order_events)"""
    )


@dlt.view(name="batch_events", comment="sql/databricks/parse.sql: typed fields and type flags.")
def batch_events():
    return spark.sql(VIEWS["batch_events"])


@dlt.view(name="batch_checked", comment="sql/silver.sql: the first rule each record fails, and its fields.")
def batch_checked():
    return spark.sql(VIEWS["batch_checked"])


@dlt.table(name="order_events_valid", comment="Records that pass every data-quality rule.")
@dlt.expect_all_or_drop({rule: f"rule IS DISTINCT FROM '{rule}'" for rule in RULES})
def order_events_valid():
    return spark.sql("SELECT * FROM STREAM(batch_checked)")


@dlt.table(name="quarantine_order_events", comment="Records that failed a rule, with the rule and why.")
def quarantine_order_events():
    return spark.sql(
        """SELECT file_path, partition_id, sequence_number, rule, reason, raw_body, raw_body_encoding,
                  current_timestamp() AS quarantined_at, batch_id
           FROM STREAM(batch_checked)
           WHERE rule IS NOT NULL"""
    )
