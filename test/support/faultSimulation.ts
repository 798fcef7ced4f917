/**
 * A seeded fault simulation of the whole event-driven loop: the real decision function, the real
 * performAction, the ledger (TableLedger) and manifests on Azurite, and the local Jobs API running
 * the lakehouse job on DuckDB — driven by a deterministic loop of our own with a virtual clock.
 *
 * One seed = one scenario: a few good Capture files (with bad records, updates and deletes across
 * files), one or two poison files (valid structure, a corrupt deflate block), sometimes a truncated
 * file, and faults injected at every I/O step from a seeded PRNG (mulberry32):
 *  - signals dropped or delivered twice; BlobCreated events lost, duplicated, or failing in the
 *    trigger and redelivered (the backlog timer re-triggers lost files);
 *  - host restarts between actions (the state thrown away, rebuilt from the ledger);
 *  - ports that throw before (nothing done) or after (done, answer lost) the real call: ledger,
 *    manifests, health; activity crashes retried as the Durable runtime would (5 s, ×2, 5 attempts),
 *    after which the orchestration fails until a signal or the backlog watchdog starts it again;
 *  - Jobs API answers through an HTTP proxy: 429 with Retry-After, 500, 503, connection resets,
 *    responses lost after the call succeeded (so run-now's idempotency token must find the run),
 *    504 after the call succeeded, and one 401 or 403 on run-now (submissions pause);
 *  - runs that fail after silver committed (gold fails), runs cancelled through the API, and
 *    restarts of the local Jobs API: graceful (the run in progress ends CANCELED) or a crash (its
 *    state file as last saved: a run it had started restores as INTERNAL_ERROR).
 * At quiescence it checks the ledger, the dead-letter index, a backlog report, the tables against a
 * clean single ingest of the good files, and the number and rate of runs.
 *
 * Time: waits advance the virtual clock to their end (or to the next scheduled event) at once; an
 * action costs ACTION_MS of virtual time; real time passes only for real I/O. A run executes only
 * when a poll lets it (a gate opened, then `api.idle()` awaited), so a seed replays the same way.
 */
import fs from 'node:fs';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  CaptureFileError,
  readCaptureBlocks,
  readCaptureRecords,
  summarizeCaptureFile,
} from '../../lib/capture/captureFileReader';
import { CdcEvent, OrderLine } from '../../lib/cdc/event';
import type { AppConfig } from '../../lib/config';
import { JobRunner, JobTaskError } from '../../lib/databricks/jobRunner';
import { JOBS_API } from '../../lib/databricks/jobsApi';
import { JobsClient } from '../../lib/databricks/jobsClient';
import { errorMessage } from '../../lib/errorMessage';
import { backlogPorts, jobLocations, openPipelinePorts } from '../../lib/host/pipelinePorts';
import { backlogSettings, pipelineSettings } from '../../lib/host/settings';
import { LAKEHOUSE_JOB_TASKS, LakehouseJob, lakehouseJobDefinition } from '../../lib/lakehouse/lakehouseJob';
import { BatchError, BatchFile, LocalLakehouse } from '../../lib/lakehouse/localLakehouse';
import { parseManifest } from '../../lib/lakehouse/manifest';
import {
  FINAL_STATES,
  FileState,
  Ledger,
  LedgerFile,
  LedgerPatch,
  TableLedger,
  storageTableClient,
} from '../../lib/ledger/ledger';
import { LocalJobsApi } from '../../lib/local/localJobsApi';
import { BacklogReport, WatermarkStore, runBacklog } from '../../lib/operate/backlog';
import { CaptureTriggerDeps, recordCaptureFile } from '../../lib/pipeline/captureRecording';
import { PipelinePorts, performAction } from '../../lib/pipeline/pipelineActions';
import {
  FileRef,
  PipelineAction,
  PipelineEvent,
  PipelineSettings,
  PipelineState,
  decideNext,
  initialState,
} from '../../lib/pipeline/pipelineDecision';
import {
  CaptureStore,
  captureStoreForConnection,
  locateStoredFile,
  readStoredFile,
} from '../../lib/storage/captureStore';
import { Body, captureBytes, change, line, withoutRunColumns } from '../lakehouse/lakehouseFixtures';

// ---------------------------------------------------------------------------------------------
// Seeded randomness

/** mulberry32: a tiny, fast, seedable PRNG. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}

/** A seed for an independent stream: (seed, salt) hashed (murmur3's finaliser). */
export function mix(seed: number, salt: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(salt + 0x7f4a7c15, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Fault rates and bookkeeping

export interface CallRate {
  /** The call throws before doing anything. */
  before: number;
  /** The call is done, then throws: its answer is lost. */
  after: number;
}

export interface FaultRates {
  /** The trigger's signal callback: dropped, or delivered twice. */
  signalDrop: number;
  signalDuplicate: number;
  /** BlobCreated never delivered (the backlog timer finds the file), or delivered twice. */
  eventLost: number;
  eventDuplicate: number;
  /** A host restart after an action: the in-memory state is thrown away. */
  hostRestart: number;
  /** An activity crashes (outside performAction's own error handling); the runtime retries it. */
  activityCrash: number;
  /** Of crash episodes: the share that outlasts all 5 attempts, so the orchestration fails. */
  activityCrashFatal: number;
  ledger: CallRate;
  ledgerList: CallRate;
  manifest: CallRate;
  health: CallRate;
  /** Per Jobs API request. */
  jobs429: number;
  jobs500: number;
  jobs503: number;
  jobsReset: number;
  /** The call went through, then the connection dropped (run-now: the run exists). */
  jobsLost: number;
  jobsLostRunNow: number;
  /** The call went through, then a gateway answered 504. */
  jobs504After: number;
  /** Chance that a scenario gets one 401 or 403 on run-now. */
  permanentOnce: number;
  /** Per run: fails after silver committed; cancelled through the API after bronze committed. */
  runGoldFails: number;
  runCancelled: number;
  /** Per poll: the local Jobs API restarts (run in progress CANCELED) or crashes (INTERNAL_ERROR). */
  apiRestart: number;
  /** Per poll that reaches the API: the run gets to finish before the answer. */
  runProgress: number;
}

export const DEFAULT_RATES: FaultRates = {
  signalDrop: 0.12,
  signalDuplicate: 0.12,
  eventLost: 0.08,
  eventDuplicate: 0.12,
  hostRestart: 0.03,
  activityCrash: 0.04,
  activityCrashFatal: 0.2,
  ledger: { before: 0.03, after: 0.03 },
  ledgerList: { before: 0.04, after: 0.02 },
  manifest: { before: 0.05, after: 0.05 },
  health: { before: 0.05, after: 0.05 },
  jobs429: 0.04,
  jobs500: 0.025,
  jobs503: 0.025,
  jobsReset: 0.02,
  jobsLost: 0.03,
  jobsLostRunNow: 0.12,
  jobs504After: 0.02,
  permanentOnce: 0.5,
  runGoldFails: 0.12,
  runCancelled: 0.08,
  apiRestart: 0.03,
  runProgress: 0.65,
};

/** Counters of injected faults (and, prefixed `recovered.`, `outcome.` or `workload.`, of what is not one). */
export class Tally {
  readonly counts = new Map<string, number>();

  add(kind: string, n = 1): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + n);
  }

  get(kind: string): number {
    return this.counts.get(kind) ?? 0;
  }

  /** Faults only (not recoveries or workload). */
  get faults(): number {
    let total = 0;
    for (const [kind, n] of this.counts) if (isFault(kind)) total += n;
    return total;
  }

  toObject(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}

export function isFault(kind: string): boolean {
  return !/^(recovered|workload|outcome)\./.test(kind);
}

/** A failure a wrapped port injects (Storage or network as performAction sees it: transient). */
export class InjectedFault extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InjectedFault';
  }
}

