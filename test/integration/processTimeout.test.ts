import { healthStore } from '../../lib/host/pipelinePorts';
import { TableLedger } from '../../lib/ledger/ledger';
import { captureStoreForConnection } from '../../lib/storage/captureStore';
import { useAzurite } from '../support/azurite';
import { CaptureWriter, cdcChange, pipelineConfig, pipelineEnv } from '../support/pipelineFixtures';
import { runCli } from '../support/cli';

jest.setTimeout(120_000);

const cli = (args: string[], env: Record<string, string>) => runCli(args, { PATH: process.env.PATH, ...env });

describe('orders-pipeline process against a workspace', () => {
  const azurite = useAzurite();

  it('gives up at --timeout when nothing processes the files, lists them, and exits non-zero', async () => {
    const config = pipelineConfig(azurite().connectionString);
    const store = captureStoreForConnection(config.CaptureStorage, config.CAPTURE_CONTAINER);
    const writer = new CaptureWriter(store);
    const files = [await writer.write([cdcChange(1, 'A')]), await writer.write([cdcChange(2, 'B')], '1')];
    // A workspace whose orchestration is stopped: the files are recorded, and nobody takes them.
    const result = await cli(
      ['process', 'ordersns/orders/', '--timeout', '2s'],
      pipelineEnv(azurite().connectionString, config, {
        DATABRICKS_HOST: 'https://adb-1.2.azuredatabricks.net',
        DATABRICKS_TOKEN: 'not-used',
        DATABRICKS_JOB_ID: '1',
      }),
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/2 of 2 files not finished after 2 s/);
    const summary = JSON.parse(result.stdout) as { pending: number; unfinished: { path: string }[] };
    expect(summary.pending).toBe(2);
    expect(summary.unfinished.map((u) => u.path).sort()).toEqual([...files].sort());
    // It asked a paused orchestration to resume, where the orchestration reads it at its sweep.
    const health = await healthStore(config).read();
    expect(Date.parse(health!.resumeRequestedAt!)).toBeGreaterThan(Date.now() - 60_000);
    // Capture time is each blob's creation, not the moment process found it.
    const ledger = await TableLedger.open(
      config.AzureWebJobsStorage,
      config.LEDGER_TABLE,
      config.CAPTURE_PATH_FORMAT,
    );
    for await (const file of store.list()) {
      expect((await ledger.get(file.path))?.capturedAt).toBe(file.createdAt.toISOString());
    }
  });

  it('refuses a timeout that is not a duration', async () => {
    const result = await cli(['process', 'x/', '--timeout', 'soon'], {});
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/--timeout must be a positive duration such as 90s, 15m or 2h, not "soon"/);
  });
});
