import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { SETTINGS } from '../../lib/config';
import { hostPackageJson, packageFiles, writeZip } from '../../lib/deploy/appPackage';
import { DeploymentOutputError, powerBiConnection } from '../../lib/deploy/powerBiConnection';
import { lakehouseJobDefinition } from '../../lib/lakehouse/lakehouseJob';
import { projectRoot } from '../../lib/lakehouse/sqlText';
import { BicepFile } from './bicepText';
import type { FakeFunctionsCore } from '../support/durableHistory';

// The worker's core API, which @azure/functions hands each registration to: the blob triggers'
// connections are read from what the functions register, not from their source text.
jest.mock(
  '@azure/functions-core',
  () =>
    jest
      .requireActual<typeof import('../support/durableHistory')>('../support/durableHistory')
      .fakeFunctionsCore(),
  { virtual: true },
);

const ROOT = projectRoot();
const INFRA = path.join(ROOT, 'infra');
const main = new BicepFile(path.join(INFRA, 'main.bicep'));
const modules = fs
  .readdirSync(path.join(INFRA, 'modules'))
  .map((f) => new BicepFile(path.join(INFRA, 'modules', f)));
const bicepFiles = [main, ...modules];
const functionApp = modules.find((m) => m.file.endsWith('functionApp.bicep'))!;
const moduleFile = (name: string) => modules.find((m) => path.basename(m.file) === name)!;

/** What the Functions host itself reads (not lib/config.ts): monitoring and identity-based host storage. */
const HOST_READS = [
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'AzureWebJobsStorage__queueServiceUri',
  'AzureWebJobsStorage__tableServiceUri',
  // The blob extension's poison-blob queue for the capture trigger's identity-based connection.
  'CaptureStorage__queueServiceUri',
];

/** The outputs the azd hooks read (azd sets each as a variable of the same name): renaming one breaks `azd up`. */
const AZD_OUTPUTS = [
  'functionAppName',
  'functionAppUrl',
  'functionAppHostName',
  'functionAppPrincipalId',
  'resourceGroupName',
  'eventGridSystemTopicName',
  'accessConnectorId',
  'captureUrl',
  'manifestUrl',
  'eventHubNamespace',
  'eventHubName',
  'eventHubsKafkaBootstrap',
  'continuousConsumerGroup',
  'databricksHost',
  'databricksSqlHttpPath',
  'databricksCatalog',
  'databricksSchema',
  'keyVaultName',
];

/**
 * The connection of every blob trigger functions/ registers, as @azure/functions hands it to the
 * host (the functions are imported with the sample settings; nothing runs).
 */
