"""Runs shared SQL files on Databricks, statement by statement, binding :name parameter markers.

The same files run on DuckDB locally (lib/lakehouse/sqlText.ts splits them the same way). A file is
split on top-level `;` by a tokenizer, so a `;` inside a string or a comment stays text; each
statement runs with spark.sql(text, args=...) and only the markers it uses: parameters are bound,
never concatenated.

  run_sql.py --catalog C --schema S [--batch-id B [--batch-rows]] [--create-schema] FILE...
"""

import argparse
import os
import sys


def tokens(sql):
    """Yields (kind, text) for the SQL text: string, quoted, comment, parameter, semicolon, other."""
    i = 0
    n = len(sql)
    while i < n:
        ch = sql[i]
        nxt = sql[i + 1] if i + 1 < n else ""
        if ch in "'\"`":
            end = i + 1
            while True:
                if end >= n:
                    raise ValueError(f"unterminated {ch} quote starting at offset {i}")
                if ch == "'" and sql[end] == "\\":
                    end += 2
                    continue
                if sql[end] == ch:
                    if end + 1 < n and sql[end + 1] == ch:
                        end += 2
                        continue
                    break
                end += 1
            yield ("string" if ch == "'" else "quoted", sql[i : end + 1])
            i = end + 1
        elif ch == "-" and nxt == "-":
            end = sql.find("\n", i)
            end = n if end < 0 else end
            yield ("comment", sql[i:end])
            i = end
        elif ch == "/" and nxt == "*":
            end = sql.find("*/", i + 2)
            if end < 0:
                raise ValueError(f"unterminated comment starting at offset {i}")
            yield ("comment", sql[i : end + 2])
            i = end + 2
        elif ch == ":" and nxt != ":" and (i == 0 or sql[i - 1] != ":") and (nxt.isalpha() or nxt == "_"):
            end = i + 1
            while end < n and (sql[end].isalnum() or sql[end] == "_"):
                end += 1
            yield ("parameter", sql[i:end])
            i = end
        elif ch == ";":
            yield ("semicolon", ch)
            i += 1
        else:
            yield ("other", ch)
            i += 1


def split_statements(sql):
    """[(statement text, [parameter names])] for each non-empty top-level statement."""
    statements = []
    current = []

    def flush():
        if any(kind != "comment" and text.strip() for kind, text in current):
            names = []
            for kind, text in current:
                if kind == "parameter" and text[1:] not in names:
                    names.append(text[1:])
            statements.append(("".join(text for _, text in current).strip(), names))
        current.clear()

    for kind, text in tokens(sql):
        if kind == "semicolon":
            flush()
        else:
            current.append((kind, text))
    flush()
    return statements


def register_batch_rows(spark, batch_id):
    """Registers the temporary view batch_rows that sql/databricks/parse.sql reads: the batch's bronze
    rows, each body parsed once. Built with the DataFrame API so the batch id stays a bound value:
    Databricks Runtime 17.3 and earlier reject parameter markers inside a view."""
    from pyspark.sql import functions as F

    files = spark.table("batch_files").where(F.col("batch_id") == F.lit(batch_id)).select("file_path").distinct()
    rows = spark.table("bronze_order_events").join(files, "file_path").select(
        F.lit(batch_id).alias("batch_id"),
        "file_path",
        "partition_id",
        "sequence_number",
        "raw_body",
        "raw_body_encoding",
        F.expr("CASE WHEN raw_body_encoding = 'utf8' THEN try_parse_json(raw_body) END").alias("v"),
    )
    rows.createOrReplaceTempView("batch_rows")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--batch-id")
    parser.add_argument("--batch-rows", action="store_true", help="register the batch's rows as batch_rows")
    parser.add_argument("--create-schema", action="store_true")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)

    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    spark.catalog.setCurrentCatalog(args.catalog)
    if args.create_schema:
        spark.sql("CREATE SCHEMA IF NOT EXISTS IDENTIFIER(:schema)", args={"schema": args.schema})
    spark.catalog.setCurrentDatabase(args.schema)

    if args.batch_rows:
        if args.batch_id is None:
            raise SystemExit("--batch-rows needs --batch-id")
        register_batch_rows(spark, args.batch_id)

    values = {"batch_id": args.batch_id}
    here = os.path.dirname(os.path.abspath(sys.argv[0]))
    for name in args.files:
        path = name if os.path.isabs(name) else os.path.join(here, name)
        with open(path, encoding="utf-8") as f:
            statements = split_statements(f.read())
        for text, names in statements:
            missing = [p for p in names if values.get(p) is None]
            if missing:
                raise SystemExit(f"{name}: parameter(s) {', '.join(missing)} not given")
            try:
                spark.sql(text, args={p: values[p] for p in names})
            except Exception as error:
                raise RuntimeError(f"{name}: {error}\n  in: {text[:200]}") from error
        print(f"{name}: {len(statements)} statements done")


if __name__ == "__main__":
    main(sys.argv[1:])
