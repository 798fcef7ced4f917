-- DuckDB side of the engine bridge: describes JSON values in the engine-neutral terms the shared
-- SQL expects (infra/databricks/sql/silver.sql).

-- The kind of a JSON value from DuckDB's json_type name: string, number, boolean, null, object,
-- array; NULL when the member is missing.
CREATE OR REPLACE TEMPORARY MACRO json_kind(type_name) AS
  CASE type_name
    WHEN 'VARCHAR' THEN 'string'
    WHEN 'BIGINT' THEN 'number'
    WHEN 'UBIGINT' THEN 'number'
    WHEN 'HUGEINT' THEN 'number'
    WHEN 'DOUBLE' THEN 'number'
    WHEN 'BOOLEAN' THEN 'boolean'
    WHEN 'NULL' THEN 'null'
    WHEN 'OBJECT' THEN 'object'
    WHEN 'ARRAY' THEN 'array'
  END;