async function blobTriggerConnections(): Promise<{ name: string; connection: string }[]> {
  const saved = { ...process.env };
  const sample = JSON.parse(fs.readFileSync(path.join(ROOT, 'local.settings.sample.json'), 'utf8'))
    .Values as Record<string, string>;
  process.env = { ...saved, ...sample };
  try {
    const dir = path.join(ROOT, 'functions');
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.ts')))
      await import(path.join(dir, file));
  } finally {
    process.env = saved;
  }
  const { registrations } = jest.requireMock<FakeFunctionsCore>('@azure/functions-core');
  return [...registrations.values()].flatMap(({ metadata }) =>
    Object.values(metadata.bindings)
      .filter((b) => b.type === 'blobTrigger' && b.direction === 'in')
      .map((b) => ({ name: metadata.name, connection: String(b.connection) })),
  );
}

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

  // Azure Blob storage trigger, identity-based connections: blobServiceUri and queueServiceUri (the
  // poison-blob queue), with a queue data role for the identity on that account.
  // https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-blob-trigger#identity-based-connections
  it("gives every blob trigger's connection blob and queue endpoints of one account, and a queue data role there", async () => {
    const connections = await blobTriggerConnections();
    expect(connections.map((c) => c.name)).toEqual(functionNames('storageBlob'));
    const storage = moduleFile('storage.bicep');
    const access = moduleFile('functionAccess.bicep');
    const outputs = storage.outputs();
    /** The storage.bicep resource whose `service` endpoint main.bicep sets as `setting`. */
    const accountBehind = (setting: string, service: string) => {
      const output = new RegExp(`^\\s+${setting}: storage\\.outputs\\.(\\w+)$`, 'm').exec(main.text)?.[1];
      const value = outputs.get(output ?? '')?.value ?? '';
      return new RegExp(`^(\\w+)\\.properties\\.primaryEndpoints\\.${service}$`).exec(value)?.[1];
    };
    for (const { connection } of connections) {
      const blob = accountBehind(`${connection}__blobServiceUri`, 'blob');
      const queue = accountBehind(`${connection}__queueServiceUri`, 'queue');
      expect({ connection, blob, queue }).toEqual({ connection, blob: expect.any(String), queue: blob });
      // That account reaches functionAccess.bicep under its name param…
      const nameParam = /^\s+name: (\w+)$/m.exec(storage.declaration(blob!).body)![1];
      const nameOutput = [...outputs].find(([, o]) => o.value === `${blob}.name`)![0];
      expect(main.declaration('functionAccess').body).toMatch(
        new RegExp(`^\\s+${nameParam}: storage\\.outputs\\.${nameOutput}$`, 'm'),
      );
      // …where a queue data role is assigned to the app's identity on the account itself.
      const account = access
        .declarations()
        .find(
          (d) =>
            d.type.startsWith('Microsoft.Storage/storageAccounts@') &&
            d.existing &&
            new RegExp(`^\\s+name: ${nameParam}$`, 'm').test(d.body),
        );
      const queueRoles = access
        .declarations()
        .filter(
          (d) =>
            d.type.startsWith('Microsoft.Authorization/roleAssignments@') &&
            account !== undefined &&
            new RegExp(`^\\s+scope: ${account.symbol}$`, 'm').test(d.body) &&
            /principalId: principalId\b/.test(d.body),
        )
        .flatMap((d) =>
          [...d.body.matchAll(/roleDefinitionId: roleId\(roles\.(storageQueueData\w+)\)/g)].map((m) => m[1]),
        );
      expect({ connection, queueRoles }).toEqual({
        connection,
        queueRoles: expect.arrayContaining(['storageQueueDataContributor']),
      });
    }
  });

  it("addresses the webhook by the app's defaultHostName, never by an azurewebsites.net name", () => {
    for (const file of bicepFiles)
      expect({
        file: path.relative(ROOT, file.file),
        literal: /azurewebsites\.net/i.test(file.text),
      }).toEqual({
        file: path.relative(ROOT, file.file),
        literal: false,
      });
    const eventGrid = moduleFile('eventGrid.bicep');
    const host = /endpointUrl: 'https:\/\/\$\{(\w+)\}\/runtime\/webhooks\/blobs\?/.exec(eventGrid.text)?.[1];
    expect(eventGrid.params().has(host ?? '')).toBe(true);
    const given = new RegExp(`^\\s+${host}: functionApp\\.outputs\\.(\\w+)$`, 'm').exec(
      main.declaration('eventGrid').body,
    )?.[1];
    const site = functionApp.declarations().find((d) => d.type.startsWith('Microsoft.Web/sites@'))!;
    expect(functionApp.outputs().get(given ?? '')?.value).toBe(`${site.symbol}.properties.defaultHostName`);
  });

  // host.json reference (2.x+), applicationInsights.samplingSettings.excludedTypes: "Dependency, Event,
  // Exception, PageView, Request, and Trace"; all of an excluded type is sent, the rest sampled.
  // https://learn.microsoft.com/azure/azure-functions/functions-host-json#applicationinsights
  it('keeps out of sampling every telemetry type an alert counts (a sampled-out heartbeat looks like silence)', () => {
    const TYPE_OF_TABLE: Record<string, string> = {
      requests: 'Request',
      exceptions: 'Exception',
      traces: 'Trace',
      dependencies: 'Dependency',
      customEvents: 'Event',
      pageViews: 'PageView',
    };
    const host = JSON.parse(fs.readFileSync(path.join(ROOT, 'host.json'), 'utf8'));
    const sampling = host.logging.applicationInsights.samplingSettings as {
      isEnabled?: boolean;
      excludedTypes?: string;
    };
    const excluded = (sampling.excludedTypes ?? '').split(';').map((t) => t.trim());
    expect(excluded).toEqual(expect.arrayContaining(['Request', 'Exception']));
    const alerts = moduleFile('alerts.bicep');
    const tables = [...alerts.text.matchAll(/\bquery: '\s*(\w+)/g)].map((m) => m[1]);
    expect(tables.length).toBeGreaterThan(0);
    for (const table of tables) {
      expect({ table, type: TYPE_OF_TABLE[table] }).toEqual({ table, type: expect.any(String) });
      if (sampling.isEnabled !== false)
        expect({ table, excluded: excluded.includes(TYPE_OF_TABLE[table]) }).toEqual({
          table,
          excluded: true,
        });
    }
  });

  it('continuous mode straight from Event Hubs: off by default, its own consumer group, a receiver role for the Access Connector only, on a tier with Kafka', () => {
    expect(main.params().get('continuousFromEventHubs')).toEqual({ type: 'bool', default: 'false' });
    expect(main.params().get('continuousConsumerGroup')).toEqual({ type: 'string', default: "'lakeflow'" });
    const continuous = main.declaration('continuousSource');
    expect(main.text).toMatch(/^module continuousSource '[^']+' = if \(continuousFromEventHubs\) \{$/m);
    expect(continuous.body).toMatch(/^\s+consumerGroupName: continuousConsumerGroup$/m);
    expect(continuous.body).toMatch(/^\s+principalId: databricksAccess\.outputs\.principalId$/m);
    const databricks = moduleFile('databricksAccess.bicep');
    const connector = databricks
      .declarations()
      .find((d) => d.type.startsWith('Microsoft.Databricks/accessConnectors@'))!;
    expect(databricks.outputs().get('principalId')?.value).toBe(`${connector.symbol}.identity.principalId`);

    const source = new BicepFile(path.resolve(INFRA, continuous.type));
    const hub = source
      .declarations()
      .find((d) => d.type.startsWith('Microsoft.EventHub/namespaces/eventhubs@'))!;
    const group = source
      .declarations()
      .find((d) => d.type.startsWith('Microsoft.EventHub/namespaces/eventhubs/consumergroups@'))!;
    expect(group.body).toMatch(new RegExp(`^\\s+parent: ${hub.symbol}$`, 'm'));
    expect(group.body).toMatch(/^\s+name: consumerGroupName$/m);
    // Least privilege: one assignment, a data role to receive, on this hub only.
    const assignments = source
      .declarations()
      .filter((d) => d.type.startsWith('Microsoft.Authorization/roleAssignments@'));
    expect(
      assignments.map((a) => [
        /^\s+scope: (\w+)$/m.exec(a.body)?.[1],
        /roleId\(roles\.(\w+)\)/.exec(a.body)?.[1],
      ]),
    ).toEqual([[hub.symbol, 'eventHubsDataReceiver']]);

    // Event Hubs for Kafka needs Standard or higher (not Basic):
    // https://learn.microsoft.com/azure/event-hubs/azure-event-hubs-kafka-overview
    const eventHubs = moduleFile('eventHubs.bicep');
    expect(/sku: \{ name: '(\w+)'/.exec(eventHubs.text)?.[1]).toMatch(/^(Standard|Premium)$/);
    // The bootstrap host is the namespace's own endpoint (other clouds, other domains), port 9093.
    expect(eventHubs.outputs().get('kafkaBootstrap')?.value).toBe(
      "'${split(split(namespace.properties.serviceBusEndpoint, '/')[2], ':')[0]}:9093'",
    );
    for (const file of bicepFiles) expect(file.text).not.toMatch(/windows\.net/);
    expect(main.outputs().get('eventHubsKafkaBootstrap')?.value).toBe('eventHubs.outputs.kafkaBootstrap');
  });

  it('derives every resource name from namePrefix through one lowercase alphanumeric prefix that fits', () => {
    // namePrefix may be the azd environment name: up to 64 characters, capitals, - _ . ( ).
    expect(Number(main.paramDecorator('namePrefix', 'maxLength'))).toBeGreaterThanOrEqual(64);
    const clean = /^var cleanPrefix = [\s\S]*?^\)$/m.exec(main.code)?.[0] ?? '';
    expect(clean).toMatch(/\bnamePrefix\b/);
    const elsewhere = main.code.replace(clean, '').replace(/^param namePrefix .*$/m, '');
    expect(elsewhere.match(/\bnamePrefix\b/g)).toBeNull();
    // Only lowercase letters and digits are kept; a first letter is guaranteed (Event Hubs namespaces).
    expect(main.text).toMatch(/^var nameLetters = 'abcdefghijklmnopqrstuvwxyz'$/m);
    expect(main.text).toMatch(/^var nameChars = '\$\{nameLetters\}0123456789'$/m);
    expect(clean).toMatch(/contains\(nameChars, toLower\(substring\(namePrefix, i, 1\)\)\)/);
    const prefix = /^var prefix = take\((.*), (\d+)\)$/m.exec(main.text);
    expect(prefix?.[1]).toBe(
      "!empty(cleanPrefix) && contains(nameLetters, take(cleanPrefix, 1)) ? cleanPrefix : 'o${cleanPrefix}'",
    );
    expect(Number(prefix?.[2])).toBeLessThanOrEqual(11);
    // Storage accounts: 3-24 lowercase letters and digits, cut to 24 after the unique suffix.
    const accounts = [
      ...main.text.matchAll(/^var (\w+AccountName) = take\('\$\{prefix\}([a-z0-9]+)\$\{suffix\}', 24\)$/gm),
    ];
    expect(accounts.map((m) => m[1]).sort()).toEqual(['captureAccountName', 'hostAccountName']);
    expect(main.text).toMatch(/^var suffix = uniqueString\(resourceGroup\(\)\.id\)$/m);
  });

  it('produces every output the azd hooks read, with names distinct ignoring case (azd matches them so)', () => {
    const outputs = main.outputs();
    for (const name of AZD_OUTPUTS)
      expect({ name, declared: outputs.has(name) }).toEqual({ name, declared: true });
    const upper = [...outputs.keys()].map((n) => n.toUpperCase());
    expect(upper.filter((n, i) => upper.indexOf(n) !== i)).toEqual([]);
    expect(outputs.get('resourceGroupName')?.value).toBe('resourceGroup().name');
    expect(outputs.get('functionAppHostName')?.value).toBe('functionApp.outputs.defaultHostName');
    expect(outputs.get('functionAppUrl')?.value).toBe("'https://${functionApp.outputs.defaultHostName}'");
    expect(outputs.get('eventGridSystemTopicName')?.value).toBe('eventGrid.outputs.topicName');
    expect(outputs.get('keyVaultName')?.value).toBe('keyVaultName');
  });

  it('main.bicepparam reads from the environment only params main.bicep declares, as their types', () => {
    const paramFile = fs.readFileSync(path.join(INFRA, 'main.bicepparam'), 'utf8');
    expect(paramFile).toMatch(/^using 'main\.bicep'$/m);
    const declared = main.params();
    for (const [, name] of paramFile.matchAll(/^param (\w+) =/gm))
      expect({ name, declared: declared.has(name) }).toEqual({ name, declared: true });
    const reads = [
      ...paramFile.matchAll(
        /^param (\w+) = (?:(bool|int)\()?readEnvironmentVariable\('(\w+)', '([^']*)'\)\)?$/gm,
      ),
    ].map(([, param, conversion, variable, fallback]) => ({ param, conversion, variable, fallback }));
    // Every call is one of these lines: none hidden in a var or an expression.
    expect(paramFile.match(/readEnvironmentVariable\(/g)).toHaveLength(reads.length);
    for (const { param, conversion, variable } of reads) {
      const type = declared.get(param)?.type;
      expect({ variable, param, type, conversion }).toEqual({
        variable,
        param,
        type: expect.any(String),
        conversion: type === 'string' ? undefined : type,
      });
    }
    expect(Object.fromEntries(reads.map((r) => [r.variable, [r.param, r.fallback]]))).toMatchObject({
      AZURE_ENV_NAME: ['namePrefix', defaultOf(main, 'namePrefix')],
      CREATE_EVENT_GRID_SUBSCRIPTION: [
        'createEventGridSubscription',
        defaultOf(main, 'createEventGridSubscription'),
      ],
      ALERT_EMAIL: ['alertEmail', defaultOf(main, 'alertEmail')],
      KEY_VAULT_NAME: ['keyVaultName', defaultOf(main, 'keyVaultName')],
      CONTINUOUS_FROM_EVENT_HUBS: ['continuousFromEventHubs', defaultOf(main, 'continuousFromEventHubs')],
      DATABRICKS_HOST: ['databricksHost', ''],
    });
  });

  it('says the PAT fallback vault must use Azure RBAC (its role does nothing on an access-policy vault)', () => {
    for (const file of [main, moduleFile('functionAccess.bicep')])
      expect(file.paramDecorator('keyVaultName', 'description')).toMatch(/enableRbacAuthorization: true/);
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
    // The timer logs its report as one JSON line, `event` first: itself, or through publishReport.
    const timer = fs.readFileSync(path.join(ROOT, 'functions', 'backlogTimer.ts'), 'utf8');
    const publisher = path.join(ROOT, 'lib', 'operate', 'reportStore.ts');
    expect(timer).toMatch(/context\.log\(JSON\.stringify\(/);
    expect([timer, fs.existsSync(publisher) ? fs.readFileSync(publisher, 'utf8') : ''].join('\n')).toContain(
      "{ event: 'backlog', ...report }",
    );
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
    targets: Record<string, { resources?: { jobs?: Record<string, { parameters?: { name: string }[] }> } }>;
  };

  it('on the job parameters the orchestration sends and the catalog and schema it reads', () => {
    const parameters = bundle.targets.prod.resources!.jobs!.orders_lakehouse.parameters?.map((p) => p.name);
    expect(Object.keys(lakehouseJobDefinition(1).parameters)).toEqual(parameters);
    expect(bundle.variables.catalog.default).toBe(SETTINGS.DATABRICKS_CATALOG.default);
    expect(bundle.variables.schema.default).toBe(SETTINGS.DATABRICKS_SCHEMA.default);
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
