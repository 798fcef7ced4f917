import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import type { JobRunner, LocalJobDefinition } from '../databricks/jobRunner';
import {
  ApiErrorBody,
  IDEMPOTENCY_TOKEN_MAX_LENGTH,
  JOBS_API,
  RUNS_LIST_MAX_LIMIT,
  Run,
} from '../databricks/jobsApi';
import { LocalJobRuns } from './localJobRuns';
import { errorMessage } from '../errorMessage';

export interface LocalJobsApiOptions {
  /** The bearer token requests must carry. */
  token: string;
  job: LocalJobDefinition;
  runner: JobRunner;
  /** Keeps runs and idempotency tokens across restarts of the server. */
  statePath?: string;
  host?: string;
  port?: number;
  /** A run past this ends TIMEDOUT (LOCAL_RUN_TIMEOUT_MINUTES); 60 minutes by default. */
  runTimeoutMs?: number;
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
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * A local stand-in for a workspace's Jobs API 2.2: the same paths, JSON shapes and errors, over the
 * runs of its one job (LocalJobRuns: life cycle, queue, idempotency tokens, persistence), which a
 * JobRunner (the DuckDB lakehouse) executes. This file is the HTTP face: routes, authentication and
 * request validation.
 */
export class LocalJobsApi {
  private server?: http.Server;
  private readonly runs: LocalJobRuns;

  private constructor(private readonly options: LocalJobsApiOptions) {
    this.runs = new LocalJobRuns({
      job: options.job,
      runner: options.runner,
      statePath: options.statePath,
      runTimeoutMs: options.runTimeoutMs,
      runPageUrl: (runId) => `${this.url}/#job/${options.job.jobId}/run/${runId}`,
    });
  }

  static async start(options: LocalJobsApiOptions): Promise<LocalJobsApi> {
    const api = new LocalJobsApi(options);
    await api.listen();
    api.runs.start();
    return api;
  }

  get url(): string {
    const address = this.server!.address() as AddressInfo;
    return `http://${this.options.host ?? '127.0.0.1'}:${address.port}`;
  }

  /** Stops accepting requests; runs in progress are cancelled, queued runs stay queued for a restart. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
    await this.runs.close(new Error('the local Jobs API stopped'));
  }

  /** Waits until no run is queued or running. */
  idle(): Promise<void> {
    return this.runs.idle();
  }

  private async listen(): Promise<void> {
    this.server = http.createServer((request, response) => {
      this.handle(request)
        .then(({ status, body }) => send(response, status, body))
        .catch((error: unknown) => {
          const apiError =
            error instanceof ApiError ? error : new ApiError(500, 'INTERNAL_ERROR', errorMessage(error));
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
    if (!sameSecret(match[1], this.options.token))
      throw new ApiError(403, 'PERMISSION_DENIED', 'Invalid access token.');
  }

  private runNow(body: Record<string, unknown>): { run_id: number; number_in_job: number } {
    const job = this.options.job;
    const jobId = integerField(body, 'job_id', true)!;
    if (jobId !== job.jobId) throw invalid(`Job ${jobId} does not exist.`);
    const parameters: Record<string, string> = {};
    if (body.job_parameters !== undefined) {
      if (!isPlainObject(body.job_parameters)) throw invalid('job_parameters must be a map of strings.');
      for (const [name, value] of Object.entries(body.job_parameters)) {
        // Own names only: `in` would accept inherited ones such as __proto__ or toString.
        if (!Object.hasOwn(job.parameters, name))
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
    }
    const runId = this.runs.submit(parameters, token);
    return { run_id: runId, number_in_job: runId };
  }

  private getRun(url: URL): Run {
    return this.find(integerParam(url, 'run_id'));
  }

  private cancel(body: Record<string, unknown>): Record<string, never> {
    this.runs.cancel(this.find(integerField(body, 'run_id', true)!).run_id);
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
    const matching = this.runs.list({ jobId, activeOnly, completedOnly });
    const page = matching.slice(offset, offset + limit);
    const hasMore = offset + limit < matching.length;
    return {
      ...(page.length > 0 ? { runs: page } : {}),
      has_more: hasMore,
      ...(hasMore ? { next_page_token: pageToken(offset + limit) } : {}),
      ...(offset > 0 ? { prev_page_token: pageToken(Math.max(0, offset - limit)) } : {}),
    };
  }

  private find(runId: number): Run {
    const run = this.runs.get(runId);
    if (!run) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Run ${runId} does not exist.`);
    return run;
  }
}

/** Compares in constant time (over fixed-length digests), so timing tells nothing about the token. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
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
