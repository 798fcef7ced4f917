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
  name: string;
  run_as?: unknown;
  max_concurrent_runs?: number;
  queue?: { enabled: boolean };
  parameters?: { name: string }[];
  email_notifications?: { on_failure?: string[] };
  environments?: { environment_key: string; spec?: Record<string, unknown> }[];
  tasks: Task[];
}
interface Pipeline {
  name: string;
  catalog: string;
  schema: string;
}
interface Schema {
  name: string;
  catalog_name: string;
}
interface Resources {
  jobs?: Record<string, Job>;
  pipelines?: Record<string, Pipeline>;
  schemas?: Record<string, Schema>;
}
interface Target {
  mode?: string;
  default?: boolean;
  workspace?: { host?: string; root_path?: string };
  resources?: Resources;
}

const bundle = parse(fs.readFileSync(path.join(BUNDLE, 'databricks.yml'), 'utf8')) as {
  bundle: { name: string; databricks_cli_version?: string };
  variables: Record<string, { default?: string }>;
  resources?: Resources;
  targets: Record<string, Target>;
};

/**
 * Merges a target's mapping into the top-level one as the CLI does (MergeTargetOverrides in
 * bundle/config/root.go of github.com/databricks/cli): maps key by key, sequences appended, the
 * target's scalars winning.
 */
function merged(base: unknown, override: unknown): unknown {
  if (override === undefined) return base;
  if (Array.isArray(base) && Array.isArray(override)) return [...(base as unknown[]), ...override];
  if (base && override && typeof base === 'object' && typeof override === 'object') {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [key, value] of Object.entries(override)) out[key] = merged(out[key], value);
    return out;
  }
  return override;
}

/** What `databricks bundle deploy -t <target>` deploys: the top-level resources with the target's. */
function resourcesOf(target: string): Resources {
  return merged(bundle.resources ?? {}, bundle.targets[target].resources ?? {}) as Resources;
}

const jobs = resourcesOf('prod').jobs ?? {};

function sqlFilesOf(task: Task): string[] {
  return task.spark_python_task.parameters.filter((p) => p.endsWith('.sql'));
}

/** The highest version among `x.y.z` strings. */
function maxVersion(versions: string[]): string {
  const key = (v: string) => v.split('.').map(Number);
  return versions.reduce((a, b) => {
    const [x, y] = [key(a), key(b)];
    for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] > y[i] ? a : b;
    return a;
  }, '0.0.0');
}

