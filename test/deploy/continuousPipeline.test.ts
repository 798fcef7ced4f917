import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { SparkSQL } from 'dt-sql-parser';
import { DQ_RULES } from '../../lib/cdc/event';
import { LocalLakehouse } from '../../lib/lakehouse/localLakehouse';
import { projectRoot, readSqlFile, splitSqlStatements } from '../../lib/lakehouse/sqlText';
import { CaptureFolder, change, line } from '../lakehouse/lakehouseFixtures';

// Continuous mode (the Lakeflow pipeline of the bundle's `continuous` target), checked statically:
// its definitions are run in Python against stand-ins for pyspark and dlt that record what they are
// asked to read and define; Lakeflow itself never runs here.

const BUNDLE = path.join(projectRoot(), 'infra', 'databricks');

interface Pipeline {
  catalog: string;
  schema: string;
  continuous: boolean;
  serverless: boolean;
  configuration: Record<string, string>;
  libraries: { file: { path: string } }[];
}
const bundle = parse(fs.readFileSync(path.join(BUNDLE, 'databricks.yml'), 'utf8')) as {
  variables: Record<string, { default?: string; description?: string }>;
  targets: Record<string, { default?: boolean; resources?: { pipelines?: Record<string, Pipeline> } }>;
};
const pipelineTargets = Object.entries(bundle.targets).filter(([, t]) => t.resources?.pipelines);
const pipeline = pipelineTargets[0]?.[1].resources!.pipelines!.orders_continuous;
const libraries = () => pipeline.libraries.map((l) => path.join(BUNDLE, l.file.path));
const sqlLibraries = () => libraries().filter((f) => f.endsWith('.sql'));
const pythonLibraries = () => libraries().filter((f) => f.endsWith('.py'));
/** The pipeline's SQL statements, leading comments removed. */
const statements = () =>
  sqlLibraries().flatMap((f) =>
    splitSqlStatements(fs.readFileSync(f, 'utf8')).map((s) => s.text.replace(/^\s*(--.*\n\s*)*/, '')),
  );

interface Read {
  format: string;
  options: Record<string, string>;
  path: string | null;
  exprs: string[];
}
interface Dataset {
  kind: string;
  name: string;
  expect: Record<string, string> | null;
  value: { sql?: string; read?: Read };
}

const runs = new Map<string, { datasets?: Dataset[]; error?: string }>();
/**
 * Runs a pipeline Python file with stand-ins for pyspark and dlt and the given pipeline
 * configuration: the datasets it defines, with the SQL or the stream read each one returns (or the
 * ValueError it raises). Memoized: each run starts a Python process.
 */
function runPipelinePython(
  file: string,
  conf: Record<string, string>,
): { datasets?: Dataset[]; error?: string } {
  const key = JSON.stringify([file, conf]);
  if (!runs.has(key)) runs.set(key, runPython(file, conf));
  return runs.get(key)!;
}

