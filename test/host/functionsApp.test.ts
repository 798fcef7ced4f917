import fs from 'node:fs';
import path from 'node:path';
import { FileRef } from '../../lib/pipeline/pipelineDecision';
import { useAzurite } from '../support/azurite';
import { CaptureWriter, cdcChange, idleJobsApi } from '../support/pipelineFixtures';
import { captureBytes } from '../lakehouse/lakehouseFixtures';
import { captureStoreForConnection } from '../../lib/storage/captureStore';
import { storageTableClient } from '../../lib/ledger/ledger';
import { REPO_ROOT } from '../support/paths';
import { FakeFunctionsCore, FunctionCallback, FunctionMetadata } from '../support/durableHistory';
import { FakeDurableExtension } from '../support/durableExtension';
import { HttpRequest, InvocationContext } from '@azure/functions';
import type { PipelineStatus } from '../../lib/operate/status';

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

  it('the backlog timer stores its report and the status function returns it with its age, history and cost', async () => {
    const extension = await FakeDurableExtension.start();
    const jobs = await idleJobsApi('workspace-token', 7);
    try {
      useSettings({
        DATABRICKS_HOST: jobs.url,
        DATABRICKS_TOKEN: 'workspace-token',
        DATABRICKS_JOB_ID: '7',
        BATCH_WAIT_SECONDS: '300',
      });
      for (const name of ['backlogTimer', 'status'])
        await import(path.join(REPO_ROOT, 'functions', `${name}.ts`));
      const { registrations } = jest.requireMock<FakeFunctionsCore>('@azure/functions-core');
      const { onCaptureBlob } = await import('../../lib/host/functionsRuntime');
      const store = captureStoreForConnection({ connectionString: azurite().connectionString }, 'fncapture');
      const blobPath = await new CaptureWriter(store).write([cdcChange(1, 'A')]);
      await onCaptureBlob(
        await captureBytes([cdcChange(1, 'A')]),
        {
          blobTrigger: `fncapture/${blobPath}`,
          uri: store.fileUrl(blobPath),
          properties: { createdOn: new Date().toISOString() },
        },
        async () => undefined,
      );

      const logged: string[] = [];
      const invoke = async (name: string, trigger: unknown) => {
        const { metadata, callback } = registrations.get(name)!;
        const context = invocationContext(name, metadata, extension.clientInput(), (line) =>
          logged.push(line),
        );
        return (callback as FunctionCallback)(trigger, context) as Promise<{
          jsonBody?: PipelineStatus;
        } | void>;
      };
      const status = async () =>
        (await invoke('status', new HttpRequest({ method: 'GET', url: 'http://localhost/api/status' })))!
          .jsonBody!;

      expect((await status()).backlog).toBeNull();
      await invoke('backlogTimer', { isPastDue: false });
      // The watchdog went through durable-functions' own client: no orchestration, so it started one.
      expect(extension.calls).toEqual([
        'GET instances/orders-lakehouse-pipeline',
        'POST orchestrators/pipelineOrchestrator/orders-lakehouse-pipeline',
      ]);
      expect(logged.map((line) => JSON.parse(line).event)).toEqual(['backlog']);

      const first = await status();
      expect(first.backlog).toMatchObject({
        unfinished: { files: 1 },
        runs: { active: 0, queued: 0 },
        watchdog: { status: 'missing', started: true },
      });
      expect(first.backlogAgeSeconds).toBeGreaterThanOrEqual(0);
      expect(first.backlogAgeSeconds).toBeLessThan(60);
      expect(first.backlogHistory).toEqual([{ at: first.backlog!.at, files: 1, bytes: expect.any(Number) }]);
      expect(first.cost?.workload).toMatchObject({ partitions: 4, batchWaitSeconds: 300 });

      await invoke('backlogTimer', { isPastDue: false });
      const second = await status();
      expect(second.backlog!.watchdog).toEqual({ status: 'Running', started: false });
      expect(second.backlogHistory.map((p) => p.files)).toEqual([1, 1]);

      // A row no version can read: the status still answers and says why; the next run replaces it.
      const state = storageTableClient(
        { connectionString: azurite().connectionString },
        `${process.env.LEDGER_TABLE}State`,
      );
      await state.upsertEntity(
        { partitionKey: 'backlog', rowKey: 'report', chunks: 1, json0: '{' },
        'Replace',
      );
      const unreadable = await status();
      expect(unreadable).toMatchObject({ backlog: null, backlogAgeSeconds: null, backlogHistory: [] });
      expect(unreadable.backlogError).toMatch(/backlog report in table \w+State is not valid JSON/);
      await invoke('backlogTimer', { isPastDue: false });
      expect((await status()).backlogHistory).toHaveLength(1);
    } finally {
      await Promise.all([extension.close(), jobs.close()]);
    }
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

/** The context the worker builds for an invocation (InvocationModel.getArguments), its durable client set. */
function invocationContext(
  name: string,
  { bindings }: FunctionMetadata,
  durableClient: unknown,
  log: (line: string) => void,
): InvocationContext {
  const [trigger, ...others] = Object.entries(bindings).map(([key, b]) => ({ ...b, name: key }));
  const extraInputs = others.filter((b) => b.direction === 'in');
  const context = new InvocationContext({
    invocationId: `test-${name}`,
    functionName: name,
    options: { trigger, extraInputs, extraOutputs: [] },
    logHandler: (_level, ...args) => log(args.map(String).join(' ')),
  });
  for (const input of extraInputs)
    if (input.type === 'durableClient') context.extraInputs.set(input.name, durableClient);
  return context;
}

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
