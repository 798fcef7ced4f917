import { useAzurite } from './azurite';
import { PipelineProcess, cdcChange, eventually, pipelineConfig, pipelineEnv } from './pipelineFixtures';

jest.setTimeout(120_000);

describe('the local stack’s HTTP endpoints (orders-pipeline pipeline)', () => {
  const azurite = useAzurite();

  it('publishes orders into Capture, processes them into gold, reports status, serves the dashboard, stops cleanly', async () => {
    const config = pipelineConfig(azurite().connectionString);
    const pipeline = new PipelineProcess(
      pipelineEnv(azurite().connectionString, config, {
        CAPTURE_WINDOW_SECONDS: '1',
        BATCH_WAIT_SECONDS: '1',
      }),
    );
    try {
      const started = await pipeline.started();
      const events = [
        cdcChange(1, 'A', { TransactionNo: '100' }),
        cdcChange(2, 'B', { TransactionNo: '101', Quantity: 0 }),
      ];
      const published = await fetch(started.publish, { method: 'POST', body: JSON.stringify(events) });
      expect(published.status).toBe(400);
      expect(await published.json()).toEqual({
        accepted: [0],
        rejected: [{ index: 1, rule: 'quantity', reason: expect.any(String) }],
      });
      expect(
        (await fetch(started.publish, { method: 'POST', body: JSON.stringify(cdcChange(3, 'C')) })).status,
      ).toBe(200);

      const status = await eventually('both valid events processed', async () => {
        const body = (await (await fetch(started.status)).json()) as {
          files: { succeeded: number };
          records: number;
          latency: { from: string; to: string; files: number; p50Seconds: number }[];
          runs: { recent: unknown[] };
        };
        return body.records === 2 && body.files.succeeded > 0 && body;
      });
      const base = new URL(started.status).origin;
      const gold = await eventually('both valid events in gold', async () => {
        const response = await fetch(`${base}/api/gold`);
        const body = (await response.json()) as {
          engine: string;
          totals: { orders: number };
          topProducts: { productNo: string }[];
        };
        return response.status === 200 && body.topProducts.length === 2 && body;
      });
      expect(gold).toMatchObject({ engine: 'duckdb', totals: { orders: 2 } });
      expect(gold.topProducts.map((p) => p.productNo).sort()).toEqual(['A', 'C']);
      expect(status.runs.recent.length).toBeGreaterThan(0);
      expect(status.latency.find((l) => l.from === 'capturedAt' && l.to === 'runFinishedAt')).toMatchObject({
        files: expect.any(Number),
        p50Seconds: expect.any(Number),
      });

      const dashboard = await fetch(started.dashboard);
      expect(dashboard.headers.get('content-type')).toMatch(/text\/html/);
      const page = await dashboard.text();
      expect(page).toContain("fetch('/api/status' + location.search)");
      expect(page).toContain("fetch('/api/gold?' + query)");
      expect((await fetch(`${base}/api/nope`)).status).toBe(404);
      expect((await fetch(started.status, { method: 'POST' })).status).toBe(405);
      const big = await fetch(started.publish, { method: 'POST', body: 'x'.repeat(1024 * 1024 + 1) });
      expect(big.status).toBe(413);
    } finally {
      expect(await pipeline.stop()).toBe(0);
    }
  });
});
