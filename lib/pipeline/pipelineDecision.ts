import { createHash } from 'node:crypto';

/**
 * What the orchestration does next, as a pure function of its state, the result of its last action
 * and the time (docs/architecture.md). The Durable orchestrator and the local driver are thin
 * loops that perform the returned action and feed its result back in.
 */

export interface PipelineSettings {
  batchWaitMs: number;
  batchMaxFiles: number;
  batchMaxBytes: number;
  pollMs: number;
  /** Failed runs of a batch before it is split (and of a lone file before it is dead-lettered). */
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Longest time between two reads of the ledger's open files. */
  sweepMs: number;
  /** Consecutive failures that are not the batch's fault before an alert is raised. */
  platformAlertAfter: number;
  /** How long submissions pause after a permanent Jobs API error. */
  pauseMs: number;
  /** Actions before the Durable orchestrator continues as new, to keep its history short. */
  maxSteps: number;
}

/** A recorded Capture file, as the orchestration carries it. */
export interface FileRef {
  path: string;
  url: string;
  bytes: number;
  records: number;
  /** Epoch ms when the trigger recorded it. */
  triggeredAt: number;
  /** Runs launched with this file so far. */
  attempts: number;
}

/** A file of the ledger's open set: pending, or in a batch of an earlier incarnation. */
export interface OpenFile extends FileRef {
  state: 'pending' | 'batched' | 'submitted';
  batchId?: string;
  attempt?: number;
  depth?: number;
  runId?: number;
}

export interface Batch {
  id: string;
  files: FileRef[];
  /** 0 for a batch of arrivals; each halving adds 1. */
  depth: number;
  /** A batch found in flight in the ledger: its attempt, and its run if run-now had answered. */
  resume?: { attempt: number; runId?: number };
}

export interface ActiveBatch {
  batch: Batch;
  attempt: number;
  /** Failed runs of this batch (runs that were not its fault, such as SKIPPED, do not count). */
  failures: number;
  /** Consecutive runs that failed without the batch's fault (platform error, cancelled, lost). */
  platformFailures: number;
  /** Consecutive failed API calls, for the backoff. */
  apiErrors: number;
  /** What to do at `at`: call run-now, call runs/get, or (after the run) wait for the ledger. */
  phase: 'submit' | 'poll' | 'record';
  at: number;
  /** In phase record: the finish or dead-letter to write (again, after a failed write). */
  record?: RecordAction;
  runId?: number;
  lastError?: string;
}

/**
 * What an operator must know about the pipeline as a whole, written where the backlog timer reads
 * it (its report, alert and the dashboard): submissions paused by a permanent error, and a run of
 * failures that are not any batch's fault.
 */
export interface PipelineHealth {
  /** Epoch ms until which submissions are paused, after a permanent Jobs API error. */
  pausedUntil: number | null;
  pauseReason: string | null;
  /** Consecutive failures that are not the batch's fault; an alert at platformAlertAfter. */
  platformFailures: number;
  lastPlatformError: string | null;
}

export interface PipelineState {
  forming: { files: FileRef[]; openedAt: number } | null;
  ready: Batch[];
  active: ActiveBatch | null;
  lastSweepAt: number;
  steps: number;
  health: PipelineHealth;
  /** The health changed since it was last written; write it at `healthReportAt`. */
  healthDirty: boolean;
  healthReportAt: number;
}

export interface ApiFailure {
  /** transient: 429/5xx/network; runNotFound: the run id is unknown; permanent: anything else. */
  kind: 'transient' | 'permanent' | 'runNotFound';
  message: string;
  retryAfterMs?: number;
}

/** A run as far as the decision cares. */
export type RunOutcome =
  | { kind: 'active' }
  | { kind: 'succeeded'; startedAt: number; finishedAt: number }
  /** `notTheBatch`: the run never ran it (SKIPPED, maximum concurrent runs): retry without counting. */
  | { kind: 'failed'; message: string; notTheBatch: boolean; startedAt?: number; finishedAt?: number };