/** Every key anywhere in a parsed YAML value, with its value. */
function entries(value: unknown): [string, unknown][] {
  if (Array.isArray(value)) return value.flatMap(entries);
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => [[k, v] as [string, unknown], ...entries(v)]);
  return [];
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
    for (const target of Object.keys(bundle.targets))
      for (const job of Object.values(resourcesOf(target).jobs ?? {})) {
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

describe('Databricks bundle targets', () => {
  it('deploys the two jobs with prod (and dev), and only the pipeline and its schema with continuous', () => {
    // Nothing at the top level: a target merges it into its own resources, so it would go everywhere.
    expect(bundle.resources).toBeUndefined();
    const kinds = (target: string) =>
      Object.fromEntries(
        Object.entries(resourcesOf(target)).map(([kind, byKey]) => [kind, Object.keys(byKey ?? {})]),
      );
    expect(kinds('prod')).toEqual({ jobs: ['orders_lakehouse', 'orders_lakehouse_setup'] });
    expect(kinds('dev')).toEqual(kinds('prod'));
    expect(resourcesOf('dev').jobs).toEqual(resourcesOf('prod').jobs);
    expect(kinds('continuous')).toEqual({ schemas: ['orders_continuous'], pipelines: ['orders_continuous'] });
    expect(
      Object.values(resourcesOf('continuous').jobs ?? {}).filter((job) => job.name === 'orders-lakehouse'),
    ).toEqual([]);
    expect(Object.keys(bundle.targets).filter((t) => bundle.targets[t].default)).toEqual(['dev']);
  });

  // The CLI refuses `deploy` of a production target without workspace.root_path set in that target
  // unless a service principal deploys or every job sets run_as (validateProductionMode in
  // bundle/config/mutator/resourcemutator/validate_target_mode.go); the guide deploys as a user.
  it('gives every production target its own root path', () => {
    const production = Object.entries(bundle.targets).filter(([, t]) => t.mode === 'production');
    expect(production.map(([name]) => name)).toEqual(['prod', 'continuous']);
    for (const [name, target] of production) {
      const jobsOf = Object.values(resourcesOf(name).jobs ?? {});
      const runAsEverywhere = jobsOf.length > 0 && jobsOf.every((job) => job.run_as !== undefined);
      expect({ name, rootPath: Boolean(target.workspace?.root_path) || runAsEverywhere }).toEqual({
        name,
        rootPath: true,
      });
    }
    // One copy per target: the paths differ once ${bundle.target} is the target's name.
    const roots = production.map(([name, t]) =>
      (t.workspace?.root_path ?? '').replace('${bundle.target}', name),
    );
    expect(new Set(roots).size).toBe(roots.length);
    for (const root of roots)
      expect(root).toMatch(/^\/Workspace\/Users\/\$\{workspace\.current_user\.userName\}\//);
  });

  // Targets without their own workspace.host deploy wherever the profile points: the same workspace.
  it('never has two targets of one workspace deploy a same-named resource that writes to the same schema', () => {
    const written: { target: string; name: string; schema: string }[] = [];
    for (const [target, settings] of Object.entries(bundle.targets)) {
      const resources = resourcesOf(target);
      // Development mode prefixes every resource name with [dev <user>] (deployment modes docs:
      // https://docs.databricks.com/aws/en/dev-tools/bundles/deployment-modes).
      const named = (name: string) => (settings.mode === 'development' ? `[dev] ${name}` : name);
      for (const job of Object.values(resources.jobs ?? {})) {
        const parameters = job.tasks.flatMap((t) => t.spark_python_task.parameters);
        const catalog = parameters.find((p) => p.startsWith('--catalog='))?.slice('--catalog='.length);
        for (const p of new Set(parameters.filter((p) => p.startsWith('--schema='))))
          written.push({
            target,
            name: named(job.name),
            schema: `${catalog}.${p.slice('--schema='.length)}`,
          });
      }
      const schemas = resources.schemas ?? {};
      for (const schema of Object.values(schemas))
        written.push({ target, name: named(schema.name), schema: `${schema.catalog_name}.${schema.name}` });
      for (const pipeline of Object.values(resources.pipelines ?? {})) {
        const ref = /^\$\{resources\.schemas\.(\w+)\.name\}$/.exec(pipeline.schema)?.[1];
        const schema = ref ? schemas[ref].name : pipeline.schema;
        written.push({ target, name: named(pipeline.name), schema: `${pipeline.catalog}.${schema}` });
      }
    }
    const workspaceOf = (target: string) => bundle.targets[target].workspace?.host ?? '';
    const clashes = written.filter((a, i) =>
      written.some(
        (b, j) =>
          j < i &&
          a.target !== b.target &&
          workspaceOf(a.target) === workspaceOf(b.target) &&
          a.name === b.name &&
          a.schema === b.schema,
      ),
    );
    expect(written.length).toBeGreaterThan(0);
    expect(clashes).toEqual([]);
    // The continuous pipeline publishes beside the job's schema, never into it.
    const pipelineSchema = written.find((w) => w.target === 'continuous' && w.name === 'orders-continuous');
    expect(pipelineSchema?.schema).toBe('${var.catalog}.${var.schema}_continuous');
  });

  // Keys newer than the CLI that deploys are refused or dropped, so the bundle states its floor:
  // each key's first CLI release is the first tag whose bundle/schema/jsonschema.json has it
  // (github.com/databricks/cli): performance_target v0.241.0, environment_version v0.252.0.
  it('states the CLI floor of the keys it uses, and uses environment_version rather than the deprecated client', () => {
    const FLOORS: Record<string, string> = { performance_target: '0.241.0', environment_version: '0.252.0' };
    const used = entries(bundle)
      .map(([key]) => key)
      .filter((key) => key in FLOORS);
    expect(used).toEqual(expect.arrayContaining(['performance_target', 'environment_version']));
    const constraint = bundle.bundle.databricks_cli_version ?? '';
    // The syntax the CLI accepts (bundle/config/mutator/verify_cli_version.go): >= x.y.z
    const floor = /^>=\s*(\d+\.\d+\.\d+)$/.exec(constraint)?.[1];
    expect({ constraint, floor: floor ?? null }).toEqual({ constraint, floor: expect.any(String) });
    const needed = maxVersion(used.map((key) => FLOORS[key]));
    expect(maxVersion([floor!, needed])).toBe(floor);

    const specs = Object.keys(bundle.targets).flatMap((target) =>
      Object.values(resourcesOf(target).jobs ?? {}).flatMap(
        (job) => job.environments?.map((e) => e.spec) ?? [],
      ),
    );
    expect(specs.length).toBeGreaterThan(0);
    for (const spec of specs) {
      expect(spec).not.toHaveProperty('client');
      // Serverless environment versions the docs list (Python 3.11+ and Databricks Connect 15.4+,
      // which bronze.py and run_sql.py need: named parameter markers, F.nullif):
      // https://docs.databricks.com/aws/en/release-notes/serverless/environment-version/
      expect(['2', '3', '4', '5']).toContain(spec?.environment_version);
    }
    expect(entries(bundle).filter(([key]) => key === 'client')).toEqual([]);
  });
});
