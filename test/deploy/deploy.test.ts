import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { DQ_RULES } from '../../lib/cdc/event';
import { SETTINGS } from '../../lib/config';
import { hostPackageJson, packageFiles, writeZip } from '../../lib/deploy/appPackage';
import { DeploymentOutputError, powerBiConnection } from '../../lib/deploy/powerBiConnection';
import { lakehouseJobDefinition } from '../../lib/lakehouse/lakehouseJob';
import { LocalLakehouse } from '../../lib/lakehouse/localLakehouse';
import { projectRoot, readSqlFile, splitSqlStatements } from '../../lib/lakehouse/sqlText';
import { SparkSQL } from 'dt-sql-parser';
import { BicepFile } from './bicepText';
import { CaptureFolder, change, line } from '../lakehouse/lakehouseFixtures';

const ROOT = projectRoot();
const INFRA = path.join(ROOT, 'infra');
const main = new BicepFile(path.join(INFRA, 'main.bicep'));
const modules = fs
  .readdirSync(path.join(INFRA, 'modules'))
  .map((f) => new BicepFile(path.join(INFRA, 'modules', f)));
const bicepFiles = [main, ...modules];
const functionApp = modules.find((m) => m.file.endsWith('functionApp.bicep'))!;

/** What the Functions host itself reads (not lib/config.ts): monitoring and identity-based host storage. */
const HOST_READS = [
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'AzureWebJobsStorage__queueServiceUri',
  'AzureWebJobsStorage__tableServiceUri',
];