export type PipelineEvent =
  | { kind: 'start' }
  /** `resumeRequestedAt`: the latest request to resume paused submissions (epoch ms), if any. */
  | { kind: 'ledgerRead'; files: OpenFile[]; resumeRequestedAt?: number }
  | { kind: 'fileSignalled'; file: FileRef }
  | { kind: 'timer' }
  | { kind: 'submitted'; runId: number }
  | { kind: 'submitFailed'; error: ApiFailure }
  | { kind: 'polled'; run: RunOutcome }
  | { kind: 'pollFailed'; error: ApiFailure }
  | { kind: 'recorded' }
  | { kind: 'recordFailed'; error: ApiFailure }
  | { kind: 'ledgerReadFailed'; error: ApiFailure }
  | { kind: 'healthReported' }
  | { kind: 'healthReportFailed'; error: ApiFailure };

export type RecordAction = Extract<PipelineAction, { kind: 'finish' | 'deadLetter' }>;

export type PipelineAction =
  | { kind: 'readLedger' }
  /** Sleep until `until`, waking early for a file signal. */
  | { kind: 'wait'; until: number }
  /** Write the manifest and the batch to the ledger, then run-now with this token. */
  | { kind: 'submit'; batch: Batch; attempt: number; idempotencyToken: string }
  | { kind: 'poll'; batchId: string; runId: number }
  | { kind: 'finish'; batch: Batch; attempt: number; runId: number; startedAt: number; finishedAt: number }
  | {
      kind: 'deadLetter';
      batch: Batch;
      attempt: number;
      runId: number;
      error: string;
      startedAt?: number;
      finishedAt?: number;
    }
  | { kind: 'reportHealth'; health: PipelineHealth }
  | { kind: 'continueAsNew' };

export interface Decision {
  state: PipelineState;
  action: PipelineAction;
}

export const HEALTHY: PipelineHealth = {
  pausedUntil: null,
  pauseReason: null,
  platformFailures: 0,
  lastPlatformError: null,
};

/** A new orchestration: healthy, and it says so (clearing what an earlier one may have reported). */
export function initialState(now: number): PipelineState {
  return {
    forming: null,
    ready: [],
    active: null,
    lastSweepAt: now,
    steps: 0,
    health: { ...HEALTHY },
    healthDirty: true,
    healthReportAt: now,
  };
}

export function decideNext(
  previous: PipelineState,
  event: PipelineEvent,
  now: number,
  settings: PipelineSettings,
): Decision {
  const state = structuredClone(previous);
  state.steps += 1;
  switch (event.kind) {
    case 'start':
      return { state: { ...state, steps: 0 }, action: { kind: 'readLedger' } };
    case 'ledgerRead':
      state.lastSweepAt = now;
      resumeIfAsked(state, event.resumeRequestedAt, now, settings);
      adoptOpenFiles(state, event.files, now);
      break;
    case 'ledgerReadFailed':
      // Try again after one backoff step rather than a whole sweep interval.
      state.lastSweepAt = now - settings.sweepMs + backoffMs(1, settings);
      break;
    case 'fileSignalled':
      addFiles(state, [event.file], now);
      break;
    case 'timer':
      break;
    case 'submitted': {
      const active = expectActive(state, 'submit', event.kind);
      Object.assign(active, { runId: event.runId, phase: 'poll', at: now + settings.pollMs, apiErrors: 0 });
      if (state.health.pausedUntil !== null) {
        setHealth(state, now, settings, { ...state.health, pausedUntil: null, pauseReason: null });
      }
      for (const file of active.batch.files) file.attempts += 1;
      break;
    }
    case 'submitFailed':
      apiFailed(state, expectActive(state, 'submit', event.kind), event.error, now, settings);
      break;
    case 'pollFailed': {
      const active = expectActive(state, 'poll', event.kind);
      if (event.error.kind === 'runNotFound') {
        // The run is gone (a workspace or local Jobs API that lost it): run the batch again.
        active.lastError = event.error.message;
        notTheBatch(state, active, event.error.message, now, settings);
      } else {
        apiFailed(state, active, event.error, now, settings);
      }
      break;
    }
    case 'polled': {
      const active = expectActive(state, 'poll', event.kind);
      active.apiErrors = 0;
      const run = event.run;
      if (run.kind === 'active') {
        active.at = now + settings.pollMs;
        break;
      }
      if (run.kind === 'succeeded') {
        setHealth(state, now, settings, { ...HEALTHY });
        return record(state, active, now, {
          kind: 'finish',
          batch: active.batch,
          attempt: active.attempt,
          runId: active.runId!,
          startedAt: run.startedAt,
          finishedAt: run.finishedAt,
        });
      }
      active.lastError = run.message;
      if (run.notTheBatch) {
        notTheBatch(state, active, run.message, now, settings);
        break;
      }
      if (active.batch.resume?.runId !== undefined && active.runId === active.batch.resume.runId) {
        // A run an earlier incarnation launched: its batch may have been split since (halves live
        // in memory until submitted), so the failure may be a file's no longer in this group. Not
        // counted: the group runs again on its own and its own failures count.
        retryRun(active, now, settings, 1);
        break;
      }
      // The platform answered and ran the batch: whatever it was, it was not a platform failure.
      setHealth(state, now, settings, { ...HEALTHY });
      active.failures += 1;
      const batch = active.batch;
      const limit = batch.depth === 0 || batch.files.length === 1 ? settings.maxAttempts : 1;
      if (active.failures < limit) {
        retryRun(active, now, settings, active.failures);
      } else if (batch.files.length > 1) {
        // Keeps failing: halve it, the halves first in line, until the failing file is alone.
        state.ready.unshift(...halves(batch, now));
        state.active = null;
      } else {
        return record(state, active, now, {
          kind: 'deadLetter',
          batch,
          attempt: active.attempt,
          runId: active.runId!,
          error: run.message,
          startedAt: run.startedAt,
          finishedAt: run.finishedAt,
        });
      }
      break;
    }
    case 'recorded':
      expectActive(state, 'record', event.kind);
      state.active = null;
      break;
    case 'recordFailed': {
      const active = expectActive(state, 'record', event.kind);
      active.apiErrors += 1;
      active.lastError = event.error.message;
      active.at = now + backoffMs(active.apiErrors, settings, event.error.retryAfterMs);
      break;
    }
    case 'healthReported':
      state.healthDirty = false;
      break;
    case 'healthReportFailed':
      state.healthReportAt = now + backoffMs(1, settings, event.error.retryAfterMs);
      break;
  }
  return step(state, nextAction(state, now, settings));
}

