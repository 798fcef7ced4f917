import fs from 'node:fs';
import path from 'node:path';
import { JobRunner, JobTaskError, LocalJobDefinition } from '../databricks/jobRunner';
import { Run, RunLifeCycleState, RunResultState, RunStatusState, RunTask } from '../databricks/jobsApi';
import { errorMessage } from '../errorMessage';

export interface LocalJobRunsOptions {
  job: LocalJobDefinition;
  runner: JobRunner;
  /** Keeps runs and idempotency tokens across restarts. */
  statePath?: string;
  /** The run's page, as `run_page_url` reports it. */
  runPageUrl: (runId: number) => string;
  /**
   * A run still running this long after it started ends TIMEDOUT, as a workspace ends a run past
   * the job's timeout_seconds (LOCAL_RUN_TIMEOUT_MINUTES; default 60 minutes, the bundle's 3600 s).
   */
  runTimeoutMs?: number;
}

export const DEFAULT_RUN_TIMEOUT_MS = 60 * 60_000;
/** How long a timed-out run's job may take to stop before the run ends anyway (or the timeout, if shorter). */
const TIMEOUT_GRACE_MS = 30_000;

export interface RunFilter {
  jobId?: number;
  activeOnly?: boolean;
  completedOnly?: boolean;
}

interface StoredRun {
  run: Run;
  token?: string;
}

export const ACTIVE: readonly RunLifeCycleState[] = ['QUEUED', 'PENDING', 'RUNNING', 'TERMINATING'];

/**
 * The local Jobs API's runs of its one job: the life cycle of a workspace's runs (QUEUED → PENDING →
 * RUNNING → TERMINATING → TERMINATED with a result), idempotency tokens, max concurrent runs with a
 * queue, and the state kept in a file across restarts. The HTTP face validates requests; this file
 * decides what happens to runs.
 */
export class LocalJobRuns {
  private readonly runs = new Map<number, StoredRun>();
  private readonly tokens = new Map<string, number>();
  private readonly running = new Map<number, AbortController>();
  private readonly settled = new Set<Promise<void>>();
  private nextRunId = 1001;
  private closing = false;

  constructor(private readonly options: LocalJobRunsOptions) {
    this.restore();
  }

  /** A new queued run with these parameters, or the run an earlier call with the same token made. */
  submit(parameters: Record<string, string>, token?: string): number {
    const existing = token === undefined ? undefined : this.tokens.get(token);
    if (existing !== undefined) return existing;
    const job = this.options.job;
    const runId = this.nextRunId++;
    const now = Date.now();
    const run: Run = {
      job_id: job.jobId,
      run_id: runId,
      number_in_job: runId,
      original_attempt_run_id: runId,
      run_name: job.name,
      run_type: 'JOB_RUN',
      trigger: 'ONE_TIME',
      run_page_url: this.options.runPageUrl(runId),
      state: { life_cycle_state: 'QUEUED', state_message: '' },
      status: { state: 'QUEUED' },
      job_parameters: Object.entries(job.parameters).map(([name, fallback]) => ({
        name,
        default: fallback,
        value: parameters[name] ?? fallback,
      })),
      tasks: this.options.runner.taskKeys.map((taskKey, i) => ({
        task_key: taskKey,
        run_id: runId * 10 + i + 1,
        state: { life_cycle_state: 'QUEUED' },
        status: { state: 'QUEUED' },
      })),
      start_time: now,
      end_time: 0,
      setup_duration: 0,
      execution_duration: 0,
      cleanup_duration: 0,
      queue_duration: 0,
      attempt_number: 0,
    };
    this.runs.set(runId, { run, token });
    if (token !== undefined) this.tokens.set(token, runId);
    this.schedule();
    this.save();
    return runId;
  }

  get(runId: number): Run | undefined {
    return this.runs.get(runId)?.run;
  }

  /** Cancels a queued run at once and a running one through its signal; a finished run stays as it is. */
  cancel(runId: number): void {
    const run = this.runs.get(runId)?.run;
    const state = run?.state.life_cycle_state;
    if (state === 'QUEUED' || state === 'PENDING') {
      finish(run!, 'CANCELED', 'Run cancelled.', Date.now());
      this.save();
    } else if (state === 'RUNNING') {
      this.running.get(runId)?.abort(new Error('Run cancelled.'));
    }
  }

