import fs from 'node:fs';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  ApiErrorBody,
  IDEMPOTENCY_TOKEN_MAX_LENGTH,
  JOBS_API,
  RUNS_LIST_MAX_LIMIT,
  Run,
  RunLifeCycleState,
  RunResultState,
  RunStatusState,
  RunTask,
} from '../databricks/jobsApi';

/** One task of the job failed: which one, and why. */
export class JobTaskError extends Error {
  constructor(
    readonly taskKey: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'JobTaskError';
  }
}

/** Runs the job's tasks for one run; throws JobTaskError naming the task that failed. */
export interface JobRunner {
  readonly taskKeys: readonly string[];
  run(parameters: Record<string, string>, options: { runId: number; signal: AbortSignal }): Promise<void>;
}

export interface LocalJobDefinition {
  jobId: number;
  name: string;
  /** Job parameters and their defaults; run-now may set only these. */
  parameters: Record<string, string>;
  /** Concurrent runs allowed; further runs queue (queueing is on, as in the bundle). */
  maxConcurrentRuns: number;
}

export interface LocalJobsApiOptions {
  /** The bearer token requests must carry. */
  token: string;
  job: LocalJobDefinition;
  runner: JobRunner;
  /** Keeps runs and idempotency tokens across restarts of the server. */
  statePath?: string;
  host?: string;
  port?: number;
}

interface StoredRun {
  run: Run;
  token?: string;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

const invalid = (message: string) => new ApiError(400, 'INVALID_PARAMETER_VALUE', message);
const ACTIVE: readonly RunLifeCycleState[] = ['QUEUED', 'PENDING', 'RUNNING', 'TERMINATING'];
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * A local stand-in for a workspace's Jobs API 2.2: the same paths, JSON shapes, errors and run life
 * cycle (QUEUED → PENDING → RUNNING → TERMINATING → TERMINATED with a result), idempotency tokens,
 * max concurrent runs with a queue. Its one job runs through a JobRunner (the DuckDB lakehouse).
 */
export class LocalJobsApi {
  private readonly runs = new Map<number, StoredRun>();
  private readonly tokens = new Map<string, number>();
  private readonly running = new Map<number, AbortController>();
  private readonly settled = new Set<Promise<void>>();
  private nextRunId = 1001;
  private server?: http.Server;
  private closing = false;

  private constructor(private readonly options: LocalJobsApiOptions) {}

  static async start(options: LocalJobsApiOptions): Promise<LocalJobsApi> {
    const api = new LocalJobsApi(options);
    api.restore();
    await api.listen();
    api.schedule();
    return api;
  }

  get url(): string {
    const address = this.server!.address() as AddressInfo;
    return `http://${this.options.host ?? '127.0.0.1'}:${address.port}`;
  }

  /** Stops accepting requests; runs in progress are cancelled, queued runs stay queued for a restart. */
  async close(): Promise<void> {
    this.closing = true;
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
    for (const controller of this.running.values()) controller.abort(new Error('the local Jobs API stopped'));
    await Promise.all(this.settled);
    this.save();
  }

  /** Waits until no run is queued or running. */
  async idle(): Promise<void> {
    while (this.settled.size > 0) await Promise.all(this.settled);
  }

  private async listen(): Promise<void> {
    this.server = http.createServer((request, response) => {
      this.handle(request)
        .then(({ status, body }) => send(response, status, body))
        .catch((error: unknown) => {
          const apiError =
            error instanceof ApiError ? error : new ApiError(500, 'INTERNAL_ERROR', (error as Error).message);
          send(response, apiError.status, { error_code: apiError.errorCode, message: apiError.message });
        });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve());
    });
  }