class Injector {
  constructor(
    private readonly random: Random,
    private readonly tally: Tally,
  ) {}

  /** Draws once: 'before', 'after' or undefined. */
  draw(rate: CallRate): 'before' | 'after' | undefined {
    const r = this.random.next();
    if (r < rate.before) return 'before';
    if (r < rate.before + rate.after) return 'after';
    return undefined;
  }

  async around<T>(
    site: string,
    rate: CallRate,
    call: () => Promise<T>,
    done?: (value: T) => void,
  ): Promise<T> {
    const fault = this.draw(rate);
    if (fault === 'before') {
      this.tally.add(`${site}.before`);
      throw new InjectedFault(`${site}: injected failure before the call`);
    }
    const value = await call();
    done?.(value);
    if (fault === 'after') {
      this.tally.add(`${site}.after`);
      throw new InjectedFault(`${site}: injected failure after the call (its answer lost)`);
    }
    return value;
  }

  async *aroundIterable<T>(site: string, rate: CallRate, list: () => AsyncIterable<T>): AsyncIterable<T> {
    const fault = this.draw(rate);
    if (fault === 'before') {
      this.tally.add(`${site}.before`);
      throw new InjectedFault(`${site}: injected failure before the call`);
    }
    yield* list();
    if (fault === 'after') {
      this.tally.add(`${site}.after`);
      throw new InjectedFault(`${site}: injected failure after the listing`);
    }
  }
}

/** Every state the ledger was asked to write per path, in order, as far as the write happened. */
class StateWrites {
  readonly byPath = new Map<string, { state: FileState; via: string }[]>();

  note(path: string, state: FileState | undefined, via: string): void {
    if (!state) return;
    const list = this.byPath.get(path) ?? [];
    list.push({ state, via });
    this.byPath.set(path, list);
  }

  /** A final state written, then anything else (another final state, or the file reopened). */
  contradictions(): string[] {
    const problems: string[] = [];
    for (const [file, writes] of this.byPath) {
      const first = writes.findIndex((w) => FINAL_STATES.includes(w.state));
      if (first < 0) continue;
      const later = writes.slice(first + 1).filter((w) => w.state !== writes[first].state);
      if (later.length > 0) {
        problems.push(
          `ledger: ${file} written ${writes[first].state} (${writes[first].via}), then ${later
            .map((w) => `${w.state} (${w.via})`)
            .join(', ')}`,
        );
      }
    }
    return problems;
  }
}

// ---------------------------------------------------------------------------------------------
// Faulty ports

/**
 * A port whose every method may fail before or after the real call. Methods named `list…` return
 * async iterables (failing before the first row, or after the last); the rest return promises.
 * A proxy rather than a class, so a method added to the port later is covered as well.
 */
function faultyPort<T extends object>(
  real: T,
  site: string,
  inject: Injector,
  rateOf: (method: string) => CallRate,
  observe?: (method: string, args: unknown[], result: unknown) => void,
): T {
  return new Proxy(real, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      const method = property;
      const call = (args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(target, args);
      return (...args: unknown[]) =>
        method.startsWith('list')
          ? inject.aroundIterable(
              `${site}.${method}`,
              rateOf(method),
              () => call(args) as AsyncIterable<unknown>,
            )
          : inject.around(
              `${site}.${method}`,
              rateOf(method),
              () => call(args) as Promise<unknown>,
              (result) => observe?.(method, args, result),
            );
    },
  });
}

/** The ledger with faults; the states it writes are noted (as far as each write happened). */
function faultyLedger(real: Ledger, inject: Injector, rates: FaultRates, writes: StateWrites): Ledger {
  return faultyPort(
    real,
    'ledger',
    inject,
    (method) => (method.startsWith('list') ? rates.ledgerList : rates.ledger),
    (method, args, result) => {
      if (method === 'insert' && result === 'inserted') {
        const file = args[0] as LedgerFile;
        writes.note(file.path, file.state, 'insert');
      } else if (method === 'update') {
        for (const { path, patch } of args[0] as { path: string; patch: LedgerPatch }[]) {
          writes.note(path, patch.state, `update ${patch.batchId ?? ''}`.trim());
        }
      } else if (method === 'requeue') {
        writes.note((args[0] as LedgerFile).path, 'pending', 'requeue');
      }
    },
  );
}

// ---------------------------------------------------------------------------------------------
// The Jobs API side: a fault proxy, a gate that lets runs execute only when a poll allows it, and
// a runner that can fail a run after silver or cancel it through the API.

type Route = 'run-now' | 'runs/get' | 'runs/list' | 'runs/cancel' | 'other';

export type ProxyFault =
  | { kind: 'answer'; label: string; status: number; headers?: Record<string, string>; body: unknown }
  | { kind: 'reset'; label: string }
  | { kind: 'lost'; label: string }
  | { kind: 'gateway'; label: string }
  | undefined;

function routeOf(url: string): Route {
  const pathname = new URL(url, 'http://localhost').pathname;
  if (pathname === JOBS_API.runNow) return 'run-now';
  if (pathname === JOBS_API.runsGet) return 'runs/get';
  if (pathname === JOBS_API.runsList) return 'runs/list';
  if (pathname === JOBS_API.runsCancel) return 'runs/cancel';
  return 'other';
}

/** An HTTP proxy in front of the local Jobs API; the simulation decides each request's fate. */
class JobsProxy {
  target = '';

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(
    decide: (route: Route) => Promise<ProxyFault>,
    answered: (route: Route, status: number, text: string) => void,
  ): Promise<JobsProxy> {
    const self: { proxy?: JobsProxy } = {};
    const server = http.createServer((req, res) => {
      void (async () => {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const route = routeOf(req.url ?? '/');
        const fault = await decide(route);
        if (fault?.kind === 'answer') {
          res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
          res.end(JSON.stringify(fault.body));
          return;
        }
        if (fault?.kind === 'reset') {
          req.socket.destroy();
          return;
        }
        const response = await fetch(`${self.proxy!.target}${req.url}`, {
          method: req.method,
          headers: {
            authorization: req.headers.authorization ?? '',
            ...(req.method === 'POST' ? { 'content-type': 'application/json' } : {}),
          },
          body: req.method === 'POST' ? Buffer.concat(chunks) : undefined,
        });
        const text = await response.text();
        answered(route, response.status, text);
        if (fault?.kind === 'lost') {
          req.socket.destroy();
          return;
        }
        if (fault?.kind === 'gateway') {
          res.writeHead(504, { 'content-type': 'text/html' });
          res.end('<html><body>504 Gateway Time-out</body></html>');
          return;
        }
        res.writeHead(response.status, { 'content-type': 'application/json' });
        res.end(text);
      })().catch((error: unknown) => {
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error_code: 'BAD_GATEWAY', message: errorMessage(error) }));
        } else {
          res.destroy();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self.proxy = new JobsProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return self.proxy;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/** Holds runs back until a poll opens it, so a run's progress is decided by the seed, not the clock. */
class RunGate {
  private open = false;
  private readonly waiting = new Set<() => void>();

  pass(signal: AbortSignal): Promise<void> {
    if (this.open) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const release = () => {
        signal.removeEventListener('abort', aborted);
        this.waiting.delete(release);
        resolve();
      };
      const aborted = () => {
        this.waiting.delete(release);
        reject(signal.reason instanceof Error ? signal.reason : new Error('Run cancelled.'));
      };
      if (signal.aborted) return aborted();
      signal.addEventListener('abort', aborted, { once: true });
      this.waiting.add(release);
    });
  }

  /** Lets every held and queued run go until `work` settles (it awaits the API's idle). */
  async openWhile(work: () => Promise<void>): Promise<void> {
    this.open = true;
    for (const release of [...this.waiting]) release();
    try {
      await work();
    } finally {
      this.open = false;
    }
  }
}

type RunPlan = 'ok' | 'goldFails' | 'cancelled';

/**
 * The job's runner for the simulation: held at the gate, then either the real LakehouseJob, or its
 * steps bronze and silver followed by a failed gold task, or bronze followed by a cancel through
 * the Jobs API (a platform failure: CANCELED).
 */
class SimRunner implements JobRunner {
  readonly taskKeys = LAKEHOUSE_JOB_TASKS;
  /** Injected counted failures of each file while it ran alone (kept below RUN_MAX_ATTEMPTS). */
  private readonly aloneFailures = new Map<string, number>();