  /** Matching runs, newest first. */
  list(filter: RunFilter): Run[] {
    return [...this.runs.values()]
      .map((s) => s.run)
      .filter((run) => filter.jobId === undefined || run.job_id === filter.jobId)
      .filter((run) => !filter.activeOnly || ACTIVE.includes(run.state.life_cycle_state))
      .filter((run) => !filter.completedOnly || !ACTIVE.includes(run.state.life_cycle_state))
      .sort((a, b) => b.run_id - a.run_id);
  }

  /** Starts what restore() left queued. */
  start(): void {
    this.schedule();
  }

  /** Waits until no run is queued or running. */
  async idle(): Promise<void> {
    while (this.settled.size > 0) await Promise.all(this.settled);
  }

  /** Runs in progress are cancelled with `reason`; queued runs stay queued for a restart. */
  async close(reason: Error): Promise<void> {
    this.closing = true;
    for (const controller of this.running.values()) controller.abort(reason);
    await Promise.all(this.settled);
    this.save();
  }

  /** Starts queued runs, oldest first, while fewer than max_concurrent_runs are active. */
  private schedule(): void {
    if (this.closing) return;
    const queued = [...this.runs.values()]
      .map((s) => s.run)
      .filter((run) => run.state.life_cycle_state === 'QUEUED')
      .sort((a, b) => a.run_id - b.run_id);
    for (const run of queued) {
      if (this.running.size >= this.options.job.maxConcurrentRuns) {
        run.state.queue_reason = 'Queued due to reaching maximum concurrent runs of 1.';
        run.status = {
          state: 'QUEUED',
          queue_details: { code: 'ACTIVE_RUNS_LIMIT_REACHED', message: run.state.queue_reason },
        };
        continue;
      }
      const controller = new AbortController();
      this.running.set(run.run_id, controller);
      const execution = this.execute(run, controller).finally(() => {
        this.running.delete(run.run_id);
        this.settled.delete(execution);
        this.save();
        this.schedule();
      });
      this.settled.add(execution);
    }
  }

  private async execute(run: Run, controller: AbortController): Promise<void> {
    const signal = controller.signal;
    const queuedAt = run.start_time!;
    setLifeCycle(run, 'PENDING', 'PENDING');
    run.queue_duration = Date.now() - queuedAt;
    // Yield once, so a poll can see PENDING and RUNNING as on a workspace.
    await new Promise((resolve) => setImmediate(resolve));
    const executing = Date.now();
    setLifeCycle(run, 'RUNNING', 'RUNNING');
    for (const task of run.tasks ?? []) {
      setLifeCycle(task, 'RUNNING', 'RUNNING');
      task.start_time = executing;
    }
    const parameters = Object.fromEntries((run.job_parameters ?? []).map((p) => [p.name, p.value ?? '']));
    let result: RunResultState = 'SUCCESS';
    let message = '';
    let failedTask: string | undefined;
    const timeoutMs = this.options.runTimeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
    const outcome = await settleWithin(
      this.options.runner.run(parameters, { runId: run.run_id, signal }),
      timeoutMs,
      () => {
        // Past the timeout: stop the job, and give it a little while to stop before the run ends.
        message = `Run timed out after ${durationText(timeoutMs)} (LOCAL_RUN_TIMEOUT_MINUTES).`;
        controller.abort(new Error(message));
        return Math.min(TIMEOUT_GRACE_MS, timeoutMs);
      },
    );
    if (message) {
      result = 'TIMEDOUT';
      failedTask = (outcome?.ok === false && taskOf(outcome.error)) || this.options.runner.taskKeys[0];
      if (!outcome)
        message += ` The job did not stop within ${durationText(Math.min(TIMEOUT_GRACE_MS, timeoutMs))}.`;
    } else if (outcome?.ok === false) {
      const error = outcome.error;
      result = signal.aborted ? 'CANCELED' : 'FAILED';
      failedTask = taskOf(error) ?? this.options.runner.taskKeys[0];
      message = signal.aborted
        ? String((signal.reason as Error)?.message ?? 'Run cancelled.')
        : `Task ${failedTask} failed with message: ${errorMessage(error)}`;
    }
    const now = Date.now();
    run.execution_duration = now - executing;
    setLifeCycle(run, 'TERMINATING', 'TERMINATING');
    finish(run, result, message, now, failedTask);
  }