function runPython(file: string, conf: Record<string, string>): { datasets?: Dataset[]; error?: string } {
  const script = `import json, runpy, sys, types
source, conf = sys.argv[1], json.loads(sys.argv[2])
class Conf:
    def get(self, key, default=None):
        return conf.get(key, default)
class Reader:
    def __init__(self, fmt):
        self.read = {"format": fmt, "options": {}, "path": None, "exprs": []}
    def option(self, key, value):
        self.read["options"][key] = value
        return self
    def options(self, **kw):
        self.read["options"].update(kw)
        return self
    def load(self, path=None):
        self.read["path"] = path
        return self
    def selectExpr(self, *exprs):
        self.read["exprs"] = list(exprs)
        return {"read": self.read}
class ReadStream:
    def format(self, fmt):
        return Reader(fmt)
class Spark:
    conf = Conf()
    readStream = ReadStream()
    def sql(self, text):
        return {"sql": text}
class Builder:
    def getOrCreate(self):
        return Spark()
pyspark, pyspark_sql = types.ModuleType("pyspark"), types.ModuleType("pyspark.sql")
pyspark_sql.SparkSession = type("SparkSession", (), {"builder": Builder()})
sys.modules.update({"pyspark": pyspark, "pyspark.sql": pyspark_sql})
datasets = []
def dataset(kind):
    def named(name, comment=None, **_):
        def register(fn):
            datasets.append({"kind": kind, "name": name, "expect": getattr(fn, "expect", None), "value": fn()})
            return fn
        return register
    return named
def expect_all_or_drop(rules):
    def mark(fn):
        fn.expect = rules
        return fn
    return mark
dlt = types.ModuleType("dlt")
dlt.view, dlt.table, dlt.expect_all_or_drop = dataset("view"), dataset("table"), expect_all_or_drop
sys.modules["dlt"] = dlt
try:
    runpy.run_path(source)
except ValueError as error:
    print(json.dumps({"error": str(error)}))
else:
    print(json.dumps({"datasets": datasets}))`;
  return JSON.parse(
    execFileSync('python3', ['-B', '-c', script, file, JSON.stringify(conf)], { encoding: 'utf8' }),
  ) as { datasets?: Dataset[]; error?: string };
}

/** The pipeline configuration as deployed with the given variables (the bundle's defaults otherwise). */
function configurationWith(vars: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(pipeline.configuration).map(([key, value]) => [
      key,
      value
        .replace(
          /\$\{var\.(\w+)\}/g,
          (_, name: string) => vars[name] ?? bundle.variables[name]?.default ?? '',
        )
        .replace('${workspace.file_path}', '/Workspace/bundle/files'),
    ]),
  );
}

const SQL_ROOT = path.join(BUNDLE, 'sql');
const EVENT_HUBS = {
  source: 'event_hubs',
  event_hubs_bootstrap: 'ordersehns.servicebus.windows.net:9093',
  event_hub: 'orders',
  consumer_group: 'lakeflow-test',
  event_hubs_credential: 'orders_event_hubs_test',
};

/** The bronze table every source defines, read through the source that `vars` selects. */
function bronzeWith(vars: Record<string, string>): Read {
  const conf = { ...configurationWith(vars), sql_root: SQL_ROOT };
  const defined = pythonLibraries().flatMap((file) => {
    const run = runPipelinePython(file, conf);
    if (run.error) throw new Error(`${path.basename(file)}: ${run.error}`);
    return run.datasets!.filter((d) => d.name === 'bronze_order_events');
  });
  expect(defined.map((d) => d.kind)).toEqual(['table']);
  return defined[0].value.read!;
}

/** Column names of a select list (the alias after AS, or the bare column). */
function selectNames(list: string[]): string[] {
  return list.map((expr) => /(?:\bAS\s+|^)`?(\w+)`?\s*$/i.exec(expr.trim())![1]);
}

/** The columns tables.sql gives a table (the job's own tables). */
function tableColumns(table: string): string[] {
  const create = readSqlFile('databricks/sql/tables.sql').find((s) =>
    new RegExp(`CREATE TABLE IF NOT EXISTS ${table} \\(`).test(s.text),
  )!.text;
  return [...create.matchAll(/^[ \t]+(\w+) [A-Z]/gm)].map((m) => m[1]);
}

/** Splits a select list on its top-level commas. */
function selectList(select: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of select) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      items.push(current.trim());
      current = '';
    } else current += ch;
  }
  return [...items, current.trim()];
}