  constructor(
    private readonly inner: LakehouseJob,
    private readonly lakehouse: LocalLakehouse,
    private readonly gate: RunGate,
    private readonly options: {
      seed: number;
      rates: FaultRates;
      maxAttempts: number;
      tally: Tally;
      cancel: (runId: number) => Promise<void>;
    },
  ) {}

  async run(
    parameters: Record<string, string>,
    options: { runId: number; signal: AbortSignal },
  ): Promise<void> {
    await this.gate.pass(options.signal);
    const batchId = parameters.batch_id ?? '';
    const manifestPath = parameters.manifest_path ?? '';
    let files: BatchFile[];
    let urls: string[];
    try {
      const manifest = parseManifest(
        (await readStoredFile(manifestPath, { signal: options.signal })).toString('utf8'),
        manifestPath,
      );
      urls = manifest.files.map((f) => f.url);
      files = urls.map((url) => locateStoredFile(url));
    } catch {
      // The real job reports whatever is wrong with the manifest.
      return this.inner.run(parameters, options);
    }
    const plan = this.planFor(options.runId, urls);
    if (plan === 'ok') return this.inner.run(parameters, options);
    const { signal } = options;
    try {
      await this.lakehouse.bronze(files, { batchId, signal });
      if (plan === 'cancelled') {
        this.options.tally.add('run.cancelledViaApi');
        await this.options.cancel(options.runId);
        signal.throwIfAborted();
        throw new Error('runs/cancel did not cancel the running run');
      }
      signal.throwIfAborted();
      await this.lakehouse.silver(batchId);
    } catch (error) {
      if (signal.aborted) throw error;
      throw new JobTaskError(error instanceof BatchError ? error.step : 'bronze', errorMessage(error), {
        cause: error,
      });
    }
    this.options.tally.add('run.goldFailsAfterSilver');
    if (urls.length === 1) this.aloneFailures.set(urls[0], (this.aloneFailures.get(urls[0]) ?? 0) + 1);
    throw new JobTaskError('gold', 'injected: the gold task failed after silver committed');
  }