/** The app settings the Bicep sets: main's settings object, the conditional PAT, and the host storage. */
function bicepAppSettings(): string[] {
  const conditional = [...main.text.matchAll(/\{ (\w+): '@Microsoft\.KeyVault/g)].map((m) => m[1]);
  return [
    ...main.keysAfter('var appSettings = union('),
    ...conditional,
    ...functionApp.keysAfter('items(union(appSettings, {'),
  ];
}

function defaultOf(file: BicepFile, param: string): string | undefined {
  return file.params().get(param)?.default?.replace(/^'|'$/g, '');
}

const functionNames = (kind: string) =>
  fs
    .readdirSync(path.join(ROOT, 'functions'))
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) => {
      const text = fs.readFileSync(path.join(ROOT, 'functions', f), 'utf8');
      return [...text.matchAll(new RegExp(`app\\.${kind}\\('(\\w+)'`, 'g'))].map((m) => m[1]);
    });

describe('Bicep (static checks: the compiler cannot run here)', () => {
  it.each(bicepFiles.map((f) => [path.relative(ROOT, f.file), f]))(
    '%s has balanced brackets and its modules and imports exist with the params they are given',
    (_, file) => {
      expect(file.balanced()).toBe(true);
      for (const module of file.modules()) {
        expect(fs.existsSync(module.file)).toBe(true);
        const declared = new BicepFile(module.file).params();
        const required = [...declared].filter(([, p]) => p.default === undefined).map(([name]) => name);
        expect({ module: module.name, unknown: module.params.filter((p) => !declared.has(p)) }).toEqual({
          module: module.name,
          unknown: [],
        });
        expect({ module: module.name, missing: required.filter((p) => !module.params.includes(p)) }).toEqual({
          module: module.name,
          missing: [],
        });
      }
      for (const { names, file: from } of file.imports()) {
        expect(new BicepFile(from).exports()).toEqual(expect.arrayContaining(names));
      }
    },
  );

  it('the structure checks can fail', () => {
    const broken = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bicep-')), 'broken.bicep');
    fs.writeFileSync(
      broken,
      "param a string = '}'\nmodule m 'nope.bicep' = {\n  name: 'm'\n  params: { x: a }\n",
    );
    const file = new BicepFile(broken);
    expect(file.balanced()).toBe(false);
    fs.writeFileSync(
      broken,
      "param a string = '}'\nmodule m 'nope.bicep' = {\n  name: 'm'\n  params: { x: a, y: '{' }\n}\n",
    );
    expect(new BicepFile(broken).balanced()).toBe(true);
    expect(new BicepFile(broken).modules()).toEqual([
      { name: 'm', file: expect.stringMatching(/nope\.bicep$/), params: ['x', 'y'] },
    ]);
  });

  it('sets every setting the app requires, and only settings the app or the host reads', () => {
    const set = bicepAppSettings();
    const reads = Object.entries(SETTINGS).flatMap(([name, s]) => [
      name,
      ...(('alternatives' in s && s.alternatives) || []),
    ]);
    for (const [name, setting] of Object.entries(SETTINGS)) {
      const required = setting.default === undefined && !('optional' in setting && setting.optional);
      const names = [name, ...(('alternatives' in setting && setting.alternatives) || [])];
      if (required)
        expect({ name, setByBicep: names.some((n) => set.includes(n)) }).toEqual({ name, setByBicep: true });
    }
    expect(set.filter((s) => !reads.includes(s) && !HOST_READS.includes(s))).toEqual([]);
    // Flex Consumption sets the runtime in functionAppConfig and rejects these as app settings.
    expect(set).not.toContain('FUNCTIONS_WORKER_RUNTIME');
    expect(set).not.toContain('FUNCTIONS_EXTENSION_VERSION');
  });

  it('agrees with the app on container names, the Capture path layout, Databricks names and the runtime', () => {
    expect(defaultOf(main, 'captureContainerName')).toBe(SETTINGS.CAPTURE_CONTAINER.default);
    expect(defaultOf(main, 'manifestContainerName')).toBe(SETTINGS.MANIFEST_CONTAINER.default);
    expect(defaultOf(main, 'databricksCatalog')).toBe(SETTINGS.DATABRICKS_CATALOG.default);
    expect(defaultOf(main, 'databricksSchema')).toBe(SETTINGS.DATABRICKS_SCHEMA.default);
    expect(defaultOf(main, 'retentionDays')).toBe(SETTINGS.RETENTION_DAYS.default);
    const eventHubs = modules.find((m) => m.file.endsWith('eventHubs.bicep'))!;
    expect(/archiveNameFormat: '([^']+)'/.exec(eventHubs.text)?.[1]).toBe(
      SETTINGS.CAPTURE_PATH_FORMAT.default,
    );
    expect(eventHubs.text).toMatch(/skipEmptyArchives: true/);
    expect(eventHubs.text).toMatch(/encoding: 'Avro'/);
    // Node 22 in Azure; the types the code compiles against are that version's; local work may be older.
    const node = /runtime: \{ name: 'node', version: '(\d+)' \}/.exec(functionApp.text)?.[1];
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(node).toBe('22');
    expect(/\d+/.exec(pkg.devDependencies['@types/node'])?.[0]).toBe(node);
    expect(Number(node)).toBeGreaterThanOrEqual(Number(/\d+/.exec(pkg.engines.node)![0]));
    expect(functionApp.text).toMatch(/sku: \{ name: 'FC1', tier: 'FlexConsumption' \}/);
  });

  it("delivers BlobCreated to the capture trigger's webhook under the name functions/ registers", () => {
    const blobTriggers = functionNames('storageBlob');
    expect(blobTriggers).toHaveLength(1);
    expect(/var captureFunctionName = '(\w+)'/.exec(main.text)?.[1]).toBe(blobTriggers[0]);
    const trigger = fs.readFileSync(path.join(ROOT, 'functions', `${blobTriggers[0]}.ts`), 'utf8');
    const connection = /connection: '(\w+)'/.exec(trigger)![1];
    expect(bicepAppSettings()).toContain(`${connection}__blobServiceUri`);
    expect(trigger).toMatch(/source: 'EventGrid'/);
    const eventGrid = modules.find((m) => m.file.endsWith('eventGrid.bicep'))!;
    expect(eventGrid.text).toContain(
      '/runtime/webhooks/blobs?functionName=Host.Functions.${captureFunctionName}',
    );
    expect(eventGrid.text).toContain('systemKeys.blobs_extension');
    expect(eventGrid.text).toMatch(/values: \['PutBlob', 'PutBlockList', 'FlushWithClose'\]/);
    expect(eventGrid.text).toMatch(/deadLetterWithResourceIdentity/);
    expect(eventGrid.text).toMatch(/retryPolicy/);
  });

  it('grants only the data roles it names, never Owner, Contributor or User Access Administrator', () => {
    const roles = modules.find((m) => m.file.endsWith('roles.bicep'))!;
    const defined = roles.keysAfter('var roles = {');
    const broad = [
      '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
      'b24988ac-6180-42a0-ab88-20f7382dd24c',
      '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9',
    ];
    for (const file of bicepFiles) {
      for (const id of broad) expect(file.text).not.toContain(id);
      for (const [, used] of file.text.matchAll(/\broles\.(\w+)\b(?!')/g)) expect(defined).toContain(used);
      const assignments = file.text.match(/Microsoft\.Authorization\/roleAssignments@/g)?.length ?? 0;
      expect(file.text.match(/principalType: 'ServicePrincipal'/g)?.length ?? 0).toBe(assignments);
    }
    const access = modules.find((m) => m.file.endsWith('functionAccess.bicep'))!;
    // The app reads capture blobs and writes manifests: reader on one container, contributor on the other.
    expect(access.text).toMatch(/scope: captureContainer[\s\S]*?roles\.storageBlobDataReader/);
    expect(access.text).toMatch(/scope: manifestContainer[\s\S]*?roles\.storageBlobDataContributor/);
    expect(access.text).toMatch(/scope: hub[\s\S]*?roles\.eventHubsDataSender/);
  });

  it("alerts on the backlog timer's own log line: its alerts, and its silence", () => {
    const alerts = modules.find((m) => m.file.endsWith('alerts.bicep'))!;
    const timer = fs.readFileSync(path.join(ROOT, 'functions', 'backlogTimer.ts'), 'utf8');
    expect(timer).toContain("context.log(JSON.stringify({ event: 'backlog', ...report }))");
    const line = JSON.stringify({ event: 'backlog', alerts: ['x'] });
    const prefixes = [...alerts.text.matchAll(/message startswith \\'([^\\]+)\\'/g)].map((m) => m[1]);
    expect(prefixes).toHaveLength(2);
    for (const prefix of prefixes) expect(line.startsWith(prefix)).toBe(true);
    expect(fs.readFileSync(path.join(ROOT, 'lib', 'operate', 'backlog.ts'), 'utf8')).toMatch(
      /^\s+alerts: string\[\];/m,
    );
    expect(defaultOf(main, 'backlogIntervalMinutes')).toBe(SETTINGS.BACKLOG_INTERVAL_MINUTES.default);
  });

  it('keeps raw Capture files for the retention period with a lifecycle rule', () => {
    const storage = modules.find((m) => m.file.endsWith('storage.bicep'))!;
    expect(storage.text).toMatch(/daysAfterCreationGreaterThan: retentionDays/);
    expect(storage.text).toMatch(/prefixMatch: \['\$\{captureContainerName\}\/'/);
    expect(storage.text).toMatch(/isHnsEnabled: true/);
    expect(storage.text.match(/allowSharedKeyAccess: false/g)).toHaveLength(2);
  });
});

describe('Databricks bundle and the app agree', () => {
  const bundle = parse(fs.readFileSync(path.join(INFRA, 'databricks', 'databricks.yml'), 'utf8')) as {
    variables: Record<string, { default?: string }>;
    resources: { jobs: Record<string, { parameters?: { name: string }[] }> };
    targets: Record<string, { resources?: { pipelines?: Record<string, Pipeline> } }>;
  };
  interface Pipeline {
    catalog: string;
    schema: string;
    continuous: boolean;
    serverless: boolean;
    configuration: Record<string, string>;
    libraries: { file: { path: string } }[];
  }

  it('on the job parameters the orchestration sends and the catalog and schema it reads', () => {
    const parameters = bundle.resources.jobs.orders_lakehouse.parameters?.map((p) => p.name);
    expect(Object.keys(lakehouseJobDefinition(1).parameters)).toEqual(parameters);
    expect(bundle.variables.catalog.default).toBe(SETTINGS.DATABRICKS_CATALOG.default);
    expect(bundle.variables.schema.default).toBe(SETTINGS.DATABRICKS_SCHEMA.default);
  });

  describe('continuous mode (Lakeflow pipeline)', () => {
    const targets = Object.entries(bundle.targets).filter(([, t]) => t.resources?.pipelines);
    const pipeline = targets[0]?.[1].resources!.pipelines!.orders_continuous;
    const sqlFile = () => path.join(INFRA, 'databricks', pipeline.libraries[0].file.path);
    const statements = () => splitSqlStatements(fs.readFileSync(sqlFile(), 'utf8')).map((s) => s.text);

    it('is off by default: only its own target defines it, in its own schema, continuous on serverless', () => {
      expect(targets.map(([name]) => name)).toEqual(['continuous']);
      expect(
        Object.keys(bundle.targets).find((t) => (bundle.targets[t] as { default?: boolean }).default),
      ).toBe('dev');
      expect(pipeline).toMatchObject({ continuous: true, serverless: true, catalog: '${var.catalog}' });
      expect(pipeline.schema).not.toBe('${var.schema}');
      expect(pipeline.configuration).toEqual({
        capture_path: '${var.capture_path}',
        sql_root: '${workspace.file_path}/sql',
      });
      for (const library of pipeline.libraries)
        expect(fs.existsSync(path.join(INFRA, 'databricks', library.file.path))).toBe(true);
    });

    it('reads Capture with Auto Loader and applies changes with AUTO CDC keyed and sequenced like the job', () => {
      const text = statements().join('\n');
      expect(text).toMatch(/FROM STREAM read_files\('\$\{capture_path\}', format => 'avro'\)/);
      expect(text).toMatch(
        /AUTO CDC INTO silver_order_lines[\s\S]*FROM STREAM\(order_events_valid\)[\s\S]*KEYS \(transaction_no, product_no\)[\s\S]*APPLY AS DELETE WHEN deleted[\s\S]*SEQUENCE BY _rank[\s\S]*STORED AS SCD TYPE 1/,
      );
    });

    it('takes the parse and the rules from the shared SQL, as expectations named like the rules, quarantining the rest', () => {
      const script = `import json, runpy, sys, types
sql_root, source = sys.argv[1], sys.argv[2]
class Conf:
    def get(self, key):
        assert key == "sql_root", key
        return sql_root
class Spark:
    conf = Conf()
    def sql(self, text):
        return text
class Builder:
    def getOrCreate(self):
        return Spark()
pyspark, pyspark_sql = types.ModuleType("pyspark"), types.ModuleType("pyspark.sql")
pyspark_sql.SparkSession = type("SparkSession", (), {"builder": Builder()})
sys.modules.update({"pyspark": pyspark, "pyspark.sql": pyspark_sql})
datasets = []
def dataset(kind):
    def named(name, comment=None):
        def register(fn):
            datasets.append({"kind": kind, "name": name, "expect": getattr(fn, "expect", None), "sql": fn()})
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
runpy.run_path(source)
print(json.dumps(datasets))`;
      const source = pipeline.libraries.map((l) => l.file.path).find((p) => p.endsWith('.py'))!;
      const datasets = JSON.parse(
        execFileSync(
          'python3',
          ['-B', '-c', script, path.join(INFRA, 'databricks', 'sql'), path.join(INFRA, 'databricks', source)],
          { encoding: 'utf8' },
        ),
      ) as { kind: string; name: string; expect: Record<string, string> | null; sql: string }[];
      expect(datasets.map((d) => [d.kind, d.name])).toEqual([
        ['view', 'batch_rows'],
        ['view', 'batch_events'],
        ['view', 'batch_checked'],
        ['table', 'order_events_valid'],
        ['table', 'quarantine_order_events'],
      ]);
      const sql = Object.fromEntries(datasets.map((d) => [d.name, d.sql]));
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
          .map((s) =>
            /^CREATE OR REFRESH MATERIALIZED VIEW (\w+)[\s\S]*?\bAS (SELECT[\s\S]*)$/.exec(
              s.replace(/^\s*(--.*\n\s*)*/, ''),
            ),
          )
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
            change(
              'c',
              4,
              line({ TransactionNo: '7', ProductNo: '3', Date: '2019-12-10', CustomerNo: 12680 }),
            ),
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
});

describe('the deployment package', () => {
  const files = packageFiles(ROOT);

  it('holds what the host needs and nothing local, secret or for development', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { main: string };
    expect(files).toEqual(expect.arrayContaining(['host.json', 'package.json', 'package-lock.json']));
    const entryDir = path.dirname(pkg.main);
    for (const f of fs.readdirSync(path.join(ROOT, 'functions')).filter((f) => f.endsWith('.ts')))
      expect(files).toContain(`${entryDir}/${f.replace(/\.ts$/, '.js')}`);
    for (const f of fs.readdirSync(path.join(INFRA, 'databricks', 'sql', 'kpis')))
      expect(files).toContain(`infra/databricks/sql/kpis/${f}`);
    const forbidden =
      /^(\.local\/|local\.settings\.json$|test\/|bench\/|dist\/bench\/|\.ci\/|node_modules\/|lib\/|functions\/)|\.ts$|\.env/;
    expect(files.filter((f) => forbidden.test(f))).toEqual([]);
  });

  it('is a zip with a host package.json: no build scripts, only the dependencies the functions require', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'app-'));
    const target = path.join(dir, 'app.zip');
    const written = await writeZip(ROOT, files, target, { 'package.json': hostPackageJson(ROOT) });
    expect(written).toEqual({ files: files.length, bytes: fs.statSync(target).size });
    const script = `import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None
print(json.dumps({"names": z.namelist(), "package": json.loads(z.read("package.json")),
  "host": z.read("host.json").decode(), "entries": sorted({(i.date_time, i.external_attr >> 16, i.compress_type,
  len(i.extra)) for i in z.infolist()})}))`;
    const listed = JSON.parse(execFileSync('python3', ['-c', script, target], { encoding: 'utf8' })) as {
      names: string[];
      package: { scripts?: unknown; dependencies: Record<string, string> };
      host: string;
      entries: unknown[];
    };
    expect(listed.names).toEqual(files);
    expect(listed.host).toBe(fs.readFileSync(path.join(ROOT, 'host.json'), 'utf8'));
    // Every entry: 1980-01-01 00:00, rw-r--r-- regular file, deflated, no extra field.
    expect(listed.entries).toEqual([[[1980, 1, 1, 0, 0, 0], 0o100644, 8, 0]]);
    // The same sources give the same bytes.
    const again = path.join(dir, 'again.zip');
    await writeZip(ROOT, files, again, { 'package.json': hostPackageJson(ROOT) });
    expect(fs.readFileSync(again).equals(fs.readFileSync(target))).toBe(true);
    expect(listed.package.scripts).toBeUndefined();
    expect(Object.keys(listed.package.dependencies)).toEqual(
      expect.arrayContaining([
        '@azure/functions',
        'durable-functions',
        '@azure/storage-blob',
        '@databricks/sql',
      ]),
    );
    expect(Object.keys(listed.package.dependencies)).not.toContain('azurite');
    expect(Object.keys(listed.package.dependencies)).not.toContain('@duckdb/node-api');
  });

  it('fails on a file it cannot read, naming it, and leaves no zip behind', async () => {
    const target = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'app-')), 'app.zip');
    await expect(writeZip(ROOT, ['host.json', 'no/such.js'], target)).rejects.toThrow(/ENOENT.*no\/such\.js/);
    expect(fs.existsSync(target)).toBe(false);
  });
});

