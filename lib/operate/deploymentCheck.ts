import type { CdcEvent } from '../cdc/event';
import type { GoldAnswer } from './goldReport';
import type { PipelineStatus } from './status';
import { errorMessage } from '../errorMessage';

/** A smoke-test step that failed: which one, and why. */
export class DeploymentCheckError extends Error {
  constructor(
    readonly step: 'status' | 'publish' | 'processing' | 'gold',
    message: string,
  ) {
    super(`smoke test, ${step}: ${message}`);
    this.name = 'DeploymentCheckError';
  }
}

export interface DeploymentCheckOptions {
  /** The app's base URL: `https://<app>.azurewebsites.net`, or the local stack's `http://127.0.0.1:7071`. */
  baseUrl: string;
  /** A function key (Azure); the local stack needs none. */
  key?: string;
  /** Order lines to publish (each a create and its delete). */
  lines?: number;
  timeoutMs?: number;
  pollMs?: number;
  progress?: (message: string) => void;
  abortSignal?: AbortSignal;
}

export interface DeploymentCheckResult {
  transactionNo: string;
  published: number;
  records: { before: number; after: number };
  run: { runId: number; startedAt: string | null } | null;
  gold: { engine: string; orders: number; lastChange: string | null };
  seconds: { recorded: number; processed: number; total: number };
}

/**
 * The deployment's end-to-end check through its public API only: publish order lines (each a
 * create and, with a higher lsn, its delete, so gold's figures are left as they were and silver
 * keeps only tombstones), wait until the ledger has recorded their records and a run that started
 * after them has succeeded (or nothing is unfinished), then read gold afresh.
 */
export async function checkDeployment(options: DeploymentCheckOptions): Promise<DeploymentCheckResult> {
  const lines = options.lines ?? 3;
  const timeoutMs = options.timeoutMs ?? 20 * 60_000;
  const pollMs = options.pollMs ?? 5_000;
  const progress = options.progress ?? (() => undefined);
  const call = async <T>(
    path: string,
    step: DeploymentCheckError['step'],
    init?: RequestInit,
  ): Promise<T> => {
    const url = new URL(`/api/${path}`, options.baseUrl);
    if (options.key) url.searchParams.set('code', options.key);
    let response: Response;
    try {
      response = await fetch(url, { ...init, signal: options.abortSignal });
    } catch (error) {
      throw new DeploymentCheckError(
        step,
        `${init?.method ?? 'GET'} ${url.origin}${url.pathname}: ${errorMessage(error)}`,
      );
    }
    const text = await response.text();
    if (!response.ok) {
      throw new DeploymentCheckError(
        step,
        `${url.pathname} answered ${response.status}: ${text.slice(0, 300)}`,
      );
    }
    return JSON.parse(text) as T;
  };
  const status = () => call<PipelineStatus>('status', 'status');

  const started = Date.now();
  const before = await status();
  const transactionNo = `SMOKE${started}`;
  const events = Array.from({ length: lines }, (_, i): CdcEvent[] => {
    const line = {
      TransactionNo: transactionNo,
      Date: new Date(started).toISOString().slice(0, 10),
      ProductNo: `SMOKE-${i}`,
      ProductName: 'orders-pipeline smoke test',
      Price: 1,
      Quantity: 1,
      CustomerNo: null,
      Country: 'Unspecified',
    };
    const source = { db: 'smoke', table: 'order_lines' };
    // lsn far above a shop's: the delete always outranks the create, whatever arrives first.
    const lsn = started * 1000 + 2 * i;
    return [
      { op: 'c', ts_ms: started, source: { ...source, lsn }, before: null, after: line },
      { op: 'd', ts_ms: started, source: { ...source, lsn: lsn + 1 }, before: line, after: null },
    ];
  }).flat();
  const accepted = await call<{ accepted: number[] }>('orders', 'publish', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(events),
  });
  if (accepted.accepted.length !== events.length) {
    throw new DeploymentCheckError(
      'publish',
      `${accepted.accepted.length} of ${events.length} events accepted`,
    );
  }
  progress(
    `published ${events.length} events (transaction ${transactionNo}); waiting for Capture and the trigger`,
  );

  let recordedAt: number | undefined;
  let done: { status: PipelineStatus; run: DeploymentCheckResult['run'] } | undefined;
  while (!done) {
    if (Date.now() - started > timeoutMs) {
      throw new DeploymentCheckError(
        'processing',
        recordedAt === undefined
          ? `the ledger did not record ${events.length} more records within ${timeoutMs / 1000} s (Capture, Event Grid, the trigger)`
          : `no run finished the recorded files within ${timeoutMs / 1000} s (see the dashboard's runs and backlog)`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    const now = await status();
    if (recordedAt === undefined && now.records - before.records >= events.length) {
      recordedAt = Date.now();
      progress(`recorded after ${((recordedAt - started) / 1000).toFixed(0)} s; waiting for a run`);
    }
    if (recordedAt === undefined) continue;
    const unfinished = now.files.pending + now.files.batched + now.files.submitted;
    const run = now.runs.recent.find(
      (r) => r.result === 'SUCCESS' && r.startedAt !== null && Date.parse(r.startedAt) >= started,
    );
    if (unfinished === 0 || run) {
      done = { status: now, run: run ? { runId: run.runId, startedAt: run.startedAt } : null };
    }
  }
  const processedAt = Date.now();
  progress(`processed after ${((processedAt - started) / 1000).toFixed(0)} s; reading gold`);
  const gold = await call<Extract<GoldAnswer, { status: 200 }>['body']>('gold?fresh=1', 'gold');
  return {
    transactionNo,
    published: events.length,
    records: { before: before.records, after: done.status.records },
    run: done.run,
    gold: { engine: gold.engine, orders: gold.totals.orders, lastChange: gold.totals.lastChange },
    seconds: {
      recorded: +((recordedAt! - started) / 1000).toFixed(1),
      processed: +((processedAt - started) / 1000).toFixed(1),
      total: +((Date.now() - started) / 1000).toFixed(1),
    },
  };
}
