import { LocalPipeline } from '../lib/pipeline/localPipeline';
import { captureStoreForConnection } from '../lib/storage/captureStore';
import { useAzurite } from './azurite';
import { line } from './lakehouseFixtures';
import { CaptureWriter, eventually, ledgerRows, pipelineConfig } from './pipelineFixtures';

jest.setTimeout(60_000);

describe('local pipeline on Azurite + local Jobs API + DuckDB', () => {
  const azurite = useAzurite();

  it('processes N files exactly once', async () => {
    const config = pipelineConfig(azurite().connectionString);
    const logs: Record<string, unknown>[] = [];
    const pipeline = await LocalPipeline.open({ config, log: (e) => logs.push(e), watchIntervalMs: 200 });
    try {
      const writer = new CaptureWriter(
        captureStoreForConnection(config.CaptureStorage, config.CAPTURE_CONTAINER),
      );
      const paths: string[] = [];
      for (let i = 0; i < 6; i++) {
        paths.push(
          await writer.write(
            [
              {
                op: 'c',
                ts_ms: 1,
                source: { db: 'shop', table: 'order_lines', lsn: i + 1 },
                before: null,
                after: line({ ProductNo: `P${i}` }),
              },
            ],
            String(i % 2),
          ),
        );
      }
      const rows = await eventually('all files succeeded', async () => {
        const rows = await ledgerRows(pipeline.ports.ledger);
        return rows.length === 6 && rows.every((r) => r.state === 'succeeded') && rows;
      });
      expect(rows.map((r) => r.path)).toEqual([...paths].sort());
      const lakehouse = pipeline.lakehouse!;
      expect(await lakehouse.rows('SELECT count(*) AS n FROM bronze_order_events')).toEqual([{ n: '6' }]);
    } finally {
      await pipeline.close();
    }
    console.log(logs);
  });
});
