import fs from 'node:fs';
import path from 'node:path';

/**
 * SQL files are written once, in Spark SQL with `:name` parameter markers, and run by Databricks and
 * by DuckDB. DuckDB prepares one statement at a time and binds `$name`, so its side splits files on
 * top-level `;` and rewrites markers, with a tokenizer rather than a regex: a `;` or `:x` inside a
 * string literal, a quoted identifier or a comment is text, not syntax.
 */
type TokenKind = 'string' | 'quoted' | 'comment' | 'parameter' | 'semicolon' | 'word' | 'space' | 'other';

interface Token {
  kind: TokenKind;
  text: string;
}

export function tokenizeSql(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, end: number): void => {
    tokens.push({ kind, text: sql.slice(i, end) });
    i = end;
  };
  while (i < sql.length) {
    const ch = sql[i];
    const next = sql[i + 1];
    if (ch === "'" || ch === '"' || ch === '`') {
      let end = i + 1;
      for (;;) {
        if (end >= sql.length) throw new SqlTextError(`unterminated ${ch} quote starting at offset ${i}`);
        if (sql[end] === '\\' && ch === "'") {
          end += 2;
          continue;
        }
        if (sql[end] === ch) {
          if (sql[end + 1] === ch) {
            end += 2;
            continue;
          }
          break;
        }
        end++;
      }
      push(ch === "'" ? 'string' : 'quoted', end + 1);
    } else if (ch === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      push('comment', end < 0 ? sql.length : end);
    } else if (ch === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) throw new SqlTextError(`unterminated comment starting at offset ${i}`);
      push('comment', end + 2);
    } else if (ch === ':' && next !== ':' && sql[i - 1] !== ':' && /[A-Za-z_]/.test(next ?? '')) {
      const match = /^:[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i));
      push('parameter', i + match![0].length);
    } else if (ch === ';') {
      push('semicolon', i + 1);
    } else if (/\s/.test(ch)) {
      push('space', i + /^\s+/.exec(sql.slice(i))![0].length);
    } else if (/[A-Za-z_]/.test(ch)) {
      const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i));
      push('word', i + match![0].length);
    } else {
      push('other', i + 1);
    }
  }
  return tokens;
}

export class SqlTextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SqlTextError';
  }
}

export interface SqlStatement {
  /** The statement as written (Spark SQL, `:name` markers), without the trailing `;`. */
  text: string;
  /** Parameter names it uses, in order of first use. */
  parameters: string[];
}

/** Splits a file into statements on top-level `;`, dropping empty ones and comment-only ones. */
export function splitSqlStatements(sql: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let current: Token[] = [];
  const flush = (): void => {
    if (current.some((t) => t.kind !== 'comment' && t.kind !== 'space')) {
      const parameters = [
        ...new Set(current.filter((t) => t.kind === 'parameter').map((t) => t.text.slice(1))),
      ];
      statements.push({
        text: current
          .map((t) => t.text)
          .join('')
          .trim(),
        parameters,
      });
    }
    current = [];
  };
  for (const token of tokenizeSql(sql)) {
    if (token.kind === 'semicolon') flush();
    else current.push(token);
  }
  flush();
  return statements;
}

/**
 * The statement as DuckDB runs it: `:name` becomes `$name`, and `USING DELTA` (a Databricks table
 * format clause DuckDB does not know) is dropped.
 */
export function toDuckDbSql(statement: SqlStatement): string {
  const tokens = tokenizeSql(statement.text);
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token.kind === 'parameter') {
      out.push(`$${token.text.slice(1)}`);
    } else if (token.kind === 'word' && token.text.toUpperCase() === 'USING') {
      const j = tokens.findIndex((t, k) => k > i && t.kind !== 'space' && t.kind !== 'comment');
      if (j > 0 && tokens[j].kind === 'word' && tokens[j].text.toUpperCase() === 'DELTA') {
        i = j;
        continue;
      }
      out.push(token.text);
    } else {
      out.push(token.text);
    }
  }
  return out.join('');
}

/** The project's root, where infra/ lives, from the source tree or the build in dist/. */
export function projectRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

/** Shared SQL (Databricks and DuckDB) under infra/databricks/sql, and DuckDB's own under infra/duckdb. */
export function readSqlFile(relative: string): SqlStatement[] {
  return splitSqlStatements(fs.readFileSync(path.join(projectRoot(), 'infra', relative), 'utf8'));
}