  private restore(): void {
    const file = this.options.statePath;
    if (!file || !fs.existsSync(file)) return;
    let saved: { nextRunId: number; runs: StoredRun[] };
    try {
      saved = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (!Number.isSafeInteger(saved.nextRunId) || !Array.isArray(saved.runs))
        throw new Error('not a runs file');
    } catch (error) {
      throw new Error(
        `the local Jobs API's state ${file} cannot be read (${errorMessage(error)}); move it away to start with no runs`,
        { cause: error },
      );
    }
    this.nextRunId = saved.nextRunId;
    for (const stored of saved.runs) {
      // A run the previous process was executing did not finish: its transaction rolled back.
      if (
        ACTIVE.includes(stored.run.state.life_cycle_state) &&
        stored.run.state.life_cycle_state !== 'QUEUED'
      ) {
        finish(
          stored.run,
          'FAILED',
          'The local Jobs API stopped during the run.',
          Date.now(),
          undefined,
          'INTERNAL_ERROR',
        );
      }
      this.runs.set(stored.run.run_id, stored);
      if (stored.token) this.tokens.set(stored.token, stored.run.run_id);
    }
  }

  private save(): void {
    const file = this.options.statePath;
    if (!file) return;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const temporary = `${file}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify({ nextRunId: this.nextRunId, runs: [...this.runs.values()] }));
    fs.renameSync(temporary, file);
  }
}

/**
 * Waits for `work`: its outcome, or, when it outlasts `timeoutMs`, calls `onTimeout` and waits the
 * grace it returns more; undefined if the work has not settled by then.
 */
async function settleWithin(
  work: Promise<void>,
  timeoutMs: number,
  onTimeout: () => number,
): Promise<{ ok: true } | { ok: false; error: unknown } | undefined> {
  const settled = work.then(
    () => ({ ok: true as const }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  const within = (ms: number) => {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
      timer.unref();
    });
    return Promise.race([settled, expired]).finally(() => clearTimeout(timer));
  };
  return (await within(timeoutMs)) ?? within(onTimeout());
}

function taskOf(error: unknown): string | undefined {
  return error instanceof JobTaskError ? error.taskKey : undefined;
}

function durationText(ms: number): string {
  if (ms % 60_000 === 0) return ms === 60_000 ? '1 minute' : `${ms / 60_000} minutes`;
  return `${ms / 1000} seconds`;
}

function setLifeCycle(target: Run | RunTask, lifeCycle: RunLifeCycleState, status: RunStatusState): void {
  target.state = { ...target.state, life_cycle_state: lifeCycle, queue_reason: undefined };
  target.status = { state: status };
}

function finish(
  run: Run,
  result: RunResultState,
  message: string,
  now: number,
  failedTask?: string,
  lifeCycle: RunLifeCycleState = 'TERMINATED',
): void {
  // A run stopped at its timeout is, in the Jobs API's words, "canceled during execution by the
  // platform" (termination code CANCELED) with result TIMEDOUT.
  const code =
    result === 'SUCCESS'
      ? 'SUCCESS'
      : result === 'CANCELED' || result === 'TIMEDOUT'
        ? 'CANCELED'
        : 'RUN_EXECUTION_ERROR';
  const type =
    result === 'SUCCESS' ? 'SUCCESS' : lifeCycle === 'INTERNAL_ERROR' ? 'INTERNAL_ERROR' : 'CLIENT_ERROR';
  run.state = {
    life_cycle_state: lifeCycle,
    result_state: result,
    state_message: message,
    user_cancelled_or_timedout: result === 'CANCELED' || result === 'TIMEDOUT',
  };
  run.status = { state: 'TERMINATED', termination_details: { code, type, message } };
  run.end_time = now;
  run.run_duration = now - run.start_time!;
  let upstreamFailed = false;
  for (const task of run.tasks ?? []) {
    const taskResult: RunResultState =
      result === 'SUCCESS'
        ? 'SUCCESS'
        : upstreamFailed
          ? 'UPSTREAM_FAILED'
          : task.task_key === failedTask
            ? result
            : 'SUCCESS';
    if (task.task_key === failedTask || (result !== 'SUCCESS' && !failedTask)) upstreamFailed = true;
    const taskMessage =
      task.task_key === failedTask
        ? message
        : taskResult === 'UPSTREAM_FAILED'
          ? 'Upstream task failed.'
          : '';
    task.state = { life_cycle_state: lifeCycle, result_state: taskResult, state_message: taskMessage };
    task.status = {
      state: 'TERMINATED',
      termination_details: {
        code:
          taskResult === 'SUCCESS' ? 'SUCCESS' : taskResult === 'UPSTREAM_FAILED' ? 'UPSTREAM_FAILED' : code,
        type: taskResult === 'SUCCESS' ? 'SUCCESS' : type,
        message: taskMessage,
      },
    };
    task.end_time = now;
  }
}
