"""Bronze task: loads exactly the batch's Capture files, listed in its manifest, into bronze.

The manifest (written by the Functions app before run-now; docs/architecture.md) is JSON:
  {"batch_id": "...", "files": [{"url": "abfss://capture@acct.dfs.core.windows.net/ns/hub/0/...avro",
                                  "bytes": 123, "records": 40}, ...]}
A file already in bronze is skipped (loading is idempotent per file); one Delta append loads the
rest, so a retried run never loads a file twice. File paths go to the reader as a list, never into
SQL text; that is why this uses the DataFrame reader rather than COPY INTO's literal FILES list.

  bronze.py --catalog C --schema S --batch-id B --manifest-path abfss://manifests@.../B.json
"""

import argparse
import json
import sys

# The default Capture layout: {Namespace}/{EventHub}/{PartitionId}/{Year}/{Month}/{Day}/{Hour}/{Minute}/{Second}
PARTITION_PATTERN = r"/([0-9]+)/[0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{2}/[0-9]{2}/[0-9]{2}\.avro$"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--batch-id", required=True)
    parser.add_argument("--manifest-path", required=True)
    args = parser.parse_args(argv)

    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    spark = SparkSession.builder.getOrCreate()
    spark.catalog.setCurrentCatalog(args.catalog)
    spark.catalog.setCurrentDatabase(args.schema)

    manifest = json.loads(spark.read.text(args.manifest_path, wholetext=True).first()[0])
    if manifest.get("batch_id") != args.batch_id:
        raise SystemExit(f"manifest {args.manifest_path} is for batch {manifest.get('batch_id')}, not {args.batch_id}")
    files = manifest["files"]
    if len(files) > 1000:
        raise SystemExit(f"batch {args.batch_id} lists {len(files)} files; a batch holds at most 1000")
    urls = [f["url"] for f in files]

    # Which files of the batch: replaced as a whole, so a retry of the same batch records them once.
    spark.sql("DELETE FROM batch_files WHERE batch_id = :batch_id", args={"batch_id": args.batch_id})
    rows = [(args.batch_id, f["url"], int(f.get("bytes") or 0), f.get("records")) for f in files]
    (
        spark.createDataFrame(rows, "batch_id STRING, file_path STRING, bytes BIGINT, records BIGINT")
        .withColumn("added_at", F.current_timestamp())
        .write.mode("append")
        .saveAsTable("batch_files")
    )

    loaded = {
        r.file_path
        for r in spark.table("bronze_order_events").where(F.col("file_path").isin(urls)).select("file_path").distinct().collect()
    }
    new = [u for u in urls if u not in loaded]
    print(f"batch {args.batch_id}: {len(urls)} files, {len(loaded)} already in bronze, loading {len(new)}")
    if not new:
        return

    body_text = F.col("Body").cast("string")
    utf8 = F.expr("Body IS NOT NULL AND is_valid_utf8(Body)")
    (
        spark.read.format("avro")
        .load(new)
        .select(
            F.lit(args.batch_id).alias("batch_id"),
            F.col("_metadata.file_path").alias("file_path"),
            F.nullif(F.regexp_extract(F.col("_metadata.file_path"), PARTITION_PATTERN, 1), F.lit("")).alias("partition_id"),
            F.col("SequenceNumber").alias("sequence_number"),
            F.col("Offset").alias("capture_offset"),
            F.to_timestamp(F.col("EnqueuedTimeUtc"), "M/d/yyyy h:mm:ss a").alias("enqueued_time"),
            F.current_timestamp().alias("ingested_at"),
            F.when(utf8, body_text).otherwise(F.base64(F.col("Body"))).alias("raw_body"),
            F.when(utf8, F.lit("utf8")).otherwise(F.lit("base64")).alias("raw_body_encoding"),
            (utf8 & F.expr("try_parse_json(CAST(Body AS STRING)) IS NOT NULL")).alias("body_is_json"),
        )
        .write.mode("append")
        .saveAsTable("bronze_order_events")
    )


if __name__ == "__main__":
    main(sys.argv[1:])
