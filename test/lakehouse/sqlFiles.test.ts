import fs from 'node:fs';
import path from 'node:path';
import { SparkSQL } from 'dt-sql-parser';
import { LocalLakehouse } from '../../lib/lakehouse/localLakehouse';
import { projectRoot, readSqlFile, splitSqlStatements, toDuckDbSql } from '../../lib/lakehouse/sqlText';
import { LAKEHOUSE_TABLES } from '../../lib/lakehouse/tables';

const KPIS = ['totals', 'daily', 'countries', 'products'].map((name) => `databricks/sql/kpis/${name}.sql`);
const SHARED = ['databricks/sql/tables.sql', 'databricks/sql/silver.sql', 'databricks/sql/gold.sql', ...KPIS];

describe('shared SQL files', () => {
  const spark = new SparkSQL();

  it.each(SHARED)('%s is valid Spark SQL, statement by statement', (file) => {
    const statements = readSqlFile(file);
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      const errors = spark.validate(statement.text).map((e) => `${e.message} (line ${e.startLine})`);
      expect({ statement: statement.text.slice(0, 80), errors }).toEqual({
        statement: statement.text.slice(0, 80),
        errors: [],
      });
    }
  });

  it('the Spark SQL check rejects DuckDB-only syntax, so it can fail', () => {
    expect(spark.validate("SELECT body ->> '$.op' FROM bronze_order_events").length).toBeGreaterThan(0);
    expect(
      spark.validate('SELECT * FROM t QUALIFY row_number() OVER (ORDER BY a) = 1').length,
    ).toBeGreaterThan(0);
  });

  it.each(SHARED)('%s binds only the job parameters', (file) => {
    for (const statement of readSqlFile(file))
      expect(['batch_id']).toEqual(expect.arrayContaining(statement.parameters));
  });

  it.each(KPIS)('%s is one read-only SELECT without parameters, which DuckDB runs', async (file) => {
    const statements = readSqlFile(file);
    expect(statements).toHaveLength(1);
    expect(statements[0].parameters).toEqual([]);
    expect(statements[0].text).toMatch(/^\s*(--[^\n]*\n\s*)*SELECT\b/);
    const lakehouse = await LocalLakehouse.open(':memory:');
    try {
      await expect(lakehouse.query(statements[0].text)).resolves.toEqual(expect.any(Array));
    } finally {
      await lakehouse.close();
    }
  });

  it('creates exactly the tables the code knows, and DuckDB runs every statement', async () => {
    const lakehouse = await LocalLakehouse.open(':memory:');
    try {
      const tables = await lakehouse.rows(
        "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' ORDER BY table_name",
      );
      expect(tables.map((t) => t.table_name)).toEqual([...LAKEHOUSE_TABLES, 'bronze_loaded_files'].sort());
    } finally {
      await lakehouse.close();
    }
  });

  it('keeps table names unqualified, so the catalog and schema are set per engine', () => {
    for (const file of SHARED) {
      const text = fs.readFileSync(path.join(projectRoot(), 'infra', file), 'utf8');
      for (const table of LAKEHOUSE_TABLES) expect(text).not.toMatch(new RegExp(`\\w\\.${table}\\b`));
    }
  });
});

describe('SQL text for DuckDB', () => {
  it('splits on top-level semicolons only', () => {
    const statements = splitSqlStatements(`
      -- a comment; with a semicolon
      SELECT ';' AS a, "x;y" AS b, \`c;d\` FROM t; /* block; comment */
      SELECT 'it''s; fine' FROM u;
      ;
    `);
    expect(statements.map((s) => s.text)).toEqual([
      `-- a comment; with a semicolon\n      SELECT ';' AS a, "x;y" AS b, \`c;d\` FROM t`,
      `/* block; comment */\n      SELECT 'it''s; fine' FROM u`,
    ]);
  });

  it('rewrites :name markers outside strings and comments, and drops USING DELTA', () => {
    const [statement] = splitSqlStatements(
      "CREATE TABLE x (a STRING) USING DELTA; -- :not_a_param\nSELECT ':batch_id', a::INT FROM x WHERE b = :batch_id",
    );
    expect(toDuckDbSql(statement)).toBe('CREATE TABLE x (a STRING) ');
    const [, query] = splitSqlStatements(
      "CREATE TABLE x (a STRING) USING DELTA; SELECT ':batch_id', a::INT FROM x WHERE b = :batch_id -- :other",
    );
    expect(query.parameters).toEqual(['batch_id']);
    expect(toDuckDbSql(query)).toBe("SELECT ':batch_id', a::INT FROM x WHERE b = $batch_id -- :other");
  });

  it('refuses unterminated quotes and comments', () => {
    expect(() => splitSqlStatements("SELECT 'oops")).toThrow(/unterminated ' quote/);
    expect(() => splitSqlStatements('SELECT 1 /* oops')).toThrow(/unterminated comment/);
  });
});
