import fs from 'node:fs';
import path from 'node:path';
import { FileRef } from '../../lib/pipeline/pipelineDecision';
import { useAzurite } from '../support/azurite';
import { CaptureWriter, cdcChange } from '../support/pipelineFixtures';
import { captureBytes } from '../lakehouse/lakehouseFixtures';
import { captureStoreForConnection } from '../../lib/storage/captureStore';
import { REPO_ROOT } from '../support/paths';
import { FakeFunctionsCore, FunctionMetadata } from '../support/durableHistory';

// The worker's core API, which @azure/functions hands each registration to (see durableHistory.ts).
jest.mock(
  '@azure/functions-core',
  () =>
    jest
      .requireActual<typeof import('../support/durableHistory')>('../support/durableHistory')
      .fakeFunctionsCore(),
  { virtual: true },
);

const sample = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'local.settings.sample.json'), 'utf8'))
  .Values as Record<string, string>;

describe('Functions app', () => {
  const azurite = useAzurite();
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    jest.resetModules();
  });

  function useSettings(overrides: Record<string, string> = {}) {
    process.env = {
      ...saved,
      ...sample,
      AzureWebJobsStorage: azurite().connectionString,
      CaptureStorage: azurite().connectionString,
      CAPTURE_CONTAINER: 'fncapture',
      LEDGER_TABLE: `fnledger${Date.now()}`,
      ...overrides,
    };
  }

  it('the capture trigger records a blob the host hands over, once, and signals the orchestration', async () => {
    useSettings();
    const { onCaptureBlob } = await import('../../lib/host/functionsRuntime');
    const store = captureStoreForConnection({ connectionString: azurite().connectionString }, 'fncapture');
    const blobPath = await new CaptureWriter(store).write([cdcChange(1, 'A'), cdcChange(2, 'B')]);
    const content = await captureBytes([cdcChange(1, 'A'), cdcChange(2, 'B')]);
    const metadata = {
      blobTrigger: `fncapture/${blobPath}`,
      uri: store.fileUrl(blobPath),
      properties: { createdOn: '2026-11-24T09:01:00Z' },
    };
    const signals: FileRef[] = [];
    const signal = async (file: FileRef) => {
      signals.push(file);
    };
    expect(await onCaptureBlob(content, metadata, signal)).toEqual({ path: blobPath, outcome: 'recorded' });
    expect(await onCaptureBlob(content, metadata, signal)).toEqual({ path: blobPath, outcome: 'known' });
    expect(signals).toHaveLength(2);
    expect(signals[0]).toMatchObject({
      path: blobPath,
      url: store.fileUrl(blobPath),
      records: 2,
      bytes: content.length,
    });
    await expect(
      onCaptureBlob(content, { ...metadata, blobTrigger: `elsewhere/${blobPath}` }, signal),
    ).rejects.toThrow(/is not in the capture container fncapture/);
  });

  it('refuses DATABRICKS_HOST=embedded, naming the setting', async () => {
    useSettings({ DATABRICKS_HOST: 'embedded' });
    const { functionsConfig } = await import('../../lib/host/functionsRuntime');
    expect(() => functionsConfig()).toThrow(/DATABRICKS_HOST "embedded" is for the CLI only/);
  });

  it('answers the gold API with 503 and the setting to set when no SQL warehouse is configured', async () => {
    useSettings({ DATABRICKS_HOST: 'https://adb-1.azuredatabricks.net', DATABRICKS_SQL_HTTP_PATH: '' });
    const { functionsGold } = await import('../../lib/host/functionsRuntime');
    const answer = await functionsGold();
    expect(answer.status).toBe(503);
    expect(answer.body).toEqual({ error: expect.stringContaining('set DATABRICKS_SQL_HTTP_PATH') });
  });

  it('registers its functions from the built entry points without touching the network', async () => {
    useSettings();
    const dist = path.join(REPO_ROOT, 'dist', 'functions');
    const files = fs.readdirSync(dist).filter((f) => f.endsWith('.js'));
    expect(files.sort()).toEqual([
      'backlogTimer.js',
      'captureTrigger.js',
      'dashboard.js',
      'gold.js',
      'pipelineAction.js',
      'pipelineOrchestrator.js',
      'publishOrders.js',
      'status.js',
    ]);
    for (const file of files) await expect(import(path.join(dist, file))).resolves.toBeDefined();
    const { registrations } = jest.requireMock<FakeFunctionsCore>('@azure/functions-core');
    expect([...registrations.keys()].sort()).toEqual(files.map((f) => f.replace(/\.js$/, '')));
  });

  it('registers every function in functions/ with the trigger and bindings @azure/functions records', async () => {
    useSettings({ BACKLOG_INTERVAL_MINUTES: '15' });
    const dir = path.join(REPO_ROOT, 'functions');
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.ts')))
      await import(path.join(dir, file));
    const { registrations } = jest.requireMock<FakeFunctionsCore>('@azure/functions-core');
    const registered = Object.fromEntries(
      [...registrations].map(([name, { metadata }]) => [name, bindingsOf(metadata)]),
    );
    const http = (methods: string[], route: string) => ({
      trigger: { type: 'httpTrigger', direction: 'in', authLevel: 'function', methods, route },
      inputs: [],
      outputs: ['http'],
    });
    expect(registered).toEqual({
      captureTrigger: {
        trigger: {
          type: 'blobTrigger',
          direction: 'in',
          path: 'fncapture/{name}',
          connection: 'CaptureStorage',
          source: 'EventGrid',
        },
        inputs: ['durableClient'],
        outputs: [],
      },
      pipelineOrchestrator: {
        trigger: { type: 'orchestrationTrigger', direction: 'in' },
        inputs: [],
        outputs: [],
      },
      pipelineAction: { trigger: { type: 'activityTrigger', direction: 'in' }, inputs: [], outputs: [] },
      backlogTimer: {
        trigger: { type: 'timerTrigger', direction: 'in', schedule: '0 */15 * * * *' },
        inputs: ['durableClient'],
        outputs: [],
      },
      publishOrders: http(['POST'], 'orders'),
      status: http(['GET'], 'status'),
      gold: http(['GET'], 'gold'),
      dashboard: http(['GET'], 'dashboard'),
    });
    expect([...registrations.values()].map((r) => r.metadata.retryOptions)).toEqual(Array(8).fill(undefined));
  });
});

/** A registration's trigger (first, as toCoreFunctionMetadata puts it) and its other bindings' types. */
function bindingsOf({ bindings }: FunctionMetadata) {
  const [trigger, ...others] = Object.values(bindings);
  // Binding names are hashes of the binding, and `properties` a flag for SDK-type bindings.
  const settings = Object.fromEntries(
    Object.entries(trigger).filter(([key]) => key !== 'name' && key !== 'properties'),
  );
  return {
    trigger: settings,
    inputs: others.filter((b) => b.direction === 'in').map((b) => b.type),
    outputs: others.filter((b) => b.direction === 'out').map((b) => b.type),
  };
}
