-- Databricks only: liquid clustering on the keys Power BI and the MERGEs filter and join on, and
-- change data feed on the tables downstream consumers read incrementally.
ALTER TABLE bronze_order_events CLUSTER BY (file_path);
ALTER TABLE batch_files CLUSTER BY (batch_id);
ALTER TABLE quarantine_order_events CLUSTER BY (file_path, sequence_number);
ALTER TABLE dq_metrics CLUSTER BY (file_path);
ALTER TABLE silver_order_lines CLUSTER BY (transaction_no, product_no);
ALTER TABLE gold_daily_sales CLUSTER BY (order_date, country);
ALTER TABLE gold_customer_sales CLUSTER BY (customer_no);
ALTER TABLE silver_order_lines SET TBLPROPERTIES (delta.enableChangeDataFeed = true);
ALTER TABLE gold_daily_sales SET TBLPROPERTIES (delta.enableChangeDataFeed = true);
ALTER TABLE gold_customer_sales SET TBLPROPERTIES (delta.enableChangeDataFeed = true);
