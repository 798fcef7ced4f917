"""The continuous pipeline's view of the shared SQL: the rules and the parse exist once, in sql/.

The event-driven job runs sql/databricks/parse.sql and sql/silver.sql statement by statement; the
pipeline cannot (temporary functions and parameter markers are job-only), so this takes from them
the SELECTs of the views it needs, with the two temporary functions inlined and the relation each
view reads turned into a stream of the pipeline's own dataset. Pure text work on the shared files,
so it runs (and is tested) without Spark.
"""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from run_sql import split_statements  # noqa: E402  (the job's own splitter)

RULES = ["json", "op", "lsn", "key", "price", "quantity", "date"]


def view_select(path, view):
    """The SELECT of `CREATE OR REPLACE TEMPORARY VIEW <view> AS <select>` in a shared file."""
    with open(path, encoding="utf-8") as f:
        statements = [text for text, _ in split_statements(f.read())]
    head = re.compile(r"^\s*(?:--[^\n]*\n\s*)*CREATE OR REPLACE TEMPORARY VIEW " + view + r" AS\s", re.I)
    for text in statements:
        match = head.match(text)
        if match:
            return text[match.end():].strip()
    raise ValueError(f"{path}: no view {view}")


def functions(path):
    """The one-argument SQL functions a shared file defines: name -> (parameter, body)."""
    with open(path, encoding="utf-8") as f:
        statements = [text for text, _ in split_statements(f.read())]
    found = {}
    pattern = re.compile(
        r"^\s*(?:--[^\n]*\n\s*)*CREATE OR REPLACE TEMPORARY FUNCTION (\w+)\((\w+) \w+\) RETURNS \w+ RETURN\s(.*)$",
        re.S,
    )
    for text in statements:
        match = pattern.match(text)
        if match:
            found[match.group(1)] = (match.group(2), match.group(3).strip())
    return found


def inline(sql, defined):
    """Replaces each call of a defined function by its body, with the argument in place of the parameter."""
    for name, (parameter, body) in defined.items():
        while True:
            match = re.search(r"\b" + name + r"\(", sql)
            if not match:
                break
            depth, i = 1, match.end()
            while depth:
                depth += {"(": 1, ")": -1}.get(sql[i], 0)
                i += 1
            argument = sql[match.end():i - 1]
            expanded = re.sub(r"\b" + parameter + r"\b", lambda _: "(" + argument + ")", body)
            sql = sql[:match.start()] + "(" + expanded + ")" + sql[i:]
    return sql


def streamed(sql, relation):
    """The SELECT reading the pipeline dataset `relation` as a stream."""
    replaced, count = re.subn(r"\bFROM " + relation + r"\b", "FROM STREAM(" + relation + ")", sql)
    if count != 1:
        raise ValueError(f"expected one FROM {relation}, found {count}")
    return replaced


def pipeline_views(sql_root):
    """The SQL of the pipeline's views batch_events (the parse) and batch_checked (the rules)."""
    parse = os.path.join(sql_root, "databricks", "parse.sql")
    return {
        "batch_events": streamed(inline(view_select(parse, "batch_events"), functions(parse)), "batch_rows"),
        "batch_checked": streamed(view_select(os.path.join(sql_root, "silver.sql"), "batch_checked"), "batch_events"),
    }
