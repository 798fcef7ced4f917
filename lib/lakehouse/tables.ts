/** The lakehouse tables, as infra/databricks/sql/tables.sql creates them. */
export const LAKEHOUSE_TABLES = [
  'bronze_order_events',
  'batch_files',
  'quarantine_order_events',
  'dq_metrics',
  'checked_order_events',
  'silver_order_lines',
  'gold_dirty_groups',
  'gold_daily_sales',
  'gold_customer_sales',
] as const;
