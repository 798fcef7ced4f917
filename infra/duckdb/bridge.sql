-- DuckDB side of the engine bridge: macros the DuckDB parse step uses to describe JSON values in
-- the engine-neutral terms the shared SQL expects (infra/databricks/sql/silver.sql).

-- The JSON type of a value: string, number, boolean, null, object, array; NULL when missing.
CREATE OR REPLACE TEMPORARY MACRO json_kind(j) AS
  CASE json_type(j)
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

-- A string's value, a number's text, anything else as JSON text.
CREATE OR REPLACE TEMPORARY MACRO json_text(j) AS
  CASE WHEN json_type(j) = 'VARCHAR' THEN j ->> '$' ELSE CAST(j AS VARCHAR) END;
