import fs from 'node:fs';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { Run } from '../../lib/databricks/jobsApi';
import { DATABRICKS_SCOPE, JobsApiError, JobsClient, retryAfterMs } from '../../lib/databricks/jobsClient';
import { JobRunner, JobTaskError } from '../../lib/databricks/jobRunner';
import { LocalJobsApi } from '../../lib/local/localJobsApi';
import { lakehouseJobDefinition } from '../../lib/lakehouse/lakehouseJob';
import { failureOf, runOutcome } from '../../lib/pipeline/pipelineActions';
import { eventually } from '../support/pipelineFixtures';
import { errorMessage } from '../../lib/errorMessage';

const TOKEN = 'dapi-test-token';

/** A runner whose runs wait until the test releases them, and fail when told to. */
class ControlledRunner implements JobRunner {
  readonly taskKeys = ['bronze', 'silver', 'gold'];
  readonly started: Record<string, string>[] = [];
  private releases: (() => void)[] = [];
  failWith?: JobTaskError;

  async run(parameters: Record<string, string>, options: { signal: AbortSignal }): Promise<void> {
    this.started.push(parameters);
    await new Promise<void>((resolve, reject) => {
      this.releases.push(resolve);
      options.signal.addEventListener('abort', () => reject(options.signal.reason));
    });
    if (this.failWith) throw this.failWith;
  }

  release(): void {
    this.releases.shift()?.();
  }
}