  private planFor(runId: number, urls: string[]): RunPlan {
    const random = new Random(mix(this.options.seed, 1_000_003 + runId));
    const r = random.next();
    const { runGoldFails, runCancelled } = this.options.rates;
    if (r < runGoldFails) {
      // A good file alone must not be failed RUN_MAX_ATTEMPTS times: that would dead-letter it.
      const alone = urls.length === 1 ? (this.aloneFailures.get(urls[0]) ?? 0) : 0;
      return alone < this.options.maxAttempts - 1 ? 'goldFails' : 'ok';
    }
    if (r < runGoldFails + runCancelled) return 'cancelled';
    return 'ok';
  }
}

// ---------------------------------------------------------------------------------------------
// Workload

export type FileKind = 'good' | 'poison' | 'truncated';

export interface SimFile {
  kind: FileKind;
  path: string;
  partition: string;
  windowStart: number;
  bytes: Buffer;
  records: number;
}

/** Virtual time zero: a few minutes before an hour, so files fall into two ledger partitions. */
export const T0 = Date.UTC(2026, 10, 24, 9, 57, 0);
const MINUTE = 60_000;
const HOUR = 3_600_000;

const TRANSACTIONS = ['T100', 'T101', 'T102', 'C103', 'T104'];
const PRODUCTS = ['P1', 'P2', 'P3', 'P4'];
const DATES = ['2019-12-09', '12/10/2019', '2019-12-11', '2020-01-02'];
const PRICES = [21.47, 1.25, 3.5, 10, 0.99, 12.345];
const CUSTOMERS: OrderLine['CustomerNo'][] = ['17490', 13085, null, '12583', 17490.0];
const COUNTRIES: OrderLine['Country'][] = ['United Kingdom', 'France', null, 'Germany'];

const BAD_BODIES: Body[] = [
  '{not json',
  JSON.stringify({ op: 'x', ts_ms: 1, source: { lsn: 5 }, before: null, after: line() }),
  JSON.stringify({ op: 'c', ts_ms: 1, source: { lsn: -1 }, before: null, after: line() }),
  JSON.stringify({
    op: 'c',
    ts_ms: 1,
    source: { lsn: 7 },
    before: null,
    after: { ...line(), TransactionNo: '' },
  }),
  JSON.stringify({ op: 'c', ts_ms: 1, source: { lsn: 8 }, before: null, after: line({ Price: -1 }) }),
  JSON.stringify({ op: 'c', ts_ms: 1, source: { lsn: 9 }, before: null, after: line({ Quantity: 0 }) }),
  JSON.stringify({
    op: 'c',
    ts_ms: 1,
    source: { lsn: 10 },
    before: null,
    after: line({ Date: '2019-02-30' }),
  }),
  null,
];

function orderLine(random: Random, transactionNo: string, productNo: string): OrderLine {
  const quantity = random.int(1, 12);
  return line({
    TransactionNo: transactionNo,
    ProductNo: productNo,
    ProductName: `Product ${productNo}`,
    Price: random.pick(PRICES),
    Quantity: transactionNo.startsWith('C') ? -quantity : quantity,
    Date: random.pick(DATES),
    CustomerNo: random.pick(CUSTOMERS),
    Country: random.pick(COUNTRIES),
  });
}

async function* once(bytes: Buffer): AsyncIterable<Buffer> {
  yield bytes;
}

function skipVarint(bytes: Buffer, at: number): number {
  let pos = at;
  while (bytes[pos] & 0x80) pos++;
  return pos + 1;
}

/**
 * A poison file: the Capture file's structure intact (header, block headers, sync markers: the
 * trigger counts its records), one block's deflate data damaged in place (its first block header
 * says BTYPE 3, which is reserved), so decoding fails in bronze. Checked both ways.
 */
export async function poisonFile(bodies: Body[], windowStart: Date, random: Random): Promise<Buffer> {
  const bytes = await captureBytes(bodies, windowStart);
  const blocks: number[] = [];
  for await (const block of readCaptureBlocks(once(bytes), { file: 'poison' })) blocks.push(block.offset);
  const damaged = Buffer.from(bytes);
  const dataStart = skipVarint(damaged, skipVarint(damaged, random.pick(blocks)));
  damaged[dataStart] |= 0x06;
  const summary = await summarizeCaptureFile(once(damaged), { file: 'poison' });
  if (summary.records !== bodies.length || damaged.length !== bytes.length) {
    throw new Error(`poison file: the trigger would count ${summary.records} of ${bodies.length} records`);
  }
  try {
    for await (const record of readCaptureRecords(once(damaged), { file: 'poison' })) void record;
  } catch (error) {
    if (error instanceof CaptureFileError && error.kind === 'corrupt') return damaged;
    throw error;
  }
  throw new Error('poison file: it still decodes');
}

/** Good files (changes across files, late events, redeliveries, bad records), poison, truncated. */
async function buildWorkload(random: Random, config: AppConfig, size: ScenarioSize): Promise<SimFile[]> {
  const goodCount = size === 'small' ? random.int(2, 4) : random.int(4, 8);
  const poisonCount = size === 'small' ? (random.chance(0.25) ? 2 : 1) : random.int(1, 2);
  const truncatedCount = random.chance(size === 'small' ? 0.15 : 0.3) ? 1 : 0;
  const kinds: FileKind[] = random.shuffle([
    ...Array<FileKind>(goodCount).fill('good'),
    ...Array<FileKind>(poisonCount).fill('poison'),
    ...Array<FileKind>(truncatedCount).fill('truncated'),
  ]);
  const partitions = config.EVENTHUB_PARTITIONS;
  const slots = kinds.map((kind, i) => ({
    kind,
    partition: String(i % partitions),
    windowStart: T0 + Math.floor(i / partitions) * config.CAPTURE_WINDOW_SECONDS * 1000,
  }));

  // The good files' changes: lsn order is not file order; some keys updated and deleted later.
  const goodBodies: Body[][] = Array.from({ length: goodCount }, () => []);
  const live = new Map<string, OrderLine>();
  const changes: CdcEvent[] = [];
  const total = goodCount * (size === 'small' ? random.int(2, 5) : random.int(3, 7));
  for (let lsn = 1; lsn <= total; lsn++) {
    const transactionNo = random.pick(TRANSACTIONS);
    const productNo = random.pick(PRODUCTS);
    const key = `${transactionNo}|${productNo}`;
    const current = live.get(key);
    let event: CdcEvent;
    if (!current) {
      event = change(random.chance(0.85) ? 'c' : 'r', lsn, orderLine(random, transactionNo, productNo));
      live.set(key, event.after!);
    } else if (random.chance(0.3)) {
      event = change('d', lsn, current);
      live.delete(key);
    } else {
      event = change('u', lsn, orderLine(random, transactionNo, productNo));
      live.set(key, event.after!);
    }
    changes.push(event);
  }
  for (const event of changes) goodBodies[random.int(0, goodCount - 1)].push(event);
  // Redeliveries of the same change (same lsn) into another file, and bad records.
  for (let i = 0; i < Math.max(1, Math.floor(total / 8)); i++) {
    goodBodies[random.int(0, goodCount - 1)].push(random.pick(changes));
  }
  for (let i = 0; i < random.int(1, goodCount); i++) {
    goodBodies[random.int(0, goodCount - 1)].push(random.pick(BAD_BODIES));
  }
  for (const bodies of goodBodies) {
    if (bodies.length === 0) bodies.push(random.pick(changes));
    random.shuffle(bodies);
  }

  const files: SimFile[] = [];
  let good = 0;
  for (const slot of slots) {
    const windowStart = new Date(slot.windowStart);
    const filePath = config.CAPTURE_PATH_FORMAT.build({
      namespace: config.EVENTHUB_NAMESPACE,
      eventHub: config.EVENTHUB_NAME,
      partitionId: slot.partition,
      windowStart,
    });
    let bodies: Body[];
    let bytes: Buffer;
    if (slot.kind === 'good') {
      bodies = goodBodies[good++];
      bytes = await captureBytes(bodies, windowStart);
    } else {
      // Changes that would show in silver if anything of these files were ever applied.
      bodies = Array.from({ length: random.int(8, size === 'small' ? 12 : 20) }, (_, i) =>
        change('c', total + 1000 + i, orderLine(random, random.pick(TRANSACTIONS), `X${i % 3}`)),
      );
      if (slot.kind === 'poison') {
        bytes = await poisonFile(bodies, windowStart, random);
      } else {
        const whole = await captureBytes(bodies, windowStart);
        bytes = whole.subarray(0, whole.length - random.int(5, 30));
      }
    }
    files.push({ ...slot, path: filePath, bytes, records: bodies.length });
  }
  return files;
}

/** A file as the trail names it: its kind, partition and window minute (good p1 09:57). */
function shortName(filePath: string, files: SimFile[]): string {
  const file = files.find((f) => f.path === filePath);
  if (!file) return filePath;
  const at = new Date(file.windowStart).toISOString().slice(11, 16);
  return `${file.kind} p${file.partition} ${at}`;
}

// ---------------------------------------------------------------------------------------------
// The scenario

/** Virtual time an action takes. */
const ACTION_MS = 200;
/** The Durable activity retry policy of the host: first retry after 5 s, ×2, 5 attempts. */
const ACTIVITY_ATTEMPTS = 5;
const ACTIVITY_FIRST_RETRY_MS = 5_000;
/** Event Grid's redelivery after a failed trigger: its schedule, then it gives up (dead-letters). */
const EVENT_GRID_RETRIES_MS = [10_000, 30_000, 60_000, 5 * MINUTE, 10 * MINUTE];

const TOKEN = 'dapi-fault-simulation';

type IoAction = Exclude<PipelineAction, { kind: 'wait' | 'continueAsNew' }>;

export type ScenarioSize = 'small' | 'full';

export interface ScenarioOptions {
  rates?: Partial<FaultRates>;
  /** small: 2-4 good files and mostly one poison file (npm test); full: 4-8 good, 1-2 poison (bench). */
  size?: ScenarioSize;
  /** A clean-ingest lakehouse to reuse across scenarios (emptied before each use); else one per scenario. */
  reference?: CleanReference;
  /** Guard against livelock: at most this many orchestration actions. */
  maxActions?: number;
  /** And at most this much virtual time. */
  maxVirtualMs?: number;
}

export interface ScenarioResult {
  seed: number;
  ok: boolean;
  problems: string[];
  tally: Record<string, number>;
  faults: number;
  files: { good: number; poison: number; truncated: number };
  settings: { batchMaxFiles: number; maxAttempts: number; retryBaseSeconds: number };
  /** Distinct runs that run-now created, and run-now calls made. */
  runs: number;
  runNowCalls: number;
  maxRunsPerMinute: number;
  actions: number;
  virtualMs: number;
  realMs: number;
  /** Real milliseconds spent: workload, actions (runs included), runs executing, backlog timer, checks. */
  timings: Record<string, number>;
  /** The last log entries and steps, for a failure's context. */
  trail: string[];
}

interface Scheduled {
  at: number;
  seq: number;
  label: string;
  run: () => Promise<void>;
}

let scenarios = 0;

/** Runs one seed's scenario on the given base configuration (its Azurite); never throws for a failed check. */
export async function runFaultScenario(
  seed: number,
  base: AppConfig,
  options: ScenarioOptions = {},
): Promise<ScenarioResult> {
  const started = performance.now();
  const rates: FaultRates = { ...DEFAULT_RATES, ...options.rates };
  const workloadRandom = new Random(mix(seed, 1));
  const random = new Random(mix(seed, 2));
  const tally = new Tally();
  const inject = new Injector(random, tally);
  const writes = new StateWrites();
  const problems: string[] = [];
  const trail: string[] = [];
  const tag = `${process.pid}s${seed}n${++scenarios}`;
  // Steps name storage and ports without what is unique to this run, so a replay reads the same.
  const note = (entry: string) => {
    trail.push(
      entry
        .split(tag)
        .join('')
        .replace(/127\.0\.0\.1:\d+/g, 'localhost')
        .slice(0, 400),
    );
    if (trail.length > 400) trail.shift();
  };

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `faults-${seed}-`));
  const config: AppConfig = {
    ...base,
    CAPTURE_CONTAINER: `fcap${tag}`,
    MANIFEST_CONTAINER: `fman${tag}`,
    LEDGER_TABLE: `fl${tag}`,
    LOCAL_DATA_DIR: dataDir,
    EVENTHUB_PARTITIONS: 2,
    CAPTURE_WINDOW_SECONDS: 60,
    BATCH_WAIT_SECONDS: 60,
    BATCH_MAX_FILES: workloadRandom.int(2, 5),
    RUN_POLL_SECONDS: 30,
    RUN_MAX_ATTEMPTS: workloadRandom.pick([1, 2, 3]),
    RETRY_BASE_SECONDS: 15,
    RETRY_MAX_SECONDS: 300,
    LEDGER_SWEEP_SECONDS: 300,
    PERMANENT_ERROR_PAUSE_MINUTES: 5,
    PLATFORM_ALERT_AFTER: 5,
    BACKLOG_INTERVAL_MINUTES: 5,
    BACKLOG_GRACE_MINUTES: 2,
    RETENTION_DAYS: 1,
    DATABRICKS_JOB_ID: 1,
  };
  const settings: PipelineSettings = pipelineSettings(config);
  const maxActions = options.maxActions ?? 4000;
  const maxVirtualMs = options.maxVirtualMs ?? 24 * HOUR;

  const timings: Record<string, number> = {};
  const timed = <T>(what: string, work: Promise<T>): Promise<T> => {
    const from = performance.now();
    return work.finally(() => (timings[what] = (timings[what] ?? 0) + performance.now() - from));
  };
  const clock = { now: T0 };
  const cleanup: (() => Promise<unknown>)[] = [
    async () => fs.rmSync(dataDir, { recursive: true, force: true }),
  ];
  const runsCreated = new Map<number, number>();
  let runNowCalls = 0;
  let actions = 0;
  const files: SimFile[] = [];
  try {
    const captureStore: CaptureStore = captureStoreForConnection(
      config.CaptureStorage,
      config.CAPTURE_CONTAINER,
    );
    files.push(...(await timed('workload', buildWorkload(workloadRandom, config, options.size ?? 'full'))));
    for (const file of files) {
      const upload = await captureStore.create(file.path);
      await upload.append(file.bytes);
      await upload.commit();
      tally.add(`workload.${file.kind}`);
    }
    const good = files.filter((f) => f.kind === 'good');
    const dead = files.filter((f) => f.kind !== 'good');

    // The Jobs API on DuckDB, behind the fault proxy.
    const lakehouse = await LocalLakehouse.open(path.join(dataDir, 'lakehouse.duckdb'), {
      pathFormat: config.CAPTURE_PATH_FORMAT,
    });
    cleanup.push(() => lakehouse.close());
    const gate = new RunGate();
    const runner: JobRunner = new SimRunner(
      new LakehouseJob(lakehouse, jobLocations(config)),
      lakehouse,
      gate,
      {
        seed,
        rates,
        maxAttempts: config.RUN_MAX_ATTEMPTS,
        tally,
        cancel: (runId: number): Promise<void> =>
          new JobsClient(api.url, { auth: { token: TOKEN } }).cancelRun(runId),
      },
    );
    const statePath = path.join(dataDir, 'jobs-api.json');
    const startApi = (): Promise<LocalJobsApi> =>
      LocalJobsApi.start({
        token: TOKEN,
        job: lakehouseJobDefinition(config.DATABRICKS_JOB_ID),
        runner,
        statePath,
      });
    let api: LocalJobsApi = await startApi();
    cleanup.push(() => api.close());
    const direct = () => new JobsClient(api.url, { auth: { token: TOKEN } });
    /** Lets held runs execute and waits until none is queued or running. */
    const finishRuns = () =>
      timed(
        'runs',
        gate.openWhile(() => api.idle()),
      );

    let runNowRequests = 0;
    const permanent = random.chance(rates.permanentOnce)
      ? { at: random.int(1, 3), status: random.pick([401, 403]) }
      : undefined;

    const decideProxy = async (route: Route): Promise<ProxyFault> => {
      if (route === 'run-now' && ++runNowRequests === permanent?.at) {
        tally.add(`jobs.${permanent.status}`);
        return permanent.status === 401
          ? {
              kind: 'answer',
              label: '401',
              status: 401,
              body: {
                error_code: 'UNAUTHENTICATED',
                message: 'Credential was not sent or was of an unsupported type for this API.',
              },
            }
          : {
              kind: 'answer',
              label: '403',
              status: 403,
              body: { error_code: 'PERMISSION_DENIED', message: 'Invalid access token.' },
            };
      }
      const r = random.next();
      let edge = rates.jobs429;
      if (r < edge) {
        const seconds = random.int(1, 90);
        tally.add('jobs.429');
        return {
          kind: 'answer',
          label: '429',
          status: 429,
          headers: { 'retry-after': String(seconds) },
          body: { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'Too many requests, try again later.' },
        };
      }
      if (r < (edge += rates.jobs500)) {
        tally.add('jobs.500');
        return {
          kind: 'answer',
          label: '500',
          status: 500,
          body: { error_code: 'INTERNAL_ERROR', message: 'injected' },
        };
      }
      if (r < (edge += rates.jobs503)) {
        tally.add('jobs.503');
        return {
          kind: 'answer',
          label: '503',
          status: 503,
          body: { error_code: 'TEMPORARILY_UNAVAILABLE', message: 'injected' },
        };
      }
      if (r < (edge += rates.jobsReset)) {
        tally.add('jobs.resetBefore');
        return { kind: 'reset', label: 'reset' };
      }
      let fault: ProxyFault;
      if (r < (edge += route === 'run-now' ? rates.jobsLostRunNow : rates.jobsLost)) {
        tally.add(route === 'run-now' ? 'jobs.runNowAnswerLost' : 'jobs.answerLost');
        fault = { kind: 'lost', label: 'lost' };
      } else if (r < edge + rates.jobs504After) {
        tally.add('jobs.504AfterCall');
        fault = { kind: 'gateway', label: '504' };
      }
      if (route === 'runs/get') {
        if (random.chance(rates.apiRestart)) {
          // Graceful: close() cancels the run in progress (CANCELED). A crash: the state file is left
          // as last saved, so a run saved as PENDING restores as INTERNAL_ERROR, a QUEUED one runs.
          const crash = random.chance(0.5);
          tally.add(crash ? 'platform.jobsApiCrash' : 'platform.jobsApiRestart');
          note(`t+${Math.round((clock.now - T0) / 1000)}s jobs api ${crash ? 'crash' : 'restart'}`);
          const persisted = crash && fs.existsSync(statePath) ? fs.readFileSync(statePath) : undefined;
          await api.close();
          if (persisted) fs.writeFileSync(statePath, persisted);
          api = await startApi();
          proxy.target = api.url;
        }
        if (random.chance(rates.runProgress)) await finishRuns();
      }
      return fault;
    };
    const proxy = await JobsProxy.start(decideProxy, (route, status, text) => {
      if (route !== 'run-now' || status !== 200) return;
      runNowCalls++;
      const runId = (JSON.parse(text) as { run_id: number }).run_id;
      if (!runsCreated.has(runId)) runsCreated.set(runId, clock.now);
    });
    proxy.target = api.url;
    cleanup.push(() => proxy.close());

    const log: PipelinePorts['log'] = (entry) => {
      const { event, batchId, runId, attempt, kind, message, error } = entry as Record<string, unknown>;
      note(
        `t+${Math.round((clock.now - T0) / 1000)}s ${String(event)}${batchId ? ` ${String(batchId)}` : ''}` +
          `${attempt ? ` #${String(attempt)}` : ''}${runId ? ` run ${String(runId)}` : ''}` +
          `${kind ? ` ${String(kind)}` : ''}${message || error ? `: ${String(message ?? error)}` : ''}`,
      );
    };
    const real = await openPipelinePorts(config, { host: proxy.url, auth: { token: TOKEN } }, log);
    const realLedger = real.ledger as TableLedger;
    const ports: PipelinePorts = {
      ...real,
      ledger: faultyLedger(realLedger, inject, rates, writes),
      manifests: faultyPort(real.manifests, 'manifest', inject, () => rates.manifest),
      health: faultyPort(real.health, 'health', inject, () => rates.health),
      now: () => clock.now,
    };
    // The backlog timer has been running: everything before this hour is recorded.
    const watermarks = new WatermarkStore(
      storageTableClient(config.AzureWebJobsStorage, `${config.LEDGER_TABLE}State`),
    );
    await watermarks.read();
    await watermarks.write({ hour: Math.floor(T0 / HOUR) * HOUR, newestSucceededCapture: null });

    // The orchestration.
    const orchestration = {
      running: true,
      state: initialState(T0) as PipelineState,
      event: { kind: 'start' } as PipelineEvent,
      signals: [] as FileRef[],
    };
    const startOrchestration = (cause: string) => {
      tally.add(cause);
      note(`t+${Math.round((clock.now - T0) / 1000)}s orchestration started (${cause})`);
      Object.assign(orchestration, {
        running: true,
        state: initialState(clock.now),
        event: { kind: 'start' },
        signals: [],
      });
    };

    // The world around it: BlobCreated deliveries and the backlog timer, on the virtual clock.
    const scheduled: Scheduled[] = [];
    let seq = 0;
    const schedule = (at: number, label: string, run: () => Promise<void>) => {
      scheduled.push({ at, seq: seq++, label, run });
      scheduled.sort((a, b) => a.at - b.at || a.seq - b.seq);
    };
    const runDue = async () => {
      while (scheduled.length > 0 && scheduled[0].at <= clock.now) await scheduled.shift()!.run();
    };
    const pendingDeliveries = () => scheduled.filter((s) => s.label === 'blobCreated').length;

    const signal: CaptureTriggerDeps['signal'] = async (file) => {
      const r = random.next();
      // signalOrchestration: the singleton started if it is not running, then the event raised.
      if (!orchestration.running) startOrchestration('recovered.startedBySignal');
      if (r < rates.signalDrop) {
        tally.add('signal.dropped');
        return;
      }
      orchestration.signals.push(file);
      if (r < rates.signalDrop + rates.signalDuplicate) {
        tally.add('signal.duplicated');
        orchestration.signals.push(file);
      }
    };
    const triggerDeps: CaptureTriggerDeps = {
      ledger: ports.ledger,
      pathFormat: config.CAPTURE_PATH_FORMAT,
      signal,
      now: () => clock.now,
    };
    const deliver = (file: SimFile, attempt: number) => async () => {
      try {
        await recordCaptureFile(
          {
            path: file.path,
            url: captureStore.fileUrl(file.path),
            bytes: file.bytes.length,
            createdAt: new Date(file.windowStart + config.CAPTURE_WINDOW_SECONDS * 1000),
            content: () => captureStore.read(file.path),
          },
          triggerDeps,
        );
      } catch (error) {
        tally.add('recovered.triggerFailedRedelivered');
        note(
          `t+${Math.round((clock.now - T0) / 1000)}s trigger failed for ${file.path}: ${errorMessage(error)}`,
        );
        if (attempt <= EVENT_GRID_RETRIES_MS.length) {
          schedule(clock.now + EVENT_GRID_RETRIES_MS[attempt - 1], 'blobCreated', deliver(file, attempt + 1));
        } else {
          tally.add('outcome.eventGridGaveUp');
        }
      }
    };
    for (const file of files) {
      const at = file.windowStart + config.CAPTURE_WINDOW_SECONDS * 1000 + random.int(1_000, 40_000);
      if (random.chance(rates.eventLost)) {
        tally.add('eventGrid.lost');
        continue;
      }
      schedule(at, 'blobCreated', deliver(file, 1));
      if (random.chance(rates.eventDuplicate)) {
        tally.add('eventGrid.duplicated');
        schedule(at + random.int(0, 120_000), 'blobCreated', deliver(file, 1));
      }
    }
    const timerPorts = backlogPorts(config, { ...ports, jobs: real.jobs }, captureStore, signal, {
      ensureRunning: async () => {
        if (orchestration.running) return { status: 'Running', started: false };
        startOrchestration('recovered.startedByWatchdog');
        return { status: 'Failed', started: true };
      },
    });
    timerPorts.trigger = { ...timerPorts.trigger, now: () => clock.now };
    const backlogTick = async () => {
      try {
        await timed('backlog', runBacklog(timerPorts, backlogSettings(config), clock.now));
      } catch (error) {
        tally.add('recovered.backlogTimerFailed');
        note(`t+${Math.round((clock.now - T0) / 1000)}s backlog timer failed: ${errorMessage(error)}`);
      }
      schedule(clock.now + config.BACKLOG_INTERVAL_MINUTES * MINUTE, 'backlog', backlogTick);
    };
    schedule(T0 + config.BACKLOG_INTERVAL_MINUTES * MINUTE, 'backlog', backlogTick);

    /** Everything recorded and finished, no run active: nothing is left to happen. */
    const quiescent = async (): Promise<boolean> => {
      if (pendingDeliveries() > 0) return false;
      const state = orchestration.state;
      if (orchestration.running && (state.forming || state.ready.length > 0 || state.active)) return false;
      await finishRuns();
      for await (const run of direct().listRuns({ activeOnly: true })) if (run) return false;
      for await (const row of realLedger.listOpen()) if (row) return false;
      for (const file of files) {
        const row = await realLedger.get(file.path);
        if (!row || !FINAL_STATES.includes(row.state)) return false;
      }
      return true;
    };

    /** One activity as the Durable runtime runs it: retried on a crash, 'failed' when out of attempts. */
    const activity = async (action: IoAction): Promise<PipelineEvent | 'failed'> => {
      if (action.kind === 'submit' || action.kind === 'deadLetter') {
        note(
          `t+${Math.round((clock.now - T0) / 1000)}s ${action.kind} ${action.batch.id} #${action.attempt} ` +
            `depth ${action.batch.depth}${action.batch.resume ? ' (resumed)' : ''} [${action.batch.files.map((f) => shortName(f.path, files)).join(', ')}]`,
        );
      }
      let crashes = 0;
      if (random.chance(rates.activityCrash)) {
        crashes = random.chance(rates.activityCrashFatal) ? ACTIVITY_ATTEMPTS : random.int(1, 2);
      }
      for (let attempt = 1; ; attempt++) {
        const crash = attempt <= crashes ? random.pick(['before', 'after'] as const) : undefined;
        if (crash === 'before') {
          tally.add('activity.crashBefore');
        } else {
          const event = await timed('actions', performAction(action, ports));
          if (!crash) return event;
          tally.add('activity.crashAfter');
        }
        note(
          `t+${Math.round((clock.now - T0) / 1000)}s activity ${action.kind} crashed ${crash} (attempt ${attempt})`,
        );
        if (attempt === ACTIVITY_ATTEMPTS) return 'failed';
        clock.now += ACTIVITY_FIRST_RETRY_MS * 2 ** (attempt - 1);
        await runDue();
      }
    };

    /** A wait: the next signal at once, else the virtual clock jumps to `until` or to the next event. */
    const wait = async (until: number): Promise<PipelineEvent | 'quiescent'> => {
      for (;;) {
        const file = orchestration.signals.shift();
        if (file) return { kind: 'fileSignalled', file };
        const state = orchestration.state;
        if (!state.forming && state.ready.length === 0 && !state.active && (await quiescent())) {
          return 'quiescent';
        }
        const next = scheduled[0];
        if (next && next.at <= until) {
          clock.now = Math.max(clock.now, next.at);
          await runDue();
          continue;
        }
        clock.now = Math.max(clock.now, until);
        return { kind: 'timer' };
      }
    };

    const verify = async (): Promise<string[]> => {
      const found: string[] = [];
      // The ledger: each good file succeeded, each poison or truncated file dead-lettered, nothing open.
      const rows = new Map<string, LedgerFile>();
      for await (const row of realLedger.list()) rows.set(row.path, row);
      for (const file of files) {
        const row = rows.get(file.path);
        const expected = file.kind === 'good' ? 'succeeded' : 'deadLettered';
        if (row?.state !== expected) {
          found.push(
            `ledger: ${file.kind} file ${file.path} is ${row?.state ?? 'missing'}, not ${expected}${row?.error ? ` (${row.error})` : ''}`,
          );
          continue;
        }
        if (
          file.kind === 'good' &&
          !((row.attempts ?? 0) >= 1 && row.runId && row.records === file.records)
        ) {
          found.push(
            `ledger: ${file.path} succeeded with attempts ${row.attempts}, run ${row.runId}, records ${row.records}`,
          );
        }
        // Its own bronze failure, naming it (not the failure of a run it shared with another file).
        if (file.kind === 'poison' && !(/bronze/.test(row.error ?? '') && row.error!.includes(file.path))) {
          found.push(
            `ledger: poison file ${file.path} dead-lettered with "${row.error}", not its own bronze failure`,
          );
        }
        if (file.kind === 'truncated' && row.attempts) {
          found.push(`ledger: truncated file ${file.path} was run ${row.attempts} time(s)`);
        }
      }
      if (rows.size !== files.length) found.push(`ledger: ${rows.size} rows for ${files.length} files`);
      const open: string[] = [];
      for await (const row of realLedger.listOpen()) open.push(`${row.path} (${row.state})`);
      if (open.length > 0) found.push(`ledger: still open: ${open.join(', ')}`);
      found.push(...writes.contradictions());
      for (const file of good) {
        const finals = (writes.byPath.get(file.path) ?? []).filter((w) => FINAL_STATES.includes(w.state));
        if (finals.length === 0) found.push(`ledger: no final state was ever written for ${file.path}`);
      }

      // Dead letters: the index and the backlog timer's report list exactly the poison and truncated files.
      const index: string[] = [];
      for await (const row of realLedger.listDeadLettered()) index.push(row.path);
      const deadPaths = dead.map((f) => f.path).sort();
      if (JSON.stringify(index.sort()) !== JSON.stringify(deadPaths)) {
        found.push(`dead letters: the index lists [${index.join(', ')}], expected [${deadPaths.join(', ')}]`);
      }
      const reportPorts = backlogPorts(
        config,
        { ledger: realLedger, jobs: direct(), jobId: config.DATABRICKS_JOB_ID },
        captureStore,
        async () => undefined,
      );
      reportPorts.trigger = { ...reportPorts.trigger, now: () => clock.now };
      const report: BacklogReport = await runBacklog(reportPorts, backlogSettings(config), clock.now);
      const reported = report.deadLettered.newest.map((d) => d.path).sort();
      if (
        report.deadLettered.files !== dead.length ||
        JSON.stringify(reported) !== JSON.stringify(deadPaths)
      ) {
        found.push(
          `backlog report: dead letters ${report.deadLettered.files} [${reported.join(', ')}], expected ${dead.length}`,
        );
      }
      if (
        report.unfinished.files !== 0 ||
        report.lostEvents.found !== 0 ||
        report.runs?.active ||
        report.runs?.queued
      ) {
        found.push(
          `backlog report: unfinished ${report.unfinished.files}, re-triggered ${report.lostEvents.found}, runs ${JSON.stringify(report.runs)}`,
        );
      }

      // Runs as the Jobs API has them: each one seen created through run-now, and how they ended.
      let listed = 0;
      for await (const run of direct().listRuns({ jobId: config.DATABRICKS_JOB_ID })) {
        listed++;
        tally.add(`outcome.run.${run.state.life_cycle_state}.${run.state.result_state ?? 'none'}`);
      }
      if (listed !== runsCreated.size) {
        found.push(`jobs api: ${listed} runs exist, ${runsCreated.size} seen created by run-now`);
      }

      // The tables: those of a clean single ingest of the good files.
      const reference = options.reference ?? (await CleanReference.open());
      try {
        const expected = await reference.tablesOf(
          good.map((f) => ({ store: captureStore, path: f.path })),
          dataDir,
        );
        const actual = await snapshot(lakehouse, dataDir);
        for (const table of Object.keys(expected)) {
          const diff = rowDiff(expected[table], actual[table]);
          if (diff) found.push(`table ${table} differs from a clean ingest: ${diff}`);
        }
        if (actual.gold_dirty_groups.length > 0) {
          found.push(`gold_dirty_groups not empty: ${actual.gold_dirty_groups.length} row(s)`);
        }
      } finally {
        if (!options.reference) await reference.close();
      }
      return found;
    };

    startOrchestration('recovered.firstStart');
    for (;;) {
      if (actions >= maxActions || clock.now - T0 > maxVirtualMs) {
        problems.push(
          `liveness: no quiescence after ${actions} actions and ${Math.round((clock.now - T0) / 60_000)} virtual minutes`,
        );
        break;
      }
      if (!orchestration.running) {
        // Failed: only a signal or the backlog watchdog starts it again.
        if (await quiescent()) break;
        const next = scheduled[0];
        clock.now = Math.max(clock.now, next.at);
        await runDue();
        continue;
      }
      const decision = decideNext(orchestration.state, orchestration.event, clock.now, settings);
      orchestration.state = decision.state;
      const action = decision.action;
      if (action.kind === 'continueAsNew') {
        orchestration.event = { kind: 'start' };
        continue;
      }
      if (action.kind === 'wait') {
        const event = await wait(action.until);
        if (event === 'quiescent') break;
        orchestration.event = event;
        continue;
      }
      actions++;
      const result = await activity(action);
      clock.now += ACTION_MS;
      await runDue();
      if (result === 'failed') {
        tally.add('orchestration.failed');
        note(`t+${Math.round((clock.now - T0) / 1000)}s orchestration failed (activity ${action.kind})`);
        orchestration.running = false;
        continue;
      }
      orchestration.event = result;
      if (random.chance(rates.hostRestart)) startOrchestration('host.restart');
    }

    await finishRuns();
    problems.push(...(await timed('checks', verify())));
  } catch (error) {
    problems.push(
      `simulation error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
  } finally {
    for (const close of cleanup.reverse()) await close().catch(() => undefined);
  }

  // Runs: bounded in number, and in rate by the backoff.
  const creations = [...runsCreated.values()].sort((a, b) => a - b);
  let maxRunsPerMinute = 0;
  for (let i = 0, j = 0; i < creations.length; i++) {
    while (creations[i] - creations[j] >= MINUTE) j++;
    maxRunsPerMinute = Math.max(maxRunsPerMinute, i - j + 1);
  }
  const perMinuteLimit = 1 + Math.floor(60 / config.RETRY_BASE_SECONDS);
  if (maxRunsPerMinute > perMinuteLimit) {
    problems.push(`run storm: ${maxRunsPerMinute} runs created within a minute (limit ${perMinuteLimit})`);
  }
  const runLimit = 3 * (files.length + tally.faults);
  if (runsCreated.size > runLimit) {
    problems.push(`run storm: ${runsCreated.size} runs for ${files.length} files and ${tally.faults} faults`);
  }

  return {
    seed,
    ok: problems.length === 0,
    problems,
    tally: tally.toObject(),
    faults: tally.faults,
    files: {
      good: tally.get('workload.good'),
      poison: tally.get('workload.poison'),
      truncated: tally.get('workload.truncated'),
    },
    settings: {
      batchMaxFiles: config.BATCH_MAX_FILES,
      maxAttempts: config.RUN_MAX_ATTEMPTS,
      retryBaseSeconds: config.RETRY_BASE_SECONDS,
    },
    runs: runsCreated.size,
    runNowCalls,
    timings: Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v)])),
    maxRunsPerMinute,
    actions,
    virtualMs: clock.now - T0,
    realMs: Math.round(performance.now() - started),
    trail,
  };
}

/** A lakehouse for clean single ingests, reused: every table is emptied before each use. */
export class CleanReference {
  private constructor(private readonly lakehouse: LocalLakehouse) {}

  static async open(): Promise<CleanReference> {
    return new CleanReference(await LocalLakehouse.open(':memory:'));
  }

  /** The tables (as compared) after one batch of these files into an empty lakehouse. */
  async tablesOf(files: BatchFile[], dataDir: string): Promise<Record<string, string[]>> {
    for (const { name } of await this.lakehouse.rows('SELECT table_name AS name FROM duckdb_tables()')) {
      await this.lakehouse.rows(`DELETE FROM ${String(name)}`);
    }
    await this.lakehouse.ingest(files, { batchId: 'clean' });
    return snapshot(this.lakehouse, dataDir);
  }

  close(): Promise<void> {
    return this.lakehouse.close();
  }
}

const SNAPSHOT_TABLES: Record<string, string> = {
  bronze_order_events: 'SELECT * FROM bronze_order_events',
  bronze_loaded_files: 'SELECT * FROM bronze_loaded_files',
  batch_files: 'SELECT DISTINCT file_path, bytes, records FROM batch_files',
  quarantine_order_events: 'SELECT * FROM quarantine_order_events',
  dq_metrics: 'SELECT * FROM dq_metrics',
  silver_order_lines: 'SELECT * FROM silver_order_lines',
  gold_dirty_groups: 'SELECT * FROM gold_dirty_groups',
  gold_daily_sales: 'SELECT * FROM gold_daily_sales',
  gold_customer_sales: 'SELECT * FROM gold_customer_sales',
};

async function snapshot(lakehouse: LocalLakehouse, dataDir: string): Promise<Record<string, string[]>> {
  const result: Record<string, string[]> = {};
  for (const [name, sql] of Object.entries(SNAPSHOT_TABLES)) {
    result[name] = (await lakehouse.rows(sql))
      .map(withoutRunColumns)
      .map((row) => JSON.stringify(row).split(dataDir).join('<data>'))
      .sort();
  }
  return result;
}

function rowDiff(expected: string[], actual: string[]): string | undefined {
  const missing = expected.filter((row) => !actual.includes(row));
  const extra = actual.filter((row) => !expected.includes(row));
  if (missing.length === 0 && extra.length === 0 && expected.length === actual.length) return undefined;
  const show = (rows: string[]) =>
    rows
      .slice(0, 3)
      .map((r) => r.slice(0, 300))
      .join(' | ');
  return (
    `${actual.length} rows, expected ${expected.length}` +
    (missing.length ? `; missing ${missing.length}: ${show(missing)}` : '') +
    (extra.length ? `; extra ${extra.length}: ${show(extra)}` : '')
  );
}

/** Fault kinds grouped for a summary: signal, eventGrid, host, activity, ledger, jobs, run, platform… */
export function faultGroups(tally: Record<string, number>): Record<string, number> {
  const groups: Record<string, number> = {};
  for (const [kind, n] of Object.entries(tally)) {
    if (!isFault(kind)) continue;
    groups[kind] = (groups[kind] ?? 0) + n;
  }
  return groups;
}

/** One line per seed. */
export function summaryLine(result: ScenarioResult): string {
  const faults = Object.entries(result.tally)
    .filter(([kind]) => isFault(kind))
    .map(([kind, n]) => `${kind}=${n}`)
    .join(' ');
  const recoveries = Object.entries(result.tally)
    .filter(([kind]) => kind.startsWith('recovered.'))
    .map(([kind, n]) => `${kind.slice('recovered.'.length)}=${n}`)
    .join(' ');
  const { good, poison, truncated } = result.files;
  return (
    `seed ${result.seed} ${result.ok ? 'ok' : 'FAIL'}: files ${good} good + ${poison} poison + ${truncated} truncated ` +
    `(batch ≤${result.settings.batchMaxFiles}, ${result.settings.maxAttempts} attempts); ` +
    `runs ${result.runs} (run-now ${result.runNowCalls}, max ${result.maxRunsPerMinute}/min); ` +
    `actions ${result.actions}, virtual ${Math.round(result.virtualMs / 60_000)} min, real ${(result.realMs / 1000).toFixed(1)} s; ` +
    `faults ${result.faults}: ${faults}; recovered: ${recoveries}` +
    (result.ok ? '' : ` | ${result.problems.map((p) => p.split('\n')[0]).join(' | ')}`)
  );
}