describe('Power BI connection file', () => {
  const outputs = {
    databricksHost: { type: 'String', value: 'https://adb-1234567890123456.7.azuredatabricks.net' },
    databricksSqlHttpPath: { type: 'String', value: '/sql/1.0/warehouses/abc123def456' },
    databricksCatalog: { type: 'String', value: 'main' },
    databricksSchema: { type: 'String', value: 'orders' },
  };

  it('points Power BI at the SQL warehouse from the deployment outputs, with no credential', () => {
    expect(powerBiConnection(outputs)).toEqual({
      version: '0.1',
      connections: [
        {
          details: {
            protocol: 'azure-databricks',
            address: {
              host: 'adb-1234567890123456.7.azuredatabricks.net',
              path: '/sql/1.0/warehouses/abc123def456',
            },
          },
          options: {},
          mode: 'DirectQuery',
        },
      ],
    });
  });

  it('names the output that is missing or wrong', () => {
    expect(() =>
      powerBiConnection({ ...outputs, databricksSqlHttpPath: { type: 'String', value: '' } }),
    ).toThrow(
      new DeploymentOutputError(
        'databricksSqlHttpPath',
        'is missing or empty (set the matching parameter and deploy again)',
      ),
    );
    expect(() =>
      powerBiConnection({
        ...outputs,
        databricksSqlHttpPath: { type: 'String', value: '/sql/protocolv1/o/1/2' },
      }),
    ).toThrow(/databricksSqlHttpPath is not a SQL warehouse HTTP path/);
  });

  it('names every output main.bicep must produce for it', () => {
    for (const name of Object.keys(outputs))
      expect(main.text).toMatch(new RegExp(`^output ${name} string`, 'm'));
  });
});
