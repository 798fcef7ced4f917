"""Continuous mode, bronze: bronze_order_events, one row per event from the source that the bundle
variable `source` picks (pipeline configuration `source`), always in the same columns, the job's
bronze columns (sql/tables.sql). continuous.py reads this table as batch_rows and applies the parse
and the rules from the shared SQL, so both sources go through the same parse and the same rules.

  capture     (default) Auto Loader over the Capture Avro files in the capture container.
  event_hubs  The hub itself, over its Kafka endpoint (NAMESPACE.servicebus.windows.net:9093): no
              Capture window in the path, so events reach bronze in seconds, not minutes.

The trade-off of event_hubs: no raw files. The hub keeps events for its retention only (1 day as
infra/modules/eventHubs.bicep deploys it, at most 7 on Standard:
https://learn.microsoft.com/azure/event-hubs/event-hubs-about); anything older exists only in
bronze. A full refresh of this pipeline clears its streaming tables and re-reads only what the hub
still retains, so history older than that is gone (Databricks: "Full refresh for streaming tables",
https://docs.databricks.com/aws/en/ldp/full-refresh-st); switching `source` on a deployed pipeline
needs a full refresh too (same page). Capture can stay on beside it (the event-driven path keeps
working from its files) when replay beyond the retention matters.

Authentication to Event Hubs: a Unity Catalog service credential on the Access Connector, option
databricks.serviceCredential (Databricks Runtime 16.1+, recommended on serverless compute):
https://learn.microsoft.com/azure/databricks/connect/streaming/kafka/authentication
(the CURRENT pipeline channel runs Databricks Runtime 17.3:
https://docs.databricks.com/en/release-notes/delta-live-tables).
No key, no connection string, no SAS: nothing secret is in this file or in the bundle.
The consumer group is the Kafka group id (kafka.group.id); on Event Hubs Kafka groups are created
on first use and are distinct from the hub's AMQP consumer groups
(https://learn.microsoft.com/azure/event-hubs/apache-kafka-frequently-asked-questions). The stream's
position lives in the pipeline's checkpoint, not in the group.
Readers: https://learn.microsoft.com/azure/databricks/connect/streaming/kafka (Kafka),
https://docs.databricks.com/aws/en/ingestion/file-metadata-column (_metadata.file_path);
Python API: https://docs.databricks.com/aws/en/dlt-ref/dlt-python-ref
"""

import dlt
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()

SOURCES = ("capture", "event_hubs")


def setting(key):
    """A pipeline configuration value (databricks.yml), '' when unset."""
    return (spark.conf.get(key, "") or "").strip()


def body_columns(body):
    """raw_body and raw_body_encoding from a binary body, as the job's bronze stores them: UTF-8 text,
    or base64 when the bytes are not valid UTF-8 (rule `json` then quarantines the record)."""
    utf8 = f"{body} IS NULL OR is_valid_utf8({body})"
    return [
        f"CASE WHEN {utf8} THEN CAST({body} AS STRING) ELSE base64({body}) END AS raw_body",
        f"CASE WHEN {utf8} THEN 'utf8' ELSE 'base64' END AS raw_body_encoding",
    ]


# Capture's EventData record: SequenceNumber, Offset, EnqueuedTimeUtc, Body (and the property maps).
# File path layout: {Namespace}/{EventHub}/{PartitionId}/{Year}/{Month}/{Day}/{Hour}/{Minute}/{Second}.avro
CAPTURE_COLUMNS = [
    "CAST(NULL AS STRING) AS batch_id",
    "_metadata.file_path AS file_path",
    "element_at(split(_metadata.file_path, '/'), -7) AS partition_id",
    "SequenceNumber AS sequence_number",
    "Offset AS capture_offset",
    "to_timestamp(EnqueuedTimeUtc, 'M/d/yyyy h:mm:ss a') AS enqueued_time",
    "current_timestamp() AS ingested_at",
    *body_columns("Body"),
    "CAST(NULL AS BOOLEAN) AS body_is_json",
]

# The Kafka record: value is the event body (the same JSON a Capture record's Body holds); there is
# no file, so file_path names where the record came from (topic/partition); the record's offset in
# its partition is its sequence; timestamp is the record's timestamp as the hub reports it.
KAFKA_COLUMNS = [
    "CAST(NULL AS STRING) AS batch_id",
    "concat('kafka:', `topic`, '/', CAST(`partition` AS STRING)) AS file_path",
    "CAST(`partition` AS STRING) AS partition_id",
    "`offset` AS sequence_number",
    "CAST(`offset` AS STRING) AS capture_offset",
    "`timestamp` AS enqueued_time",
    "current_timestamp() AS ingested_at",
    *body_columns("`value`"),
    "CAST(NULL AS BOOLEAN) AS body_is_json",
]


def required(key, source):
    value = setting(key)
    if not value:
        raise ValueError(f"source={source} needs the pipeline setting {key} (databricks.yml, target continuous)")
    return value


def kafka_options():
    """The Kafka source options for the hub: all from the pipeline configuration, none secret."""
    return {
        "kafka.bootstrap.servers": required("kafka_bootstrap_servers", "event_hubs"),
        "subscribe": required("kafka_topic", "event_hubs"),
        "kafka.group.id": required("kafka_consumer_group", "event_hubs"),
        "databricks.serviceCredential": required("kafka_service_credential", "event_hubs"),
        # A new pipeline starts from the oldest event the hub retains; afterwards the checkpoint decides.
        "startingOffsets": "earliest",
        # Events that expired before the pipeline read them are a failure, never a silent gap.
        "failOnDataLoss": "true",
    }


def read_source(source):
    if source == "capture":
        return (
            spark.readStream.format("cloudFiles")
            .option("cloudFiles.format", "avro")
            .load(required("capture_path", source))
            .selectExpr(*CAPTURE_COLUMNS)
        )
    if source == "event_hubs":
        return spark.readStream.format("kafka").options(**kafka_options()).load().selectExpr(*KAFKA_COLUMNS)
    raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r} (databricks.yml variable source)")


SOURCE = setting("source") or "capture"
if SOURCE not in SOURCES:
    raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {SOURCE!r} (databricks.yml variable source)")


@dlt.table(
    name="bronze_order_events",
    comment=f"One row per event from {SOURCE}: raw body plus where it came from (file or topic/partition).",
)
def bronze_order_events():
    return read_source(SOURCE)
