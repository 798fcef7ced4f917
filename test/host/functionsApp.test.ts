import fs from 'node:fs';
import path from 'node:path';
import { FileRef } from '../../lib/pipeline/pipelineDecision';
import { useAzurite } from '../support/azurite';
import { CaptureWriter, cdcChange } from '../support/pipelineFixtures';
import { captureBytes } from '../lakehouse/lakehouseFixtures';
import { captureStoreForConnection } from '../../lib/storage/captureStore';
import { REPO_ROOT } from '../support/paths';

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
  });
});
