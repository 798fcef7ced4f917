-- Moves one file's staged records into bronze (parameters: the file's batch, path, partition, time).
INSERT INTO bronze_order_events
SELECT
  CAST(:batch_id AS STRING), CAST(:file_path AS STRING), CAST(:partition_id AS STRING), sequence_number,
  capture_offset, enqueued_time, CAST(:ingested_at AS TIMESTAMP), raw_body,
  CASE WHEN utf8 THEN 'utf8' ELSE 'base64' END, body_is_json
FROM bronze_staging;

DELETE FROM bronze_staging;