describe('continuous mode (Lakeflow pipeline)', () => {
  it('is off by default: only its own target defines it, in its own schema, continuous on serverless', () => {
    expect(pipelineTargets.map(([name]) => name)).toEqual(['continuous']);
    expect(Object.keys(bundle.targets).find((t) => bundle.targets[t].default)).toBe('dev');
    expect(pipeline).toMatchObject({ continuous: true, serverless: true, catalog: '${var.catalog}' });
    expect(pipeline.schema).not.toBe('${var.schema}');
    for (const library of libraries()) expect(fs.existsSync(library)).toBe(true);
    expect(pipeline.configuration.sql_root).toBe('${workspace.file_path}/sql');
  });

  it('takes its source from one bundle variable, `source`: capture by default, or event_hubs', () => {
    expect(bundle.variables.source.default).toBe('capture');
    expect(pipeline.configuration).toEqual({
      source: '${var.source}',
      capture_path: '${var.capture_path}',
      kafka_bootstrap_servers: '${var.event_hubs_bootstrap}',
      kafka_topic: '${var.event_hub}',
      kafka_consumer_group: '${var.consumer_group}',
      kafka_service_credential: '${var.event_hubs_credential}',
      sql_root: '${workspace.file_path}/sql',
    });
    // Every variable the pipeline reads exists, with the default the Bicep uses.
    for (const value of Object.values(pipeline.configuration))
      for (const [, name] of value.matchAll(/\$\{var\.(\w+)\}/g))
        expect(bundle.variables).toHaveProperty(name);
    expect(bundle.variables.consumer_group.default).toBe('lakeflow');
    expect(bundle.variables.event_hub.default).toBe('orders');
    // An unknown source fails the pipeline at start, never falls back silently.
    const file = pythonLibraries().find((f) => f.endsWith('bronze_stream.py'))!;
    expect(runPipelinePython(file, { ...configurationWith({ source: 'eventhubs' }) }).error).toMatch(
      /source must be one of capture, event_hubs, not 'eventhubs'/,
    );
  });

  it('source=capture reads the Capture Avro files with Auto Loader', () => {
    const read = bronzeWith({ capture_path: 'abfss://capture@acct.dfs.core.windows.net/' });
    expect(read).toMatchObject({
      format: 'cloudFiles',
      options: { 'cloudFiles.format': 'avro' },
      path: 'abfss://capture@acct.dfs.core.windows.net/',
    });
    expect(read.exprs).toContain('_metadata.file_path AS file_path');
    expect(read.exprs).toContain('SequenceNumber AS sequence_number');
  });

  it('source=event_hubs reads the hub over Kafka with the service credential and the consumer group variable, nothing secret', () => {
    const read = bronzeWith(EVENT_HUBS);
    expect(read.format).toBe('kafka');
    expect(read.path).toBeNull();
    expect(read.options).toEqual({
      'kafka.bootstrap.servers': EVENT_HUBS.event_hubs_bootstrap,
      subscribe: EVENT_HUBS.event_hub,
      'kafka.group.id': EVENT_HUBS.consumer_group,
      'databricks.serviceCredential': EVENT_HUBS.event_hubs_credential,
      startingOffsets: 'earliest',
      failOnDataLoss: 'true',
    });
    // The bootstrap servers are the Bicep's eventHubsKafkaBootstrap: host:9093.
    expect(bundle.variables.event_hubs_bootstrap.description).toMatch(/servicebus\.windows\.net:9093/);
    for (const key of Object.keys(read.options)) expect(key).not.toMatch(/sasl|jaas|password|ssl\.key/i);
    expect(read.exprs).toContain('`offset` AS sequence_number');
    expect(read.exprs).toContain('`timestamp` AS enqueued_time');
    expect(read.exprs).toContain('CAST(`partition` AS STRING) AS partition_id');
  });

  it('feeds both sources into the same bronze columns (the job’s), so the same parse and rules follow', () => {
    const capture = bronzeWith({ capture_path: 'abfss://capture@acct.dfs.core.windows.net/' });
    const eventHubs = bronzeWith(EVENT_HUBS);
    expect(selectNames(capture.exprs)).toEqual(tableColumns('bronze_order_events'));
    expect(selectNames(eventHubs.exprs)).toEqual(selectNames(capture.exprs));
    // The body is kept the same way from either source: only the body column differs.
    const body = (exprs: string[], column: string) =>
      exprs.filter((e) => / AS raw_body(_encoding)?$/.test(e)).map((e) => e.split(column).join('BODY'));
    expect(body(eventHubs.exprs, '`value`')).toEqual(body(capture.exprs, 'Body'));
    // …and the one reader of bronze is the shared parse's input (continuous.py's batch_rows).
    const continuous = runPipelinePython(
      pythonLibraries().find((f) => f.endsWith('continuous.py'))!,
      {
        sql_root: SQL_ROOT,
      },
    ).datasets!;
    expect(continuous.find((d) => d.name === 'batch_rows')?.value.sql).toMatch(
      /FROM STREAM\(bronze_order_events\)/,
    );
    const readers = statements().filter((s) => /\bbronze_order_events\b/.test(s));
    expect(readers).toEqual([]);
  });

  it('holds no literal secret: no key, connection string or SASL password anywhere in the bundle', () => {
    const files = (dir: string): string[] =>
      fs
        .readdirSync(dir, { withFileTypes: true })
        .flatMap((e) =>
          e.isDirectory()
            ? e.name === '__pycache__'
              ? []
              : files(path.join(dir, e.name))
            : [path.join(dir, e.name)],
        );
    for (const file of files(BUNDLE)) {
      const text = fs.readFileSync(file, 'utf8');
      expect({ file, secret: /SharedAccessKey=|sasl\.jaas\.config|Endpoint=sb:\/\//i.test(text) }).toEqual({
        file,
        secret: false,
      });
    }
  });

  // AUTO CDC's source is FROM STREAM(<view>) of a view the pipeline defines:
  // https://docs.databricks.com/aws/en/dlt-ref/dlt-sql-ref-apply-changes-into,
  // https://docs.databricks.com/aws/en/dlt-ref/dlt-sql-ref-create-temporary-view
  it('applies changes with AUTO CDC from STREAM(<view>) of a view it defines, keyed and sequenced like the job', () => {
    const flows = statements().filter((s) => /\bAUTO CDC\b/.test(s));
    expect(flows).toHaveLength(1);
    const flow =
      /^CREATE FLOW \w+ AS AUTO CDC INTO silver_order_lines\s+FROM STREAM\((\w+)\)\s+KEYS \(transaction_no, product_no\)\s+APPLY AS DELETE WHEN deleted\s+SEQUENCE BY _rank\s+COLUMNS \* EXCEPT \(deleted, _rank\)\s+STORED AS SCD TYPE 1$/.exec(
        flows[0],
      );
    expect({ flow: flows[0], source: flow?.[1] ?? null }).toEqual({
      flow: flows[0],
      source: expect.any(String),
    });
    const views = statements()
      .map((s) => /^CREATE TEMPORARY VIEW (\w+)\b[\s\S]*?\bAS (SELECT[\s\S]*)$/.exec(s))
      .filter((m): m is RegExpExecArray => m !== null);
    const view = views.find((m) => m[1] === flow![1]);
    expect(view?.[1]).toBe(flow![1]);
    const select = view![2];
    expect(select).toMatch(/\nFROM STREAM\(order_events_valid\)$/);
    expect(new SparkSQL().validate(select.replace(/STREAM\((\w+)\)/g, '$1')).map((e) => e.message)).toEqual(
      [],
    );
    // The view's columns, less the two the flow leaves out, are silver's columns (tables.sql).
    const columns = selectNames(selectList(/^SELECT([\s\S]*)\nFROM /.exec(select)![1]));
    expect(columns.filter((c) => c !== 'deleted' && c !== '_rank')).toEqual(
      tableColumns('silver_order_lines'),
    );
    expect(select).toMatch(/\bstruct\(lsn, deleted\) AS _rank\b/);
  });

  it('takes the parse and the rules from the shared SQL, as expectations named like the rules, quarantining the rest', () => {
    const source = pythonLibraries().find((f) => f.endsWith('continuous.py'))!;
    const datasets = runPipelinePython(source, { sql_root: SQL_ROOT }).datasets!;
    expect(datasets.map((d) => [d.kind, d.name])).toEqual([
      ['view', 'batch_rows'],
      ['view', 'batch_events'],
      ['view', 'batch_checked'],
      ['table', 'order_events_valid'],
      ['table', 'quarantine_order_events'],
    ]);
    const sql = Object.fromEntries(datasets.map((d) => [d.name, d.value.sql!]));
    const shared = (file: string, view: string) =>
      readSqlFile(file)
        .map((s) => s.text.replace(/^\s*(--.*\n\s*)*/, ''))
        .find((t) => t.startsWith(`CREATE OR REPLACE TEMPORARY VIEW ${view} AS`))!
        .replace(`CREATE OR REPLACE TEMPORARY VIEW ${view} AS`, '')
        .trim();
    // The rules are the job's, word for word; only their input is the pipeline's stream.
    expect(sql.batch_checked).toBe(
      shared('databricks/sql/silver.sql', 'batch_checked').replace(
        'FROM batch_events e',
        'FROM STREAM(batch_events) e',
      ),
    );
    // The parse is the job's with its two temporary functions inlined: the same columns, no markers.
    const aliases = (text: string) => [...text.matchAll(/ AS (\w+),?\n/g)].map((m) => m[1]);
    const parse = shared('databricks/sql/databricks/parse.sql', 'batch_events');
    expect(aliases(sql.batch_events)).toEqual(aliases(parse));
    expect(sql.batch_events).not.toMatch(/json_kind|json_text|:batch_id/);
    expect(sql.batch_events).toMatch(/FROM STREAM\(batch_rows\)$/);
    expect(sql.batch_rows).toMatch(/FROM STREAM\(bronze_order_events\)/);
    const valid = datasets.find((d) => d.name === 'order_events_valid')!;
    expect(Object.entries(valid.expect!)).toEqual(
      DQ_RULES.map((rule) => [rule, `rule IS DISTINCT FROM '${rule}'`]),
    );
    expect(sql.quarantine_order_events).toMatch(/FROM STREAM\(batch_checked\)\s+WHERE rule IS NOT NULL/);
    const spark = new SparkSQL();
    for (const name of ['batch_events', 'batch_checked'])
      expect({
        name,
        errors: spark.validate(sql[name].replace(/STREAM\((\w+)\)/g, '$1')).map((e) => e.message),
      }).toEqual({
        name,
        errors: [],
      });
  });

  it('computes gold as materialized views with the same columns and figures as the job’s incremental gold', async () => {
    const views = new Map(
      statements()
        .map((s) => /^CREATE OR REFRESH MATERIALIZED VIEW (\w+)[\s\S]*?\bAS (SELECT[\s\S]*)$/.exec(s))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1], m[2]]),
    );
    expect([...views.keys()]).toEqual(['gold_daily_sales', 'gold_customer_sales']);
    const lakehouse = await LocalLakehouse.open(':memory:');
    try {
      const folder = new CaptureFolder();
      await lakehouse.ingest([
        await folder.write([
          change('c', 1, line()),
          change('c', 2, line({ ProductNo: '2', Price: 3.5, Quantity: 4, CustomerNo: null })),
          change('c', 3, line({ TransactionNo: 'C9', Quantity: -2, Country: 'France' })),
          change('c', 4, line({ TransactionNo: '7', ProductNo: '3', Date: '2019-12-10', CustomerNo: 12680 })),
        ]),
      ]);
      await lakehouse.ingest([
        await folder.write([
          change('u', 5, line({ Quantity: 20 })),
          change('d', 6, line({ TransactionNo: '7', ProductNo: '3' })),
        ]),
      ]);
      for (const [table, select] of views) {
        const order = table === 'gold_daily_sales' ? 'order_date, country' : 'customer_no';
        const incremental = await lakehouse.rows(`SELECT * FROM ${table} ORDER BY ${order}`);
        expect(incremental.length).toBeGreaterThan(0);
        expect(await lakehouse.rows(`SELECT * FROM (${select}) ORDER BY ${order}`)).toEqual(incremental);
      }
    } finally {
      await lakehouse.close();
    }
  });
});