function step(state: PipelineState, action: PipelineAction): Decision {
  return { state, action };
}

function record(state: PipelineState, active: ActiveBatch, now: number, action: RecordAction): Decision {
  Object.assign(active, { phase: 'record', record: action, at: now, apiErrors: 0 });
  return step(state, action);
}

function nextAction(state: PipelineState, now: number, settings: PipelineSettings): PipelineAction {
  if (state.steps >= settings.maxSteps && state.active?.phase !== 'record') return { kind: 'continueAsNew' };
  if (state.healthDirty && now >= state.healthReportAt) return { kind: 'reportHealth', health: state.health };
  if (now >= state.lastSweepAt + settings.sweepMs) return { kind: 'readLedger' };
  closeBatches(state, now, settings);
  if (!state.active && state.ready.length > 0) state.active = activate(state, state.ready.shift()!, now);
  const active = state.active;
  if (active && now >= active.at) {
    if (active.phase === 'submit') {
      return {
        kind: 'submit',
        batch: active.batch,
        attempt: active.attempt,
        idempotencyToken: idempotencyToken(active.batch.id, active.attempt),
      };
    }
    if (active.phase === 'poll') return { kind: 'poll', batchId: active.batch.id, runId: active.runId! };
    return active.record!;
  }
  const wakeAt = [state.lastSweepAt + settings.sweepMs];
  if (active) wakeAt.push(active.at);
  if (state.healthDirty) wakeAt.push(state.healthReportAt);
  // While a run is active the forming batch waits for it, not for its own clock.
  if (state.forming && !active && state.ready.length === 0) wakeAt.push(formingClosesAt(state, settings));
  return { kind: 'wait', until: Math.max(now, Math.min(...wakeAt)) };
}

function activate(state: PipelineState, batch: Batch, now: number): ActiveBatch {
  const resume = batch.resume;
  return {
    batch,
    attempt: resume?.attempt ?? 1,
    failures: 0,
    platformFailures: 0,
    apiErrors: 0,
    phase: resume?.runId !== undefined ? 'poll' : 'submit',
    // Submissions wait out a pause, whichever batch is next.
    at: Math.max(now, state.health.pausedUntil ?? now),
    runId: resume?.runId,
  };
}

