import { checkDeployment } from '../../lib/operate/deploymentCheck';
import { useAzurite } from '../support/azurite';
import { PipelineProcess, cdcChange, eventually } from '../support/pipelineFixtures';

jest.setTimeout(120_000);

describe('the local stack’s HTTP endpoints (orders-pipeline pipeline)', () => {
  const azurite = useAzurite();

  it('publishes orders into Capture, processes them into gold, reports status, serves the dashboard, stops cleanly', async () => {
    const pipeline = PipelineProcess.quick(azurite().connectionString);
    try {
      const started = await pipeline.started();
      const events = [
        cdcChange(1, 'A', { TransactionNo: '100' }),
        cdcChange(2, 'B', { TransactionNo: '101', Quantity: 0 }),
      ];
      const post = (body: string) =>
        fetch(started.publish, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const published = await post(JSON.stringify(events));
      expect(published.status).toBe(400);
      expect(await published.json()).toEqual({
        accepted: [0],
        rejected: [{ index: 1, rule: 'quantity', reason: expect.any(String) }],
        rejectedCount: 1,
      });
      expect((await post(JSON.stringify(cdcChange(3, 'C')))).status).toBe(200);
      // Not JSON by its type: what a form or a no-preflight fetch from another page would send.
      expect(
        (await fetch(started.publish, { method: 'POST', body: JSON.stringify(cdcChange(4, 'D')) })).status,
      ).toBe(415);

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
        // Silver and gold commit separately: wait for both, not only the products read from silver.
        return response.status === 200 && body.topProducts.length === 2 && body.totals.orders === 2 && body;
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
      expect(dashboard.headers.get('content-security-policy')).toMatch(/script-src 'sha256-/);
      expect(dashboard.headers.get('referrer-policy')).toBe('no-referrer');
      const page = await dashboard.text();
      expect(page).toContain("getJson('/api/status')");
      expect(page).toContain("'/api/gold?fresh=1' : '/api/gold'");
      expect((await fetch(`${base}/api/nope`)).status).toBe(404);
      expect((await fetch(started.status, { method: 'POST' })).status).toBe(405);
      const big = await post('x'.repeat(1024 * 1024 + 1));
      expect(big.status).toBe(413);
    } finally {
      expect(await pipeline.stop()).toBe(0);
    }
  });

  it('passes the smoke test through the same API, leaving gold as it was, and names the step that fails', async () => {
    const pipeline = PipelineProcess.quick(azurite().connectionString);
    try {
      const base = new URL((await pipeline.started()).status).origin;
      expect(
        (
          await fetch(`${base}/api/orders`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(cdcChange(1, 'A')),
          })
        ).status,
      ).toBe(200);
      const goldOrders = () =>
        fetch(`${base}/api/gold`)
          .then((r) => r.json() as Promise<{ totals?: { orders: number } }>)
          .then((g) => g.totals?.orders);
      await eventually('the first order in gold', async () => (await goldOrders()) === 1);
      const progress: string[] = [];
      const result = await checkDeployment({
        baseUrl: base,
        lines: 2,
        pollMs: 200,
        timeoutMs: 50_000,
        progress: (m) => progress.push(m),
      });
      expect(result).toMatchObject({
        published: 4,
        gold: { engine: 'duckdb', orders: 1, lastChange: expect.any(String) },
      });
      expect(result.records.after - result.records.before).toBeGreaterThanOrEqual(4);
      expect(result.seconds.processed).toBeGreaterThanOrEqual(result.seconds.recorded);
      expect(progress).toHaveLength(3);
      // Each create and its delete left gold as it was.
      expect(await goldOrders()).toBe(1);
      await expect(checkDeployment({ baseUrl: 'http://127.0.0.1:1', timeoutMs: 1000 })).rejects.toThrow(
        /^smoke test, status: GET http:\/\/127\.0\.0\.1:1\/api\/status: /,
      );
      await expect(checkDeployment({ baseUrl: base, timeoutMs: 1, pollMs: 10 })).rejects.toThrow(
        /^smoke test, processing: the ledger did not record 6 more records within 0.001 s/,
      );
    } finally {
      expect(await pipeline.stop()).toBe(0);
    }
  });
});