async function rawRequest(url: string, init: RequestInit = {}) {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('local Jobs API and the Jobs client', () => {
  let api: LocalJobsApi;
  let runner: ControlledRunner;
  let client: JobsClient;
  const job = lakehouseJobDefinition(7);

  beforeEach(async () => {
    runner = new ControlledRunner();
    api = await LocalJobsApi.start({ token: TOKEN, job, runner });
    client = new JobsClient(api.url, { auth: { token: TOKEN } });
  });
  afterEach(() => api.close());

  const params = { batch_id: 'b1', manifest_path: 'http://x/m.json' };
  const lifeCycle = async (runId: number) => (await client.getRun(runId)).state.life_cycle_state;

  it('runs through the life cycle and queues a second run behind max_concurrent_runs = 1', async () => {
    const first = await client.runNow({ job_id: 7, job_parameters: params });
    const second = await client.runNow({ job_id: 7, job_parameters: { ...params, batch_id: 'b2' } });
    await eventually('first run running', async () => (await lifeCycle(first.run_id)) === 'RUNNING');
    const queued = await client.getRun(second.run_id);
    expect(queued.state.life_cycle_state).toBe('QUEUED');
    expect(queued.status).toEqual({
      state: 'QUEUED',
      queue_details: { code: 'ACTIVE_RUNS_LIMIT_REACHED', message: expect.any(String) },
    });
    runner.release();
    await eventually('first run done', async () => (await lifeCycle(first.run_id)) === 'TERMINATED');
    const done = await client.getRun(first.run_id);
    expect(done).toMatchObject({
      job_id: 7,
      run_id: first.run_id,
      state: { life_cycle_state: 'TERMINATED', result_state: 'SUCCESS' },
      status: { state: 'TERMINATED', termination_details: { code: 'SUCCESS', type: 'SUCCESS' } },
      job_parameters: [
        { name: 'batch_id', default: '', value: 'b1' },
        { name: 'manifest_path', default: '', value: 'http://x/m.json' },
      ],
    });
    expect(done.tasks!.map((t) => [t.task_key, t.state!.result_state])).toEqual([
      ['bronze', 'SUCCESS'],
      ['silver', 'SUCCESS'],
      ['gold', 'SUCCESS'],
    ]);
    expect(done.end_time!).toBeGreaterThanOrEqual(done.start_time!);
    expect(runOutcome(done)).toMatchObject({ kind: 'succeeded' });
    await eventually('second run running', async () => (await lifeCycle(second.run_id)) === 'RUNNING');
    expect((await client.getRun(second.run_id)).queue_duration).toBeGreaterThan(0);
    runner.release();
    await api.idle();
    expect(runner.started.map((p) => p.batch_id)).toEqual(['b1', 'b2']);
  });

  it('returns the same run for the same idempotency_token, a new one for a new token', async () => {
    const a = await client.runNow({ job_id: 7, job_parameters: params, idempotency_token: 'tok-1' });
    const again = await client.runNow({ job_id: 7, job_parameters: params, idempotency_token: 'tok-1' });
    const b = await client.runNow({ job_id: 7, job_parameters: params, idempotency_token: 'tok-2' });
    expect(again.run_id).toBe(a.run_id);
    expect(b.run_id).not.toBe(a.run_id);
  });

  it('reports the failing task, and the tasks after it as upstream failed', async () => {
    runner.failWith = new JobTaskError('silver', 'division by zero');
    const { run_id } = await client.runNow({ job_id: 7, job_parameters: params });
    await eventually('running', async () => (await lifeCycle(run_id)) === 'RUNNING');
    runner.release();
    await api.idle();
    const run = await client.getRun(run_id);
    expect(run.state).toMatchObject({
      life_cycle_state: 'TERMINATED',
      result_state: 'FAILED',
      state_message: 'Task silver failed with message: division by zero',
    });
    expect(run.tasks!.map((t) => t.state!.result_state)).toEqual(['SUCCESS', 'FAILED', 'UPSTREAM_FAILED']);
    expect(runOutcome(run)).toMatchObject({
      kind: 'failed',
      notTheBatch: false,
      message: 'Task silver failed with message: division by zero',
    });
  });

  it('cancels a queued run, and a running one', async () => {
    const first = await client.runNow({ job_id: 7, job_parameters: params });
    const second = await client.runNow({ job_id: 7, job_parameters: params });
    await client.cancelRun(second.run_id);
    expect((await client.getRun(second.run_id)).state).toMatchObject({ result_state: 'CANCELED' });
    await eventually('running', async () => (await lifeCycle(first.run_id)) === 'RUNNING');
    await client.cancelRun(first.run_id);
    await api.idle();
    const run = await client.getRun(first.run_id);
    expect(run.state.result_state).toBe('CANCELED');
    expect(runOutcome(run)).toMatchObject({ kind: 'failed', notTheBatch: true });
  });

  it('lists runs newest first, a page of at most 25 at a time, and filters active runs', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 30; i++)
      ids.push((await client.runNow({ job_id: 7, job_parameters: params })).run_id);
    const all: Run[] = [];
    for await (const run of client.listRuns({ jobId: 7 })) all.push(run);
    expect(all.map((r) => r.run_id)).toEqual([...ids].reverse());
    const active: Run[] = [];
    for await (const run of client.listRuns({ jobId: 7, activeOnly: true })) active.push(run);
    expect(active).toHaveLength(30);
    const page = await rawRequest(`${api.url}/api/2.2/jobs/runs/list?job_id=7&limit=25`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(page.body).toMatchObject({ has_more: true, next_page_token: expect.any(String) });
    expect(page.body.runs).toHaveLength(25);
    for (const id of ids) await client.cancelRun(id);
  });

  it.each([
    ['no token', {}, 'GET', '/api/2.2/jobs/runs/get?run_id=1', undefined, 401, 'UNAUTHENTICATED'],
    [
      'a wrong token',
      { authorization: 'Bearer nope' },
      'GET',
      '/api/2.2/jobs/runs/get?run_id=1',
      undefined,
      403,
      'PERMISSION_DENIED',
    ],
    [
      'an unknown run',
      null,
      'GET',
      '/api/2.2/jobs/runs/get?run_id=424242',
      undefined,
      404,
      'RESOURCE_DOES_NOT_EXIST',
    ],
    ['no run_id', null, 'GET', '/api/2.2/jobs/runs/get', undefined, 400, 'INVALID_PARAMETER_VALUE'],
    [
      'a run_id that is not a number',
      null,
      'GET',
      '/api/2.2/jobs/runs/get?run_id=abc',
      undefined,
      400,
      'INVALID_PARAMETER_VALUE',
    ],
    ['an unknown job', null, 'POST', '/api/2.2/jobs/run-now', { job_id: 8 }, 400, 'INVALID_PARAMETER_VALUE'],
    ['no job_id', null, 'POST', '/api/2.2/jobs/run-now', {}, 400, 'INVALID_PARAMETER_VALUE'],
    [
      'an undefined job parameter',
      null,
      'POST',
      '/api/2.2/jobs/run-now',
      { job_id: 7, job_parameters: { files: 'a,b' } },
      400,
      'INVALID_PARAMETER_VALUE',
    ],
    [
      'an inherited name as a job parameter',
      null,
      'POST',
      '/api/2.2/jobs/run-now',
      { job_id: 7, job_parameters: JSON.parse('{"__proto__": "x", "toString": "y"}') },
      400,
      'INVALID_PARAMETER_VALUE',
    ],
    [
      'a non-string parameter',
      null,
      'POST',
      '/api/2.2/jobs/run-now',
      { job_id: 7, job_parameters: { batch_id: 5 } },
      400,
      'INVALID_PARAMETER_VALUE',
    ],
    [
      'a 65-character idempotency_token',
      null,
      'POST',
      '/api/2.2/jobs/run-now',
      { job_id: 7, idempotency_token: 'x'.repeat(65) },
      400,
      'INVALID_PARAMETER_VALUE',
    ],
    ['a body that is not JSON', null, 'POST', '/api/2.2/jobs/run-now', 'job_id=7', 400, 'MALFORMED_REQUEST'],
    ['a JSON array body', null, 'POST', '/api/2.2/jobs/run-now', [7], 400, 'MALFORMED_REQUEST'],
    ['an unknown path', null, 'GET', '/api/2.2/jobs/runs/frobnicate', undefined, 404, 'ENDPOINT_NOT_FOUND'],
    ['a wrong method', null, 'GET', '/api/2.2/jobs/run-now', undefined, 404, 'ENDPOINT_NOT_FOUND'],
    [
      'both active_only and completed_only',
      null,
      'GET',
      '/api/2.2/jobs/runs/list?active_only=true&completed_only=true',
      undefined,
      400,
      'INVALID_PARAMETER_VALUE',
    ],
    [
      'a limit over 25',
      null,
      'GET',
      '/api/2.2/jobs/runs/list?limit=26',
      undefined,
      400,
      'INVALID_PARAMETER_VALUE',
    ],
  ] as const)(
    'answers %s as Databricks does',
    async (_what, headers, method, route, body, status, errorCode) => {
      const response = await rawRequest(`${api.url}${route}`, {
        method,
        headers: headers ?? { authorization: `Bearer ${TOKEN}` },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      expect(response).toEqual({ status, body: { error_code: errorCode, message: expect.any(String) } });
    },
  );

  it('gives the client typed errors with status and error code', async () => {
    const error = await client.getRun(999_999).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobsApiError);
    expect(error).toMatchObject({ status: 404, errorCode: 'RESOURCE_DOES_NOT_EXIST', transient: false });
    expect(failureOf(error)).toMatchObject({ kind: 'runNotFound' });
    const denied = new JobsClient(api.url, { auth: { token: 'wrong' } });
    await expect(denied.runNow({ job_id: 7 })).rejects.toMatchObject({
      status: 403,
      errorCode: 'PERMISSION_DENIED',
    });
  });
});

describe('local Jobs API state across restarts', () => {
  it('keeps runs and tokens, and fails a run the previous process did not finish', async () => {
    const statePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'jobs-api-')), 'state.json');
    const runner = new ControlledRunner();
    const job = lakehouseJobDefinition(1);
    const first = await LocalJobsApi.start({ token: TOKEN, job, runner, statePath });
    const client = new JobsClient(first.url, { auth: { token: TOKEN } });
    const { run_id } = await client.runNow({ job_id: 1, idempotency_token: 'keep-me' });
    await eventually(
      'running',
      async () => (await client.getRun(run_id)).state.life_cycle_state === 'RUNNING',
    );
    // Simulate a crash: the state file as it was while the run was running.
    const snapshot = fs.readFileSync(statePath, 'utf8');
    await first.close();
    fs.writeFileSync(statePath, snapshot);
    const second = await LocalJobsApi.start({ token: TOKEN, job, runner: new ControlledRunner(), statePath });
    const again = new JobsClient(second.url, { auth: { token: TOKEN } });
    const run = await again.getRun(run_id);
    expect(run.state).toMatchObject({ life_cycle_state: 'INTERNAL_ERROR', result_state: 'FAILED' });
    expect(runOutcome(run)).toMatchObject({ kind: 'failed', notTheBatch: true });
    expect((await again.runNow({ job_id: 1, idempotency_token: 'keep-me' })).run_id).toBe(run_id);
    await second.close();
  });

  it('refuses a corrupt state file, naming it and what to do', async () => {
    const statePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'jobs-api-')), 'state.json');
    for (const text of ['{"nextRunId": 10, "runs": [', '[]']) {
      fs.writeFileSync(statePath, text);
      await expect(
        LocalJobsApi.start({
          token: TOKEN,
          job: lakehouseJobDefinition(1),
          runner: new ControlledRunner(),
          statePath,
        }),
      ).rejects.toThrow(`the local Jobs API's state ${statePath} cannot be read`);
    }
  });
});