/** A request made after the pause began (`orders-pipeline process`) ends it: the next call is now. */
function resumeIfAsked(
  state: PipelineState,
  requestedAt: number | undefined,
  now: number,
  settings: PipelineSettings,
): void {
  const pausedUntil = state.health.pausedUntil;
  if (pausedUntil === null || requestedAt === undefined || requestedAt < pausedUntil - settings.pauseMs)
    return;
  if (state.active && state.active.at === pausedUntil) state.active.at = now;
  setHealth(state, now, settings, { ...state.health, pausedUntil: null, pauseReason: null });
}

/** A new run of the batch: a new attempt, so a new idempotency token, after a backoff. */
function retryRun(active: ActiveBatch, now: number, settings: PipelineSettings, failures: number): void {
  active.attempt += 1;
  active.phase = 'submit';
  active.runId = undefined;
  active.at = now + backoffMs(failures, settings);
}

/**
 * A run that failed without the batch's fault (platform error, cancelled, skipped, lost): a new run
 * that does not count against the batch, backing off like any other retry, with an alert once it
 * has happened platformAlertAfter times in a row.
 */
function notTheBatch(
  state: PipelineState,
  active: ActiveBatch,
  message: string,
  now: number,
  settings: PipelineSettings,
): void {
  active.platformFailures += 1;
  retryRun(active, now, settings, active.platformFailures);
  notePlatformFailure(state, active.platformFailures + active.apiErrors, message, now, settings);
}

/**
 * A failed Jobs API call. Transient (429, 5xx, network): the same call again after a backoff, an
 * alert after platformAlertAfter in a row. Permanent (401, 403, job not found, invalid
 * parameters): retrying cannot help, so submissions pause for pauseMs and the pause is reported.
 */
function apiFailed(
  state: PipelineState,
  active: ActiveBatch,
  error: ApiFailure,
  now: number,
  settings: PipelineSettings,
): void {
  active.lastError = error.message;
  if (error.kind === 'permanent') {
    active.at = now + settings.pauseMs;
    setHealth(state, now, settings, { ...state.health, pausedUntil: active.at, pauseReason: error.message });
    return;
  }
  active.apiErrors += 1;
  active.at = now + backoffMs(active.apiErrors, settings, error.retryAfterMs);
  notePlatformFailure(state, active.platformFailures + active.apiErrors, error.message, now, settings);
}

function notePlatformFailure(
  state: PipelineState,
  failures: number,
  message: string,
  now: number,
  settings: PipelineSettings,
): void {
  setHealth(state, now, settings, {
    ...state.health,
    platformFailures: failures,
    lastPlatformError: message,
  });
}

/**
 * Changes the health, and asks for it to be written when what an operator sees changes: a pause
 * begins or ends, platform failures reach the alert threshold, double again, or stop.
 */
function setHealth(
  state: PipelineState,
  now: number,
  settings: PipelineSettings,
  health: PipelineHealth,
): void {
  const shown = (h: PipelineHealth) => {
    const failures = h.platformFailures;
    const alerting = failures >= settings.platformAlertAfter;
    return JSON.stringify([
      h.pausedUntil,
      h.pauseReason,
      alerting ? Math.max(settings.platformAlertAfter, 2 ** Math.floor(Math.log2(failures))) : 0,
    ]);
  };
  const changed = shown(state.health) !== shown(health);
  state.health = health;
  if (changed) {
    state.healthDirty = true;
    state.healthReportAt = now;
  }
}

/** Exponential from retryBase, capped at retryMax; a longer Retry-After is honoured. */
export function backoffMs(failures: number, settings: PipelineSettings, retryAfterMs?: number): number {
  const exponential = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.max(0, failures - 1));
  return Math.max(exponential, retryAfterMs ?? 0);
}

/** Databricks keeps one run per token; a hash of (batch, attempt) fits its 64 characters. */
export function idempotencyToken(batchId: string, attempt: number): string {
  return createHash('sha256').update(`${batchId}#${attempt}`).digest('hex');
}

function formingClosesAt(state: PipelineState, settings: PipelineSettings): number {
  return state.forming!.openedAt + settings.batchWaitMs;
}

/**
 * Closes the forming batch into ready batches: when it is full (files or bytes), or when its wait is
 * over and no run is active — files arriving during a run go into the next run together.
 */
