import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { projectRoot, splitSqlStatements } from '../../lib/lakehouse/sqlText';

const BUNDLE = path.join(projectRoot(), 'infra', 'databricks');

interface Task {
  task_key: string;
  depends_on?: { task_key: string }[];
  environment_key?: string;
  spark_python_task: { python_file: string; parameters: string[] };
}
interface Job {
  max_concurrent_runs?: number;
  queue?: { enabled: boolean };
  parameters?: { name: string }[];
  email_notifications?: { on_failure?: string[] };
  environments?: { environment_key: string }[];
  tasks: Task[];
}

const bundle = parse(fs.readFileSync(path.join(BUNDLE, 'databricks.yml'), 'utf8')) as {
  variables: Record<string, unknown>;
  resources: { jobs: Record<string, Job> };
};
const jobs = bundle.resources.jobs;

function sqlFilesOf(task: Task): string[] {
  return task.spark_python_task.parameters.filter((p) => p.endsWith('.sql'));
}

describe('Databricks bundle', () => {
  it('defines the batch job: parameters exactly batch_id and manifest_path, one active run, queueing, alerts', () => {
    const job = jobs.orders_lakehouse;
    expect(job.parameters?.map((p) => p.name)).toEqual(['batch_id', 'manifest_path']);
    expect(job.max_concurrent_runs).toBe(1);
    expect(job.queue).toEqual({ enabled: true });
    expect(job.email_notifications?.on_failure?.length).toBeGreaterThan(0);
    expect(bundle.variables).toHaveProperty('catalog');
    expect(bundle.variables).toHaveProperty('schema');
  });

  it('runs bronze, then silver (parse + shared silver SQL), then gold (shared gold SQL)', () => {
    const tasks = jobs.orders_lakehouse.tasks;
    expect(tasks.map((t) => [t.task_key, t.depends_on?.map((d) => d.task_key) ?? []])).toEqual([
      ['bronze', []],
      ['silver', ['bronze']],
      ['gold', ['silver']],
    ]);
    expect(tasks.map(sqlFilesOf)).toEqual([
      [],
      ['../sql/databricks/parse.sql', '../sql/silver.sql'],
      ['../sql/gold.sql'],
    ]);
    expect(sqlFilesOf(jobs.orders_lakehouse_setup.tasks[0])).toEqual([
      '../sql/tables.sql',
      '../sql/databricks/clustering.sql',
    ]);
  });

  it('references Python and SQL files that exist, on serverless environments it declares', () => {
    for (const job of Object.values(jobs)) {
      const environments = job.environments?.map((e) => e.environment_key) ?? [];
      for (const task of job.tasks) {
        expect(environments).toContain(task.environment_key);
        const script = path.join(BUNDLE, task.spark_python_task.python_file);
        expect(fs.existsSync(script)).toBe(true);
        for (const sql of sqlFilesOf(task))
          expect(fs.existsSync(path.resolve(path.dirname(script), sql))).toBe(true);
      }
    }
  });

  it('keeps parameter markers out of views and functions (Databricks Runtime 17.3 and earlier reject them)', () => {
    const files = Object.values(jobs).flatMap((job) =>
      job.tasks.flatMap((task) =>
        sqlFilesOf(task).map((sql) =>
          path.resolve(path.dirname(path.join(BUNDLE, task.spark_python_task.python_file)), sql),
        ),
      ),
    );
    for (const file of new Set(files)) {
      for (const statement of splitSqlStatements(fs.readFileSync(file, 'utf8'))) {
        const ddl = /^\s*(--.*\n\s*)*CREATE (OR REPLACE )?(TEMPORARY )?(VIEW|FUNCTION)\b/i.test(
          statement.text,
        );
        if (ddl) expect({ file, parameters: statement.parameters }).toEqual({ file, parameters: [] });
      }
    }
    // parse.sql reads batch_rows, which the runner registers with the batch id bound.
    expect(jobs.orders_lakehouse.tasks[1].spark_python_task.parameters).toContain('--batch-rows');
  });

  it('passes job parameters to the tasks by reference, never a file list', () => {
    for (const task of jobs.orders_lakehouse.tasks) {
      expect(task.spark_python_task.parameters).toContain('--batch-id={{job.parameters.batch_id}}');
    }
    expect(jobs.orders_lakehouse.tasks[0].spark_python_task.parameters).toContain(
      '--manifest-path={{job.parameters.manifest_path}}',
    );
  });

  it('has Python tasks that compile and split SQL files exactly as the DuckDB side does', () => {
    const python = path.join(BUNDLE, 'python');
    execFileSync('python3', [
      '-B',
      '-m',
      'py_compile',
      path.join(python, 'bronze.py'),
      path.join(python, 'run_sql.py'),
    ]);
    const files = [
      'tables.sql',
      'silver.sql',
      'gold.sql',
      'databricks/parse.sql',
      'databricks/clustering.sql',
    ].map((f) => path.join(BUNDLE, 'sql', f));
    const script = `import json, sys
sys.path.insert(0, ${JSON.stringify(python)})
from run_sql import split_statements
print(json.dumps([[list(s) for s in split_statements(open(f).read())] for f in sys.argv[1:]]))`;
    const fromPython = JSON.parse(
      execFileSync('python3', ['-B', '-c', script, ...files], { encoding: 'utf8' }),
    ) as [string, string[]][][];
    const fromTypeScript = files.map((f) =>
      splitSqlStatements(fs.readFileSync(f, 'utf8')).map((s) => [s.text, s.parameters]),
    );
    expect(fromPython).toEqual(fromTypeScript);
  });
});
