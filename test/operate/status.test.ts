import { Run } from '../../lib/databricks/jobsApi';
import { LedgerFile } from '../../lib/ledger/ledger';
import { pipelineStatus } from '../../lib/operate/status';
import { reportView } from '../../lib/operate/reportStore';

const T = Date.UTC(2026, 10, 26, 12);
const iso = (ms: number) => new Date(T + ms).toISOString();

const row = (n: number, state: LedgerFile['state'], stageSeconds: number[]): LedgerFile => {
  const [trigger, submit, start, end] = stageSeconds;
  return {
    path: `p${n}`,
    url: 'u',
    state,
    bytes: 100,
    records: 10,
    capturedAt: iso(0),
    triggeredAt: iso(trigger * 1000),
    submittedAt: submit === undefined ? undefined : iso(submit * 1000),
    runStartedAt: start === undefined ? undefined : iso(start * 1000),
    runFinishedAt: end === undefined ? undefined : iso(end * 1000),
  };
};

describe('status figures', () => {
  it('counts files by state and gives p50/p95 latency per stage from the ledger’s stamps', () => {
    const rows = [
      ...Array.from({ length: 19 }, (_, i) => row(i, 'succeeded', [1, 31, 40, 100 + i])),
      row(19, 'succeeded', [2, 300, 320, 500]),
      row(20, 'pending', [1]),
      row(21, 'deadLettered', [1, 31, 40, 60]),
    ];
    const runs: Run[] = [
      {
        job_id: 1,
        run_id: 2,
        state: { life_cycle_state: 'TERMINATED', result_state: 'SUCCESS' },
        start_time: T - 30 * 60_000,
        end_time: T - 29 * 60_000,
        job_parameters: [{ name: 'batch_id', value: 'b2' }],
      },
      {
        job_id: 1,
        run_id: 1,
        state: { life_cycle_state: 'TERMINATED', result_state: 'FAILED' },
        start_time: T - 90 * 60_000,
        end_time: T - 89 * 60_000,
      },
    ];
    const status = pipelineStatus(rows, runs, reportView(null, T), T, 3);
    expect(status.files).toMatchObject({ succeeded: 20, pending: 1, deadLettered: 1, batched: 0 });
    expect(status.records).toBe(220);
    const latency = Object.fromEntries(status.latency.map((l) => [`${l.from}>${l.to}`, l]));
    expect(latency['capturedAt>triggeredAt']).toMatchObject({ files: 22, p50Seconds: 1, p95Seconds: 1 });
    expect(latency['triggeredAt>submittedAt']).toMatchObject({ files: 21, p50Seconds: 30, p95Seconds: 30 });
    expect(latency['capturedAt>runFinishedAt']).toMatchObject({
      files: 21,
      p50Seconds: 109,
      p95Seconds: 118,
    });
    expect(status.runs.perHour).toEqual([
      { hour: '2026-11-26T10:00:00.000Z', runs: 1, runSeconds: 60 },
      { hour: '2026-11-26T11:00:00.000Z', runs: 1, runSeconds: 60 },
      { hour: '2026-11-26T12:00:00.000Z', runs: 0, runSeconds: 0 },
    ]);
    expect(status.runs.recent[0]).toEqual({
      runId: 2,
      batchId: 'b2',
      state: 'TERMINATED',
      result: 'SUCCESS',
      startedAt: iso(-30 * 60_000),
      seconds: 60,
    });
  });
});
