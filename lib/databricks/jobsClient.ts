import type { TokenCredential } from '@azure/identity';
import {
  JOBS_API,
  RUNS_LIST_MAX_LIMIT,
  Run,
  RunNowRequest,
  RunNowResponse,
  RunsListResponse,
} from './jobsApi';

/** Entra ID resource of Azure Databricks: a token for this scope is accepted as a bearer token. */
export const DATABRICKS_SCOPE = '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default';

/** A personal access token, or an Entra ID credential (managed identity in Azure). */
export type DatabricksAuth = { token: string } | { credential: TokenCredential };

export interface JobsClientOptions {
  auth: DatabricksAuth;
  /** Per-request time limit; a request that takes longer fails as a (transient) network error. */
  timeoutMs?: number;
}

export interface OperationOptions {
  abortSignal?: AbortSignal;
}

export interface ListRunsOptions extends OperationOptions {
  jobId?: number;
  activeOnly?: boolean;
  completedOnly?: boolean;
}

/**
 * A failed Jobs API call: the HTTP status and Databricks `error_code` (or no status when the request
 * never got an answer), and whether trying again later can help.
 */
export class JobsApiError extends Error {
  constructor(
    readonly operation: string,
    readonly status: number | undefined,
    readonly errorCode: string,
    readonly detail: string,
    /** From a Retry-After header, in milliseconds. */
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(`${operation}: ${status ? `HTTP ${status} ${errorCode}` : errorCode}: ${detail}`, options);
    this.name = 'JobsApiError';
  }

  /** 429, 5xx and network failures are worth retrying; any other answer will not change. */
  get transient(): boolean {
    return (
      this.status === undefined ||
      this.status === 429 ||
      this.status >= 500 ||
      this.errorCode === 'TEMPORARILY_UNAVAILABLE'
    );
  }
}

const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Why a bearer token must not go to this URL, or undefined when it may: tokens travel over HTTPS
 * only; plain HTTP is for a loopback host alone (a local Jobs API on this machine).
 */
export function insecureTokenEndpoint(url: URL): string | undefined {
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return undefined;
  return `${url.protocol}//${url.host} is not HTTPS: the token would travel unencrypted (plain http is allowed for localhost, 127.0.0.1 and [::1] only)`;
}

/**
 * A thin typed client for the four Jobs API calls the orchestration makes. It never retries on
 * its own: the orchestration decides when to try again (durably, with Retry-After), so every
 * failure comes back as a JobsApiError.
 */
export class JobsClient {
  private readonly host: string;
  private cachedToken?: { token: string; expiresOn: number };

  constructor(
    host: string,
    private readonly options: JobsClientOptions,
  ) {
    this.host = host.replace(/\/+$/, '');
    const insecure = insecureTokenEndpoint(new URL(this.host));
    if (insecure) throw new Error(`Jobs API at ${insecure}`);
  }

  runNow(request: RunNowRequest, options: OperationOptions = {}): Promise<RunNowResponse> {
    return this.call<RunNowResponse>('run-now', 'POST', JOBS_API.runNow, request, options);
  }

  getRun(runId: number, options: OperationOptions = {}): Promise<Run> {
    return this.call<Run>('runs/get', 'GET', `${JOBS_API.runsGet}?run_id=${runId}`, undefined, options);
  }

  async cancelRun(runId: number, options: OperationOptions = {}): Promise<void> {
    await this.call<unknown>('runs/cancel', 'POST', JOBS_API.runsCancel, { run_id: runId }, options);
  }

  /** Every run matching the filter, newest first, fetched a page at a time. */
  async *listRuns(options: ListRunsOptions = {}): AsyncIterableIterator<Run> {
    let pageToken: string | undefined;
    do {
      const query = new URLSearchParams({ limit: String(RUNS_LIST_MAX_LIMIT) });
      if (options.jobId !== undefined) query.set('job_id', String(options.jobId));
      if (options.activeOnly) query.set('active_only', 'true');
      if (options.completedOnly) query.set('completed_only', 'true');
      if (pageToken) query.set('page_token', pageToken);
      const page = await this.call<RunsListResponse>(
        'runs/list',
        'GET',
        `${JOBS_API.runsList}?${query}`,
        undefined,
        options,
      );
      yield* page.runs ?? [];
      pageToken = page.has_more ? page.next_page_token : undefined;
    } while (pageToken);
  }

  private async call<T>(
    operation: string,
    method: 'GET' | 'POST',
    pathAndQuery: string,
    body: unknown,
    options: OperationOptions,
  ): Promise<T> {
    const signals = [AbortSignal.timeout(this.options.timeoutMs ?? 30_000)];
    if (options.abortSignal) signals.push(options.abortSignal);
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${this.host}${pathAndQuery}`, {
        method,
        headers: {
          authorization: `Bearer ${await this.token(options)}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.any(signals),
      });
      text = await response.text();
    } catch (error) {
      if (options.abortSignal?.aborted) throw error;
      const cause = (error as { cause?: { code?: string } }).cause;
      const code = cause?.code ?? (error as Error).name;
      throw new JobsApiError(operation, undefined, 'NETWORK_ERROR', `${this.host}: ${code}`, undefined, {
        cause: error,
      });
    }
    if (response.ok) {
      try {
        return (text === '' ? {} : JSON.parse(text)) as T;
      } catch (error) {
        throw new JobsApiError(
          operation,
          response.status,
          'INVALID_RESPONSE',
          'answer is not JSON',
          undefined,
          {
            cause: error,
          },
        );
      }
    }
    const { errorCode, message } = errorOf(response.status, text);
    throw new JobsApiError(
      operation,
      response.status,
      errorCode,
      message,
      retryAfterMs(response.headers.get('retry-after')),
    );
  }

  private async token(options: OperationOptions): Promise<string> {
    const auth = this.options.auth;
    if ('token' in auth) return auth.token;
    if (this.cachedToken && this.cachedToken.expiresOn - TOKEN_REFRESH_MARGIN_MS > Date.now()) {
      return this.cachedToken.token;
    }
    const token = await auth.credential.getToken(DATABRICKS_SCOPE, { abortSignal: options.abortSignal });
    if (!token) {
      throw new JobsApiError(
        'token',
        undefined,
        'UNAUTHENTICATED',
        `no Entra ID token for ${DATABRICKS_SCOPE}`,
      );
    }
    this.cachedToken = { token: token.token, expiresOn: token.expiresOnTimestamp };
    return token.token;
  }
}

function errorOf(status: number, text: string): { errorCode: string; message: string } {
  try {
    const body = JSON.parse(text) as { error_code?: unknown; message?: unknown };
    if (typeof body.error_code === 'string' || typeof body.message === 'string') {
      return {
        errorCode: typeof body.error_code === 'string' ? body.error_code : `HTTP_${status}`,
        message: typeof body.message === 'string' ? body.message : text,
      };
    }
  } catch {
    // Not JSON: a proxy or gateway answered; keep the start of its text.
  }
  return { errorCode: `HTTP_${status}`, message: text.slice(0, 300).trim() || '(no body)' };
}

/** Retry-After is delay-seconds or an HTTP date (RFC 9110, 10.2.3). */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