describe('Jobs client against a plain HTTP server', () => {
  let server: http.Server;
  let url: string;
  let answer: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  const seen: http.IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.headers);
      answer(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const client = () => new JobsClient(url, { auth: { token: 't' } });

  it('reads 429 Retry-After as a transient error with its delay', async () => {
    answer = (_req, res) => {
      res.writeHead(429, { 'retry-after': '7', 'content-type': 'application/json' });
      res.end(JSON.stringify({ error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' }));
    };
    const error = (await client()
      .runNow({ job_id: 1 })
      .catch((e: unknown) => e)) as JobsApiError;
    expect(error).toMatchObject({
      status: 429,
      errorCode: 'REQUEST_LIMIT_EXCEEDED',
      retryAfterMs: 7000,
      transient: true,
    });
    expect(failureOf(error)).toEqual({ kind: 'transient', message: error.message, retryAfterMs: 7000 });
  });

  it('keeps the start of a gateway’s HTML error page', async () => {
    answer = (_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>Bad gateway</html>');
    };
    await expect(client().getRun(1)).rejects.toMatchObject({
      status: 502,
      errorCode: 'HTTP_502',
      detail: '<html>Bad gateway</html>',
      transient: true,
    });
  });

  it('reports a refused connection as a transient network error', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await new JobsClient(`http://127.0.0.1:${port}`, { auth: { token: 't' } })
      .getRun(1)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: undefined, errorCode: 'NETWORK_ERROR', transient: true });
    expect(errorMessage(error)).toMatch(/ECONNREFUSED/);
  });

  it('sends an Entra ID token for the Azure Databricks scope, fetched once while valid', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ run_id: 3, number_in_job: 3 }));
    };
    const scopes: string[] = [];
    const credential: TokenCredential = {
      getToken: async (scope): Promise<AccessToken> => {
        scopes.push(String(scope));
        return { token: 'entra-token', expiresOnTimestamp: Date.now() + 3600_000 };
      },
    };
    const entra = new JobsClient(url, { auth: { credential } });
    seen.length = 0;
    expect(await entra.runNow({ job_id: 1 })).toEqual({ run_id: 3, number_in_job: 3 });
    await entra.runNow({ job_id: 1 });
    expect(scopes).toEqual([DATABRICKS_SCOPE]);
    expect(seen.map((h) => h.authorization)).toEqual(['Bearer entra-token', 'Bearer entra-token']);
  });

  it('refuses to send a token over plain http to anything but this machine', () => {
    expect(() => new JobsClient('http://10.1.2.3:8080', { auth: { token: 't' } })).toThrow(
      /Jobs API at http:\/\/10\.1\.2\.3:8080 is not HTTPS: the token would travel unencrypted/,
    );
    expect(() => new JobsClient('http://localhost:8080', { auth: { token: 't' } })).not.toThrow();
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.UTC(2026, 0, 1, 0, 0, 0);
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });
});