function closeBatches(state: PipelineState, now: number, settings: PipelineSettings): void {
  const forming = state.forming;
  if (!forming) return;
  const chunks: FileRef[][] = [[]];
  let bytes = 0;
  for (const file of forming.files) {
    const chunk = chunks[chunks.length - 1];
    if (
      chunk.length > 0 &&
      (chunk.length >= settings.batchMaxFiles || bytes + file.bytes > settings.batchMaxBytes)
    ) {
      chunks.push([file]);
      bytes = file.bytes;
    } else {
      chunk.push(file);
      bytes += file.bytes;
    }
  }
  const last = chunks[chunks.length - 1];
  const lastIsFull = last.length >= settings.batchMaxFiles || bytes >= settings.batchMaxBytes;
  const waitOver = now >= formingClosesAt(state, settings) && !state.active && state.ready.length === 0;
  const closing = lastIsFull || waitOver ? chunks : chunks.slice(0, -1);
  for (const files of closing) state.ready.push({ id: batchId(files, now), files, depth: 0 });
  state.forming = closing.length === chunks.length ? null : { files: last, openedAt: forming.openedAt };
}

function halves(batch: Batch, now: number): Batch[] {
  const middle = Math.ceil(batch.files.length / 2);
  return [batch.files.slice(0, middle), batch.files.slice(middle)].map((files) => ({
    id: batchId(files, now),
    files,
    depth: batch.depth + 1,
  }));
}

/** Readable and unique: the close time, and a hash of the member paths. */
export function batchId(files: FileRef[], now: number): string {
  const stamp = new Date(now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const hash = createHash('sha256');
  for (const file of files) hash.update(file.path).update('\n');
  return `${stamp}-${hash.digest('hex').slice(0, 12)}`;
}

function knownPaths(state: PipelineState): Set<string> {
  const paths = new Set<string>();
  for (const file of state.forming?.files ?? []) paths.add(file.path);
  for (const batch of [...state.ready, ...(state.active ? [state.active.batch] : [])]) {
    for (const file of batch.files) paths.add(file.path);
  }
  return paths;
}

function addFiles(state: PipelineState, files: FileRef[], now: number): void {
  const known = knownPaths(state);
  const fresh = files.filter((file) => !known.has(file.path) && (known.add(file.path), true));
  if (fresh.length === 0) return;
  if (!state.forming) {
    // The wait counts from the first file's arrival, even when it is noticed late (a sweep).
    state.forming = { files: [], openedAt: Math.min(now, ...fresh.map((f) => f.triggeredAt)) };
  }
  state.forming.files.push(...fresh);
}

/**
 * Takes the ledger's open files: pending ones join the forming batch; files of batches this state
 * does not hold (an earlier incarnation's, after a restart) are resumed as those batches, so their
 * attempt's token finds the run that may already exist.
 */
function adoptOpenFiles(state: PipelineState, files: OpenFile[], now: number): void {
  const known = knownPaths(state);
  const inFlight = new Map<string, OpenFile[]>();
  const pending: FileRef[] = [];
  for (const file of files) {
    if (known.has(file.path)) continue;
    if (file.state === 'pending' || !file.batchId) pending.push(toRef(file));
    else inFlight.set(file.batchId, [...(inFlight.get(file.batchId) ?? []), file]);
  }
  const resumed: Batch[] = [...inFlight.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, members]) => ({
      id,
      files: members.map(toRef),
      // Recorded at submit; a batch written before depths were recorded splits after one failure.
      depth: Math.max(...members.map((m) => m.depth ?? 1)),
      resume: {
        attempt: Math.max(...members.map((m) => m.attempt ?? 1)),
        runId: members.find((m) => m.state === 'submitted' && m.runId !== undefined)?.runId,
      },
    }));
  state.ready.unshift(...resumed);
  addFiles(state, pending, now);
}

function toRef(file: OpenFile): FileRef {
  const { path, url, bytes, records, triggeredAt, attempts } = file;
  return { path, url, bytes, records, triggeredAt, attempts };
}

function expectActive(state: PipelineState, phase: ActiveBatch['phase'], event: string): ActiveBatch {
  const active = state.active;
  if (!active || active.phase !== phase) {
    throw new Error(
      `orchestration: "${event}" arrived with ${active ? `the batch in phase ${active.phase}` : 'no active batch'}`,
    );
  }
  return active;
}
