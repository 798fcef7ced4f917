import { LocalPipeline } from '../../lib/local/localPipeline';
import { blobCreatedEvent } from '../../lib/local/captureWatcher';
import { useAzurite } from '../support/azurite';
import {
  CaptureWriter,
  cdcChange,
  eventually,
  idleJobsApi,
  pipelineConfig,
} from '../support/pipelineFixtures';

jest.setTimeout(120_000);

/**
 * Faults the pipeline must survive or report, on Azurite: an orchestration that dies (the backlog
 * timer's watchdog starts it again) and a Jobs API that refuses the token (submissions pause, and
 * the backlog report says so instead of a run-now storm).
 */
describe('the local pipeline under faults', () => {
  const azurite = useAzurite();

  async function deliverNewFile(pipeline: LocalPipeline, lsn: number): Promise<string> {
    const path = await new CaptureWriter(pipeline.captureStore).write([cdcChange(lsn, `P${lsn}`)]);
    for await (const file of pipeline.captureStore.list({ prefix: path })) {
      expect(
        await pipeline.deliver(
          blobCreatedEvent(pipeline.captureStore, pipeline.config.CAPTURE_CONTAINER, file),
        ),
      ).toBe('recorded');
    }
    return path;
  }

  it('restarts an orchestration that died with files open, reports it, and the files finish', async () => {
    let failures = 1;
    const logs: Record<string, unknown>[] = [];
    const pipeline = await LocalPipeline.open({
      config: pipelineConfig(azurite().connectionString),
      log: (entry) => logs.push(entry),
      watchIntervalMs: 0,
      // The orchestration fails as a Durable one does when an activity fails past its retries.
      onDecision: (_state, event) => {
        if (event.kind === 'fileSignalled' && failures-- > 0)
          throw new Error('activity failed past its retries');
      },
    });
    try {
      const path = await deliverNewFile(pipeline, 1);
      await eventually('the orchestration to fail', async () => !pipeline.driver.running);
      expect(logs).toContainEqual({
        event: 'orchestrationFailed',
        error: 'activity failed past its retries',
      });
      // No new file will come: only the watchdog can finish this one.
      const report = await pipeline.backlog();
      expect(report.watchdog).toEqual({ status: 'Failed', started: true });
      expect(report.alerts).toContain(
        'the orchestration was Failed with 1 file(s) open; the watchdog started it again',
      );
      await eventually(
        'the file to succeed',
        async () => (await pipeline.ports.ledger.get(path))?.state === 'succeeded',
      );
      const quiet = await pipeline.backlog();
      expect(quiet.watchdog).toBeNull();
      expect(quiet.alerts).toEqual([]);
    } finally {
      await pipeline.close();
    }
  });

  it('pauses submissions on a refused token and says so in the backlog report (no run-now storm)', async () => {
    const api = await idleJobsApi('the-workspace-token');
    const pipeline = await LocalPipeline.open({
      config: pipelineConfig(azurite().connectionString, {
        DATABRICKS_HOST: api.url,
        DATABRICKS_TOKEN: 'a-revoked-token',
        DATABRICKS_JOB_ID: '1',
        PERMANENT_ERROR_PAUSE_MINUTES: '5',
      }),
      log: () => undefined,
      watchIntervalMs: 0,
    });
    try {
      const path = await deliverNewFile(pipeline, 2);
      const report = await eventually('the pause in the backlog report', async () => {
        const r = await pipeline.backlog();
        return r.pipeline?.pausedUntil ? r : undefined;
      });
      expect(report.pipeline).toMatchObject({
        pauseReason: expect.stringMatching(/403.*Invalid access token/),
      });
      expect(report.pipeline!.pausedUntil! - Date.now()).toBeGreaterThan(4 * 60_000);
      // The timer's own runs/list is refused too: said in the report, not a failed report.
      expect(report.runs).toBeNull();
      expect(report.alerts).toEqual([
        expect.stringMatching(/^cannot list the job's runs: .*403/),
        expect.stringMatching(/^submissions paused until .* after a permanent Jobs API error: .*403/),
      ]);
      // The orchestration waits out the pause: the file stays batched, and no run was made.
      expect(pipeline.driver.state.active).toMatchObject({
        phase: 'submit',
        at: report.pipeline!.pausedUntil,
      });
      expect((await pipeline.ports.ledger.get(path))?.state).toBe('batched');
      // The status API answers too (the Azure dashboard reads it): the pause, and why runs are unknown.
      const status = await pipeline.status();
      expect(status.pipeline).toMatchObject({ pausedUntil: report.pipeline!.pausedUntil });
      expect(status.runsError).toMatch(/403/);
      expect(await api.idle()).toBeUndefined();
      const listed = await fetch(`${api.url}/api/2.2/jobs/runs/list?job_id=1`, {
        headers: { authorization: 'Bearer the-workspace-token' },
      });
      expect(await listed.json()).toEqual({ has_more: false });
    } finally {
      await pipeline.close();
      await api.close();
    }
  });
});
