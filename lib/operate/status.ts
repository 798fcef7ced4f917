import { Run } from '../databricks/jobsApi';
import { JobsClient } from '../databricks/jobsClient';
import { FileState, Ledger, LedgerFile, hourOf } from '../ledger/ledger';
import { BacklogReport } from './backlog';
import { BacklogPoint, ReportStore, reportView } from './reportStore';
import type { HealthStore, StoredHealth } from '../ledger/healthStore';
import { errorMessage } from '../errorMessage';
import type { CostRates, Workload } from './costModel';
import { StatusCost, statusCost } from './costAdvisor';

const HOUR = 3_600_000;

/** The stages a file goes through, in order, as the ledger stamps them. */
export const STAGES = ['capturedAt', 'triggeredAt', 'submittedAt', 'runStartedAt', 'runFinishedAt'] as const;

export interface StageLatency {
  from: (typeof STAGES)[number];
  to: (typeof STAGES)[number];
  files: number;
  p50Seconds: number | null;
  p95Seconds: number | null;
}

/** `GET /api/status`: the operator's view, from the ledger and the Jobs API (gold comes separately). */
export interface PipelineStatus {
  at: string;
  windowHours: number;
  files: Record<FileState, number>;
  records: number;
  bytes: number;
  latency: StageLatency[];
  runs: {
    recent: {
      runId: number;
      batchId: string;
      state: string;
      result: string | null;
      startedAt: string | null;
      seconds: number | null;
    }[];
    perHour: { hour: string; runs: number; runSeconds: number }[];
  };
  /** The backlog timer's latest report, its age, and the day's unfinished files before it. */
  backlog: BacklogReport | null;
  backlogAgeSeconds: number | null;
  backlogHistory: BacklogPoint[];
  /** Why the stored report could not be read; the backlog fields are then empty. */
  backlogError?: string;
  /** The orchestration's health (pause, platform failures), as it last wrote it. */
  pipeline: StoredHealth | null;
  /** Why the job's runs could not be listed (a refused token, say); the runs are then empty. */
  runsError?: string;
  /** Event-driven against continuous at the observed rate, with run durations fitted to these runs. */
  cost?: StatusCost;
}

const EMPTY_COUNTS: Record<FileState, number> = {
  pending: 0,
  batched: 0,
  submitted: 0,
  succeeded: 0,
  skipped: 0,
  deadLettered: 0,
  rejected: 0,
};

/** The status from what was read: pure, so its figures are tested on their own. */
export function pipelineStatus(
  rows: LedgerFile[],
  runs: Run[],
  backlog: Pick<PipelineStatus, 'backlog' | 'backlogAgeSeconds' | 'backlogHistory'>,
  now: number,
  windowHours: number,
  pipeline: StoredHealth | null = null,
): PipelineStatus {
  const files = { ...EMPTY_COUNTS };
  for (const row of rows) files[row.state] += 1;
  const latency = STAGES.slice(1).map((to, i) => stageLatency(rows, STAGES[i], to));
  latency.push(stageLatency(rows, 'capturedAt', 'runFinishedAt'));

  const perHour = new Map<string, { runs: number; runSeconds: number }>();
  for (let h = Math.floor(now / HOUR) * HOUR - (windowHours - 1) * HOUR; h <= now; h += HOUR) {
    perHour.set(new Date(h).toISOString(), { runs: 0, runSeconds: 0 });
  }
  for (const run of runs) {
    if (!run.start_time) continue;
    const bucket = perHour.get(new Date(Math.floor(run.start_time / HOUR) * HOUR).toISOString());
    if (!bucket) continue;
    bucket.runs += 1;
    bucket.runSeconds += (run.end_time ? run.end_time - run.start_time : 0) / 1000;
  }
  return {
    at: new Date(now).toISOString(),
    windowHours,
    files,
    records: rows.reduce((n, r) => n + r.records, 0),
    bytes: rows.reduce((n, r) => n + r.bytes, 0),
    latency,
    runs: {
      recent: runs.slice(0, 20).map((run) => ({
        runId: run.run_id,
        batchId: run.job_parameters?.find((p) => p.name === 'batch_id')?.value ?? '',
        state: run.state.life_cycle_state,
        result: run.state.result_state ?? null,
        startedAt: run.start_time ? new Date(run.start_time).toISOString() : null,
        seconds: run.end_time && run.start_time ? (run.end_time - run.start_time) / 1000 : null,
      })),
      perHour: [...perHour].map(([hour, figures]) => ({ hour, ...figures })),
    },
    ...backlog,
    pipeline,
  };
}

function stageLatency(rows: LedgerFile[], from: StageLatency['from'], to: StageLatency['to']): StageLatency {
  const seconds = rows
    .filter((r) => r[from] && r[to])
    .map((r) => (Date.parse(r[to]!) - Date.parse(r[from]!)) / 1000)
    .sort((a, b) => a - b);
  const pick = (p: number) =>
    seconds.length ? seconds[Math.min(seconds.length - 1, Math.ceil(p * seconds.length) - 1)] : null;
  return { from, to, files: seconds.length, p50Seconds: pick(0.5), p95Seconds: pick(0.95) };
}

/** Reads the last `windowHours` of the ledger, the job's recent runs and the timer's latest report. */
export async function collectStatus(
  ports: { ledger: Ledger; jobs: JobsClient; jobId: number; health: HealthStore; reports: ReportStore },
  options: {
    windowHours?: number;
    now?: number;
    maxRuns?: number;
    cost?: { rates: CostRates; workload: Omit<Workload, 'eventsPerSecond'> };
  } = {},
): Promise<PipelineStatus> {
  const now = options.now ?? Date.now();
  const windowHours = options.windowHours ?? 24;
  const rows: LedgerFile[] = [];
  const from = hourOf(new Date(now - (windowHours - 1) * HOUR));
  for await (const row of ports.ledger.list({ fromHour: from })) rows.push(row);
  const runs: Run[] = [];
  let runsError: string | undefined;
  try {
    for await (const run of ports.jobs.listRuns({ jobId: ports.jobId })) {
      if ((run.start_time ?? now) < now - windowHours * HOUR || runs.length >= (options.maxRuns ?? 500))
        break;
      runs.push(run);
    }
  } catch (error) {
    // The status must still answer when the Jobs API does not: that is when an operator looks.
    runsError = errorMessage(error);
  }
  let backlog = reportView(null, now);
  let backlogError: string | undefined;
  try {
    backlog = reportView(await ports.reports.read(), now);
  } catch (error) {
    backlogError = errorMessage(error);
  }
  const status = {
    ...pipelineStatus(rows, runs, backlog, now, windowHours, await ports.health.read()),
    ...(runsError !== undefined ? { runsError } : {}),
    ...(backlogError !== undefined ? { backlogError } : {}),
  };
  if (!options.cost) return status;
  return { ...status, cost: statusCost(rows, options.cost.rates, options.cost.workload) };
}