  private async handle(request: http.IncomingMessage): Promise<{ status: number; body: unknown }> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const route = `${request.method} ${url.pathname}`;
    const known = [
      `POST ${JOBS_API.runNow}`,
      `GET ${JOBS_API.runsGet}`,
      `POST ${JOBS_API.runsCancel}`,
      `GET ${JOBS_API.runsList}`,
    ];
    if (!known.includes(route)) {
      throw new ApiError(404, 'ENDPOINT_NOT_FOUND', `No API found for '${request.method} ${url.pathname}'`);
    }
    this.authorize(request.headers.authorization);
    if (request.method === 'GET') {
      return { status: 200, body: route.endsWith('get') ? this.getRun(url) : this.listRuns(url) };
    }
    const body = await readJsonObject(request);
    return { status: 200, body: route.endsWith('run-now') ? this.runNow(body) : this.cancel(body) };
  }

  private authorize(header: string | undefined): void {
    const match = /^Bearer (.+)$/.exec(header ?? '');
    if (!match) {
      throw new ApiError(
        401,
        'UNAUTHENTICATED',
        'Credential was not sent or was of an unsupported type for this API.',
      );
    }
    if (match[1] !== this.options.token)
      throw new ApiError(403, 'PERMISSION_DENIED', 'Invalid access token.');
  }

  private runNow(body: Record<string, unknown>): { run_id: number; number_in_job: number } {
    const job = this.options.job;
    const jobId = integerField(body, 'job_id', true)!;
    if (jobId !== job.jobId) throw invalid(`Job ${jobId} does not exist.`);
    const parameters = { ...job.parameters };
    if (body.job_parameters !== undefined) {
      if (!isPlainObject(body.job_parameters)) throw invalid('job_parameters must be a map of strings.');
      for (const [name, value] of Object.entries(body.job_parameters)) {
        if (!(name in job.parameters))
          throw invalid(`Job parameter '${name}' is not defined in job ${jobId}.`);
        if (typeof value !== 'string') throw invalid(`Job parameter '${name}' must be a string.`);
        parameters[name] = value;
      }
    }
    const token = body.idempotency_token;
    if (token !== undefined) {
      if (typeof token !== 'string' || token.length === 0 || token.length > IDEMPOTENCY_TOKEN_MAX_LENGTH) {
        throw invalid(
          `idempotency_token must be a string of 1 to ${IDEMPOTENCY_TOKEN_MAX_LENGTH} characters.`,
        );
      }
      const existing = this.tokens.get(token);
      if (existing !== undefined) return { run_id: existing, number_in_job: existing };
    }
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
      run_page_url: `${this.url}/#job/${job.jobId}/run/${runId}`,
      state: { life_cycle_state: 'QUEUED', state_message: '' },
      status: { state: 'QUEUED' },
      job_parameters: Object.entries(job.parameters).map(([name, fallback]) => ({
        name,
        default: fallback,
        value: parameters[name],
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
    this.runs.set(runId, { run, token: token as string | undefined });
    if (typeof token === 'string') this.tokens.set(token, runId);
    this.schedule();
    this.save();
    return { run_id: runId, number_in_job: runId };
  }

  private getRun(url: URL): Run {
    return this.find(integerParam(url, 'run_id')).run;
  }

  private cancel(body: Record<string, unknown>): Record<string, never> {
    const stored = this.find(integerField(body, 'run_id', true)!);
    const state = stored.run.state.life_cycle_state;
    if (state === 'QUEUED' || state === 'PENDING') {
      finish(stored.run, 'CANCELED', 'Run cancelled.', Date.now());
      this.save();
    } else if (state === 'RUNNING') {
      this.running.get(stored.run.run_id)?.abort(new Error('Run cancelled.'));
    }
    return {};
  }

  private listRuns(url: URL): {
    runs?: Run[];
    has_more: boolean;
    next_page_token?: string;
    prev_page_token?: string;
  } {
    const limit = url.searchParams.has('limit') ? integerParam(url, 'limit') : 20;
    if (limit < 1 || limit > RUNS_LIST_MAX_LIMIT) {
      throw invalid(`limit must be between 1 and ${RUNS_LIST_MAX_LIMIT}.`);
    }
    const activeOnly = booleanParam(url, 'active_only');
    const completedOnly = booleanParam(url, 'completed_only');
    if (activeOnly && completedOnly) throw invalid('active_only and completed_only cannot both be true.');
    const jobId = url.searchParams.has('job_id') ? integerParam(url, 'job_id') : undefined;
    const offset = url.searchParams.has('page_token') ? pageOffset(url.searchParams.get('page_token')!) : 0;
    const matching = [...this.runs.values()]
      .map((s) => s.run)
      .filter((run) => jobId === undefined || run.job_id === jobId)
      .filter((run) => !activeOnly || ACTIVE.includes(run.state.life_cycle_state))
      .filter((run) => !completedOnly || !ACTIVE.includes(run.state.life_cycle_state))
      .sort((a, b) => b.run_id - a.run_id);
    const page = matching.slice(offset, offset + limit);
    const hasMore = offset + limit < matching.length;
    return {
      ...(page.length > 0 ? { runs: page } : {}),
      has_more: hasMore,
      ...(hasMore ? { next_page_token: pageToken(offset + limit) } : {}),
      ...(offset > 0 ? { prev_page_token: pageToken(Math.max(0, offset - limit)) } : {}),
    };
  }

  private find(runId: number): StoredRun {
    const stored = this.runs.get(runId);
    if (!stored) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Run ${runId} does not exist.`);
    return stored;
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
      const execution = this.execute(run, controller.signal).finally(() => {
        this.running.delete(run.run_id);
        this.settled.delete(execution);
        this.save();
        this.schedule();
      });
      this.settled.add(execution);
    }
  }

  private async execute(run: Run, signal: AbortSignal): Promise<void> {
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
    try {
      await this.options.runner.run(parameters, { runId: run.run_id, signal });
    } catch (error) {
      result = signal.aborted ? 'CANCELED' : 'FAILED';
      failedTask = error instanceof JobTaskError ? error.taskKey : this.options.runner.taskKeys[0];
      message = signal.aborted
        ? String((signal.reason as Error)?.message ?? 'Run cancelled.')
        : `Task ${failedTask} failed with message: ${(error as Error).message}`;
    }
    const now = Date.now();
    run.execution_duration = now - executing;
    setLifeCycle(run, 'TERMINATING', 'TERMINATING');
    finish(run, result, message, now, failedTask);
  }

  private restore(): void {
    const file = this.options.statePath;
    if (!file || !fs.existsSync(file)) return;
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { nextRunId: number; runs: StoredRun[] };
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
  const code = result === 'SUCCESS' ? 'SUCCESS' : result === 'CANCELED' ? 'CANCELED' : 'RUN_EXECUTION_ERROR';
  const type =
    result === 'SUCCESS' ? 'SUCCESS' : lifeCycle === 'INTERNAL_ERROR' ? 'INTERNAL_ERROR' : 'CLIENT_ERROR';
  run.state = {
    life_cycle_state: lifeCycle,
    result_state: result,
    state_message: message,
    user_cancelled_or_timedout: result === 'CANCELED',
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

function send(response: http.ServerResponse, status: number, body: unknown | ApiErrorBody): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

async function readJsonObject(request: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ApiError(400, 'MALFORMED_REQUEST', 'Request body is too large.');
    chunks.push(chunk as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw new ApiError(
      400,
      'MALFORMED_REQUEST',
      'Invalid JSON given in the body of the request - expected a map',
    );
  }
  if (!isPlainObject(body)) {
    throw new ApiError(
      400,
      'MALFORMED_REQUEST',
      'Invalid JSON given in the body of the request - expected a map',
    );
  }
  return body;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function integerField(body: Record<string, unknown>, name: string, required: boolean): number | undefined {
  const value = body[name];
  if (value === undefined) {
    if (required) throw invalid(`Missing required field: ${name}`);
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`Invalid value for ${name}: expected a non-negative integer.`);
  }
  return value;
}

function integerParam(url: URL, name: string): number {
  const raw = url.searchParams.get(name);
  if (raw === null) throw invalid(`Missing required field: ${name}`);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw invalid(`Invalid value for ${name}: '${raw}' is not an integer.`);
  }
  return Number(raw);
}

function booleanParam(url: URL, name: string): boolean {
  const raw = url.searchParams.get(name);
  if (raw === null) return false;
  if (raw !== 'true' && raw !== 'false')
    throw invalid(`Invalid value for ${name}: '${raw}' is not a boolean.`);
  return raw === 'true';
}

function pageToken(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString('base64url');
}

function pageOffset(token: string): number {
  const match = /^offset:(\d+)$/.exec(Buffer.from(token, 'base64url').toString());
  if (!match) throw invalid(`Invalid page_token: '${token}'.`);
  return Number(match[1]);
}
