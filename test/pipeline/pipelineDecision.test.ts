import fc from 'fast-check';
import {
  ActiveBatch,
  Batch,
  FileRef,
  HEALTHY,
  PipelineAction,
  PipelineEvent,
  PipelineSettings,
  PipelineState,
  backoffMs,
  batchId,
  decideNext,
  idempotencyToken,
  initialState,
} from '../../lib/pipeline/pipelineDecision';

const SETTINGS: PipelineSettings = {
  batchWaitMs: 30_000,
  batchMaxFiles: 4,
  batchMaxBytes: 1_000,
  pollMs: 5_000,
  maxAttempts: 3,
  retryBaseMs: 1_000,
  retryMaxMs: 60_000,
  sweepMs: 300_000,
  platformAlertAfter: 3,
  pauseMs: 600_000,
  maxSteps: 1_000,
};
const T0 = Date.UTC(2026, 10, 26, 12);

const file = (n: number, bytes = 10): FileRef => ({
  path: `ns/hub/0/2026/11/26/12/00/${String(n).padStart(2, '0')}.avro`,
  url: `http://127.0.0.1:10000/devstoreaccount1/capture/ns/hub/0/2026/11/26/12/00/${String(n).padStart(2, '0')}.avro`,
  bytes,
  records: 5,
  triggeredAt: T0 - 1_000,
  attempts: 0,
});
const batchOf = (files: FileRef[], depth = 0): Batch => ({ id: batchId(files, T0 - 60_000), files, depth });
const active = (overrides: Partial<ActiveBatch>): ActiveBatch => ({
  batch: batchOf([file(1), file(2)]),
  attempt: 1,
  failures: 0,
  platformFailures: 0,
  apiErrors: 0,
  phase: 'submit',
  at: T0,
  ...overrides,
});
/** A state whose health is already written (a new orchestration writes it first: tested below). */
const healthWritten = (s: PipelineState): PipelineState => ({ ...s, healthDirty: false });
const state = (overrides: Partial<PipelineState>): PipelineState => ({
  ...initialState(T0 - 1_000),
  healthDirty: false,
  ...overrides,
});

const STATES: Record<string, PipelineState> = {
  idle: state({}),
  'sweep due': state({ lastSweepAt: T0 - SETTINGS.sweepMs - 1 }),
  'forming, young': state({ forming: { files: [file(1), file(2)], openedAt: T0 - 1_000 } }),
  'forming, wait over': state({
    forming: { files: [file(1), file(2)], openedAt: T0 - SETTINGS.batchWaitMs },
  }),
  'forming, more than full': state({
    forming: { files: [1, 2, 3, 4, 5, 6].map((n) => file(n)), openedAt: T0 - 1_000 },
  }),
  'forming, over the bytes cap': state({ forming: { files: [file(1, 600), file(2, 600)], openedAt: T0 } }),
  'submit due': state({ active: active({}) }),
  'submit backing off': state({ active: active({ at: T0 + 5_000, apiErrors: 2, attempt: 2, failures: 1 }) }),
  'poll due': state({ active: active({ phase: 'poll', runId: 7 }) }),
  'poll later, forming and ready queued': state({
    active: active({ phase: 'poll', runId: 7, at: T0 + 4_000 }),
    ready: [batchOf([file(3)]), batchOf([file(4), file(5)])],
    forming: { files: [file(6)], openedAt: T0 - SETTINGS.batchWaitMs - 1 },
  }),
  'poll due, half of a split batch': state({
    active: active({ phase: 'poll', runId: 8, batch: batchOf([file(1), file(2)], 1) }),
  }),
  'poll due, lone file at its last attempt': state({
    active: active({ phase: 'poll', runId: 9, batch: batchOf([file(1)], 2), failures: 2, attempt: 3 }),
  }),
  'poll due, first batch at its last attempt': state({
    active: active({
      phase: 'poll',
      runId: 9,
      batch: batchOf([1, 2, 3].map((n) => file(n))),
      failures: 2,
      attempt: 3,
    }),
  }),
  recording: state({
    active: active({
      phase: 'record',
      runId: 7,
      record: {
        kind: 'finish',
        batch: batchOf([file(1), file(2)]),
        attempt: 1,
        runId: 7,
        startedAt: T0,
        finishedAt: T0,
      },
    }),
  }),
  'resumed batch waiting': state({ ready: [{ ...batchOf([file(1)]), resume: { attempt: 2, runId: 12 } }] }),
};

const EVENTS: Record<string, PipelineEvent> = {
  start: { kind: 'start' },
  'ledger: nothing open': { kind: 'ledgerRead', files: [] },
  'ledger: new and known pending files': {
    kind: 'ledgerRead',
    files: [
      { ...file(1), state: 'pending' },
      { ...file(20), state: 'pending' },
    ],
  },
  'ledger: an earlier incarnation’s batches': {
    kind: 'ledgerRead',
    files: [
      { ...file(30), state: 'submitted', batchId: 'old-b', attempt: 2, runId: 99 },
      { ...file(31), state: 'batched', batchId: 'old-c', attempt: 1 },
    ],
  },
  'ledger read failed': { kind: 'ledgerReadFailed', error: { kind: 'transient', message: 'socket hang up' } },
  'new file signalled': { kind: 'fileSignalled', file: file(40) },
  'known file signalled again': { kind: 'fileSignalled', file: file(1) },
  timer: { kind: 'timer' },
  submitted: { kind: 'submitted', runId: 55 },
  'submit: 429 with Retry-After': {
    kind: 'submitFailed',
    error: { kind: 'transient', message: '429', retryAfterMs: 120_000 },
  },
  'submit: 403': { kind: 'submitFailed', error: { kind: 'permanent', message: 'Invalid access token.' } },
  'poll: still running': { kind: 'polled', run: { kind: 'active' } },
  'poll: succeeded': { kind: 'polled', run: { kind: 'succeeded', startedAt: T0 - 500, finishedAt: T0 } },
  'poll: failed': {
    kind: 'polled',
    run: { kind: 'failed', message: 'Task bronze failed', notTheBatch: false },
  },
  'poll: skipped (not the batch)': {
    kind: 'polled',
    run: { kind: 'failed', message: 'SKIPPED', notTheBatch: true },
  },
  'poll: 503': { kind: 'pollFailed', error: { kind: 'transient', message: '503' } },
  'poll: run gone': { kind: 'pollFailed', error: { kind: 'runNotFound', message: 'Run 7 does not exist.' } },
  recorded: { kind: 'recorded' },
  'record failed': { kind: 'recordFailed', error: { kind: 'transient', message: 'table 500' } },
};

/** Which phase an event answers; other events are valid in any state. */
const PHASE_OF: Partial<Record<PipelineEvent['kind'], ActiveBatch['phase']>> = {
  submitted: 'submit',
  submitFailed: 'submit',
  polled: 'poll',
  pollFailed: 'poll',
  recorded: 'record',
  recordFailed: 'record',
};

function paths(s: PipelineState): string[] {
  return [
    ...(s.forming?.files ?? []),
    ...s.ready.flatMap((b) => b.files),
    ...(s.active ? s.active.batch.files : []),
  ].map((f) => f.path);
}

function newPaths(event: PipelineEvent): string[] {
  if (event.kind === 'fileSignalled') return [event.file.path];
  if (event.kind === 'ledgerRead') return event.files.map((f) => f.path);
  return [];
}

describe('pipeline decision: every state × every event', () => {
  const cases = Object.entries(STATES).flatMap(([s, st]) =>
    Object.entries(EVENTS).map(([e, ev]) => [s, e, st, ev] as const),
  );

  it.each(cases)('%s + %s', (_s, _e, before, event) => {
    const frozen = structuredClone(before);
    const expectedPhase = PHASE_OF[event.kind];
    if (expectedPhase && before.active?.phase !== expectedPhase) {
      expect(() => decideNext(before, event, T0, SETTINGS)).toThrow(/orchestration: ".+" arrived with/);
      return;
    }
    const { state: after, action } = decideNext(before, event, T0, SETTINGS);
    // Pure: the input is untouched and the same input gives the same decision.
    expect(before).toEqual(frozen);
    expect(decideNext(before, event, T0, SETTINGS)).toEqual({ state: after, action });

    // Nothing lost, nothing twice: files held = held before + new − the batch whose record is done.
    const held = paths(after);
    expect(new Set(held).size).toBe(held.length);
    const finished = event.kind === 'recorded' ? before.active!.batch.files.map((f) => f.path) : [];
    const expected = new Set([...paths(before), ...newPaths(event)].filter((p) => !finished.includes(p)));
    expect(new Set(held)).toEqual(expected);

    // Batches respect the caps (a lone file may exceed the byte cap).
    for (const batch of [...after.ready, ...(after.active ? [after.active.batch] : [])]) {
      if (batch.files.length > 1 && !batch.resume) {
        expect(batch.files.length).toBeLessThanOrEqual(SETTINGS.batchMaxFiles);
        expect(batch.files.reduce((n, f) => n + f.bytes, 0)).toBeLessThanOrEqual(SETTINGS.batchMaxBytes);
      }
    }
    checkAction(after, action);

    // A failure waits within the backoff bounds (a longer Retry-After is honoured); a permanent
    // error pauses submissions for the pause interval instead, and says so.
    if (['submitFailed', 'pollFailed', 'recordFailed'].includes(event.kind) && after.active) {
      const error = 'error' in event ? event.error : undefined;
      const delay = after.active.at - T0;
      if (error?.kind === 'permanent' && event.kind !== 'recordFailed') {
        expect(delay).toBe(SETTINGS.pauseMs);
        expect(after.health).toMatchObject({ pausedUntil: after.active.at, pauseReason: error.message });
        expect(action).toEqual({ kind: 'reportHealth', health: after.health });
      } else {
        expect(delay).toBeGreaterThanOrEqual(SETTINGS.retryBaseMs);
        expect(delay).toBeLessThanOrEqual(Math.max(SETTINGS.retryMaxMs, error?.retryAfterMs ?? 0));
      }
    }
  });
});

function checkAction(after: PipelineState, action: PipelineAction): void {
  switch (action.kind) {
    case 'submit':
      expect(action.batch).toEqual(after.active!.batch);
      expect(after.active!.phase).toBe('submit');
      expect(action.idempotencyToken).toBe(idempotencyToken(action.batch.id, action.attempt));
      expect(action.idempotencyToken).toHaveLength(64);
      break;
    case 'poll':
      expect(action.runId).toBe(after.active!.runId);
      break;
    case 'finish':
    case 'deadLetter':
      expect(after.active!.phase).toBe('record');
      expect(action).toEqual(after.active!.record);
      if (action.kind === 'deadLetter') expect(action.batch.files).toHaveLength(1);
      break;
    case 'wait':
      // Strictly later: a wait for a moment already due would spin.
      expect(action.until).toBeGreaterThan(T0);
      expect(action.until).toBeLessThanOrEqual(after.lastSweepAt + SETTINGS.sweepMs);
      break;
    case 'readLedger':
    case 'continueAsNew':
      break;
  }
}

describe('pipeline decision: batching', () => {
  it('closes a batch at its first file + BATCH_WAIT, counted from the file’s arrival', () => {
    let s = healthWritten(initialState(T0));
    let d = decideNext(s, { kind: 'fileSignalled', file: { ...file(1), triggeredAt: T0 } }, T0, SETTINGS);
    expect(d.action).toEqual({ kind: 'wait', until: T0 + SETTINGS.batchWaitMs });
    s = d.state;
    d = decideNext(s, { kind: 'fileSignalled', file: file(2) }, T0 + 10_000, SETTINGS);
    expect(d.action).toEqual({ kind: 'wait', until: T0 + SETTINGS.batchWaitMs });
    d = decideNext(d.state, { kind: 'timer' }, T0 + SETTINGS.batchWaitMs, SETTINGS);
    expect(d.action).toMatchObject({ kind: 'submit', attempt: 1 });
    expect((d.action as { batch: Batch }).batch.files.map((f) => f.path)).toEqual([
      file(1).path,
      file(2).path,
    ]);
  });

  it('submits at once when the batch reaches BATCH_MAX_FILES or BATCH_MAX_BYTES', () => {
    let s = healthWritten(initialState(T0));
    for (let n = 1; n <= 3; n++)
      s = decideNext(s, { kind: 'fileSignalled', file: file(n) }, T0, SETTINGS).state;
    const d = decideNext(s, { kind: 'fileSignalled', file: file(4) }, T0, SETTINGS);
    expect(d.action).toMatchObject({ kind: 'submit' });
    expect((d.action as { batch: Batch }).batch.files).toHaveLength(4);

    const big = decideNext(
      healthWritten(initialState(T0)),
      { kind: 'fileSignalled', file: file(9, 5_000) },
      T0,
      SETTINGS,
    );
    expect(big.action).toMatchObject({ kind: 'submit', batch: { files: [{ bytes: 5_000 }] } });
  });

  it('puts files arriving while a run is active into the next run together', () => {
    let s = state({ active: active({ phase: 'poll', runId: 1, at: T0 + 5_000 }) });
    for (let n = 10; n < 13; n++) {
      s = decideNext(s, { kind: 'fileSignalled', file: file(n) }, T0 + n, SETTINGS).state;
    }
    // The wait is long over, but the run is still active: the batch keeps forming.
    const later = T0 + 2 * SETTINGS.batchWaitMs;
    let d = decideNext(s, { kind: 'timer' }, later, SETTINGS);
    expect(d.action).toEqual({ kind: 'poll', batchId: s.active!.batch.id, runId: 1 });
    d = decideNext(
      d.state,
      { kind: 'polled', run: { kind: 'succeeded', startedAt: T0, finishedAt: later } },
      later,
      SETTINGS,
    );
    d = decideNext(d.state, { kind: 'recorded' }, later, SETTINGS);
    expect(d.action).toMatchObject({ kind: 'submit' });
    expect((d.action as { batch: Batch }).batch.files.map((f) => f.path)).toEqual(
      [10, 11, 12].map((n) => file(n).path),
    );
  });
});

describe('pipeline decision: submit, retries and backoff', () => {
  it('retries a failed run-now with the same token, and a failed run with a new one', () => {
    let d = decideNext(state({ active: active({}) }), { kind: 'timer' }, T0, SETTINGS);
    const first = d.action as Extract<PipelineAction, { kind: 'submit' }>;
    d = decideNext(
      d.state,
      { kind: 'submitFailed', error: { kind: 'transient', message: '500' } },
      T0,
      SETTINGS,
    );
    d = decideNext(d.state, { kind: 'timer' }, T0 + 60_000, SETTINGS);
    expect(d.action).toMatchObject({ kind: 'submit', idempotencyToken: first.idempotencyToken });
    d = decideNext(d.state, { kind: 'submitted', runId: 5 }, T0 + 60_000, SETTINGS);
    d = decideNext(d.state, { kind: 'timer' }, T0 + 70_000, SETTINGS);
    d = decideNext(
      d.state,
      { kind: 'polled', run: { kind: 'failed', message: 'x', notTheBatch: false } },
      T0 + 70_000,
      SETTINGS,
    );
    d = decideNext(d.state, { kind: 'timer' }, T0 + 200_000, SETTINGS);
    expect(d.action).toMatchObject({ kind: 'submit', attempt: 2 });
    expect((d.action as { idempotencyToken: string }).idempotencyToken).not.toBe(first.idempotencyToken);
  });

  it('backs off exponentially from RETRY_BASE to the RETRY_MAX cap, honouring a longer Retry-After', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => backoffMs(n, SETTINGS));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    expect(backoffMs(1, SETTINGS, 90_000)).toBe(90_000);
    expect(backoffMs(5, SETTINGS, 100)).toBe(16_000);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.option(fc.nat(10_000_000), { nil: undefined }),
        (n, after) => {
          const delay = backoffMs(n, SETTINGS, after);
          return delay >= SETTINGS.retryBaseMs && delay <= Math.max(SETTINGS.retryMaxMs, after ?? 0);
        },
      ),
    );
  });

  it('resumes an earlier incarnation’s batch: polls its run, or re-submits its attempt with the same token', () => {
    const read: PipelineEvent = {
      kind: 'ledgerRead',
      files: [
        { ...file(1), state: 'submitted', batchId: 'b-old', attempt: 2, runId: 41 },
        { ...file(2), state: 'submitted', batchId: 'b-old', attempt: 2, runId: 41 },
        { ...file(3), state: 'batched', batchId: 'b-older', attempt: 1 },
      ],
    };
    let d = decideNext(
      decideNext(healthWritten(initialState(T0)), { kind: 'start' }, T0, SETTINGS).state,
      read,
      T0,
      SETTINGS,
    );
    expect(d.action).toEqual({ kind: 'poll', batchId: 'b-old', runId: 41 });
    d = decideNext(
      d.state,
      { kind: 'polled', run: { kind: 'succeeded', startedAt: T0, finishedAt: T0 } },
      T0,
      SETTINGS,
    );
    expect(d.action).toMatchObject({ kind: 'finish', attempt: 2, runId: 41 });
    d = decideNext(d.state, { kind: 'recorded' }, T0, SETTINGS);
    expect(d.action).toEqual({
      kind: 'submit',
      batch: expect.objectContaining({ id: 'b-older' }),
      attempt: 1,
      idempotencyToken: idempotencyToken('b-older', 1),
    });
  });

  it('does not count the failure of a resumed batch’s old run: it may have been a split-off file’s', () => {
    // After a restart the ledger still names the old batch and its failed run for files of a half
    // that was never submitted; the poison that failed that run is in the other half.
    const settings = { ...SETTINGS, maxAttempts: 1 };
    let d = decideNext(healthWritten(initialState(T0)), { kind: 'start' }, T0, settings);
    d = decideNext(
      d.state,
      {
        kind: 'ledgerRead',
        files: [{ ...file(1), state: 'submitted', batchId: 'B', attempt: 1, depth: 0, runId: 1001 }],
      },
      T0,
      settings,
    );
    expect(d.action).toEqual({ kind: 'poll', batchId: 'B', runId: 1001 });
    const failed = {
      kind: 'failed',
      message: 'Task bronze failed: file 2 is corrupt',
      notTheBatch: false,
    } as const;
    d = decideNext(d.state, { kind: 'polled', run: failed }, T0, settings);
    expect(d.action.kind).not.toBe('deadLetter');
    d = decideNext(d.state, { kind: 'timer' }, d.state.active!.at, settings);
    expect(d.action).toMatchObject({ kind: 'submit', attempt: 2 });
    // Its own run's failure counts: with one attempt allowed, the lone file is dead-lettered.
    d = decideNext(d.state, { kind: 'submitted', runId: 1002 }, d.state.active!.at, settings);
    d = decideNext(d.state, { kind: 'timer' }, d.state.active!.at, settings);
    d = decideNext(d.state, { kind: 'polled', run: failed }, d.state.active!.at, settings);
    expect(d.action).toMatchObject({ kind: 'deadLetter', runId: 1002 });
  });

  it('continues as new after maxSteps, but never with a record pending', () => {
    const settings = { ...SETTINGS, maxSteps: 2 };
    let d = decideNext(healthWritten(initialState(T0)), { kind: 'timer' }, T0, settings);
    d = decideNext(d.state, { kind: 'timer' }, T0, settings);
    expect(d.action).toEqual({ kind: 'continueAsNew' });
    expect(decideNext(d.state, { kind: 'start' }, T0, settings).state.steps).toBe(0);
  });
});

/**
 * A world for the decision: files arrive over time; the job fails any run holding a poison file,
 * and the API and runs fail now and then for no reason of the batch.
 */
function simulate(
  arrivals: { at: number; file: FileRef }[],
  poison: Set<string>,
  chaos: { apiFailure: (n: number) => boolean; innocentFailure: (batch: string) => boolean },
) {
  let now = T0;
  let s = initialState(now);
  let event: PipelineEvent = { kind: 'start' };
  const queue = [...arrivals].sort((a, b) => a.at - b.at);
  const outcome = new Map<string, string[]>();
  const runs = new Map<number, { batch: Batch; fail: boolean }>();
  let calls = 0;
  let runCount = 0;
  for (let steps = 0; steps < 20_000; steps++) {
    const d = decideNext(s, event, now, SETTINGS);
    s = d.state;
    const a = d.action;
    if (a.kind === 'wait') {
      const next = queue[0];
      if (!next && !s.active && !s.forming && s.ready.length === 0) break;
      if (next && next.at <= a.until) {
        now = Math.max(now, next.at);
        event = { kind: 'fileSignalled', file: queue.shift()!.file };
      } else {
        now = Math.max(now, a.until);
        event = { kind: 'timer' };
      }
    } else if (a.kind === 'readLedger') {
      event = { kind: 'ledgerRead', files: [] };
    } else if (a.kind === 'reportHealth') {
      event = { kind: 'healthReported' };
    } else if (a.kind === 'continueAsNew') {
      event = { kind: 'start' };
    } else if (a.kind === 'submit') {
      if (chaos.apiFailure(calls++)) {
        event = { kind: 'submitFailed', error: { kind: 'transient', message: '429', retryAfterMs: 3_000 } };
      } else {
        const runId = 100 + runCount++;
        const fail = a.batch.files.some((f) => poison.has(f.path)) || chaos.innocentFailure(a.batch.id);
        runs.set(runId, { batch: a.batch, fail });
        event = { kind: 'submitted', runId };
      }
    } else if (a.kind === 'poll') {
      const run = runs.get(a.runId)!;
      event = chaos.apiFailure(calls++)
        ? { kind: 'pollFailed', error: { kind: 'transient', message: '503' } }
        : {
            kind: 'polled',
            run: run.fail
              ? { kind: 'failed', message: 'Task bronze failed', notTheBatch: false }
              : { kind: 'succeeded', startedAt: now, finishedAt: now },
          };
    } else {
      for (const f of a.batch.files) outcome.set(f.path, [...(outcome.get(f.path) ?? []), a.kind]);
      event = { kind: 'recorded' };
    }
  }
  return { outcome, runs: runCount, state: s };
}

describe('pipeline decision: health — pauses, platform failures, alerts', () => {
  const reportOf = (d: { action: PipelineAction }) =>
    d.action.kind === 'reportHealth' ? d.action.health : undefined;

  it('writes its health first when it starts, so what an earlier orchestration reported is cleared', () => {
    const d = decideNext(initialState(T0), { kind: 'ledgerRead', files: [] }, T0, SETTINGS);
    expect(reportOf(d)).toEqual(HEALTHY);
    const next = decideNext(d.state, { kind: 'healthReported' }, T0, SETTINGS);
    expect(next.action.kind).toBe('wait');
    // A failed write is tried again after a backoff, and nothing else waits for it.
    const failed = decideNext(
      d.state,
      { kind: 'healthReportFailed', error: { kind: 'transient', message: 'x' } },
      T0,
      SETTINGS,
    );
    expect(failed.action).toEqual({ kind: 'wait', until: T0 + SETTINGS.retryBaseMs });
  });

  it('pauses submissions after a permanent error, says so, and resumes after the pause', () => {
    let d = decideNext(state({ active: active({}) }), { kind: 'timer' }, T0, SETTINGS);
    expect(d.action.kind).toBe('submit');
    const forbidden = { kind: 'permanent', message: '403 PERMISSION_DENIED: Invalid access token.' } as const;
    d = decideNext(d.state, { kind: 'submitFailed', error: forbidden }, T0, SETTINGS);
    expect(reportOf(d)).toEqual({
      ...HEALTHY,
      pausedUntil: T0 + SETTINGS.pauseMs,
      pauseReason: forbidden.message,
    });
    d = decideNext(d.state, { kind: 'healthReported' }, T0, SETTINGS);
    // No run-now storm: nothing is submitted until the pause is over (the ledger sweeps go on).
    let now = T0;
    while (d.action.kind !== 'submit') {
      expect(now).toBeLessThan(T0 + SETTINGS.pauseMs);
      if (d.action.kind === 'readLedger') {
        d = decideNext(d.state, { kind: 'ledgerRead', files: [] }, now, SETTINGS);
      } else {
        expect(d.action.kind).toBe('wait');
        now = (d.action as { until: number }).until;
        d = decideNext(d.state, { kind: 'timer' }, now, SETTINGS);
      }
    }
    expect(now).toBe(T0 + SETTINGS.pauseMs);
    expect(d.action).toMatchObject({ kind: 'submit', attempt: 1 });
    // The same token: a permanent error never reached a run.
    d = decideNext(d.state, { kind: 'submitted', runId: 3 }, now, SETTINGS);
    expect(reportOf(d)).toEqual(HEALTHY);
  });

  it('ends a pause when asked after it began (orders-pipeline process), not for an older request', () => {
    let d = decideNext(
      state({ active: active({}) }),
      { kind: 'submitFailed', error: { kind: 'permanent', message: '403' } },
      T0,
      SETTINGS,
    );
    d = decideNext(d.state, { kind: 'healthReported' }, T0, SETTINGS);
    const sweep = (requestedAt: number, now: number) =>
      decideNext(d.state, { kind: 'ledgerRead', files: [], resumeRequestedAt: requestedAt }, now, SETTINGS);
    const stale = sweep(T0 - 1, T0 + 60_000);
    expect(stale.state.health.pausedUntil).toBe(T0 + SETTINGS.pauseMs);
    expect(stale.action.kind).toBe('wait');
    const asked = sweep(T0 + 30_000, T0 + 60_000);
    expect(reportOf(asked)).toEqual(HEALTHY);
    const resumed = decideNext(asked.state, { kind: 'healthReported' }, T0 + 60_000, SETTINGS);
    expect(resumed.action).toMatchObject({ kind: 'submit', attempt: 1 });
  });

  it('pauses on a permanent error while polling too (a revoked token)', () => {
    const d = decideNext(
      state({ active: active({ phase: 'poll', runId: 7 }) }),
      { kind: 'pollFailed', error: { kind: 'permanent', message: '401' } },
      T0,
      SETTINGS,
    );
    expect(reportOf(d)).toMatchObject({ pausedUntil: T0 + SETTINGS.pauseMs, pauseReason: '401' });
    expect(d.state.active).toMatchObject({ phase: 'poll', runId: 7, at: T0 + SETTINGS.pauseMs });
  });

  it('backs off platform failures exponentially without counting them against the batch, and alerts', () => {
    let d = decideNext(state({ active: active({}) }), { kind: 'timer' }, T0, SETTINGS);
    let now = T0;
    const delays: number[] = [];
    const reports: number[] = [];
    for (let i = 0; i < 8; i++) {
      d = decideNext(d.state, { kind: 'submitted', runId: i }, now, SETTINGS);
      if (reportOf(d)) d = decideNext(d.state, { kind: 'healthReported' }, now, SETTINGS);
      d = decideNext(d.state, { kind: 'timer' }, d.state.active!.at, SETTINGS);
      now = d.state.active!.at;
      const failure =
        i % 2 === 0
          ? ({
              kind: 'polled',
              run: { kind: 'failed', message: 'INTERNAL_ERROR', notTheBatch: true },
            } as const)
          : ({ kind: 'pollFailed', error: { kind: 'runNotFound', message: 'Run gone' } } as const);
      d = decideNext(d.state, failure, now, SETTINGS);
      const health = reportOf(d);
      if (health) {
        reports.push(health.platformFailures);
        d = decideNext(d.state, { kind: 'healthReported' }, now, SETTINGS);
      }
      delays.push(d.state.active!.at - now);
      expect(d.state.active).toMatchObject({ failures: 0, phase: 'submit', attempt: i + 2 });
      d = decideNext(d.state, { kind: 'timer' }, d.state.active!.at, SETTINGS);
      now = d.state.active!.at;
      expect(d.action.kind).toBe('submit');
    }
    expect(delays).toEqual([1, 2, 4, 8, 16, 32, 60, 60].map((s) => s * 1_000));
    // At the threshold (3), then at each doubling: not at every retry.
    expect(reports).toEqual([3, 4, 8]);
    d = decideNext(d.state, { kind: 'submitted', runId: 99 }, now, SETTINGS);
    d = decideNext(d.state, { kind: 'timer' }, d.state.active!.at, SETTINGS);
    d = decideNext(
      d.state,
      { kind: 'polled', run: { kind: 'succeeded', startedAt: now, finishedAt: now } },
      d.state.active!.at,
      SETTINGS,
    );
    expect(d.action.kind).toBe('finish');
    expect(d.state.health).toEqual(HEALTHY);
    expect(d.state.healthDirty).toBe(true);
  });
});

describe('pipeline decision: poison isolation and exactly-once, simulated', () => {
  it('isolates one poison file of a batch and lets the rest through', () => {
    const files = [1, 2, 3, 4].map((n) => file(n));
    const { outcome, runs } = simulate(
      files.map((f) => ({ at: T0, file: f })),
      new Set([file(3).path]),
      { apiFailure: () => false, innocentFailure: () => false },
    );
    expect(Object.fromEntries(outcome)).toEqual({
      [file(1).path]: ['finish'],
      [file(2).path]: ['finish'],
      [file(3).path]: ['deadLetter'],
      [file(4).path]: ['finish'],
    });
    // 3 failures of the batch, 1 of the half holding the poison, 3 of the poison alone, 2 successes.
    expect(runs).toBe(3 + 1 + 1 + 3 + 1);
  });

  it('finishes every file exactly once, dead-letters only poison files, whatever the API does', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(600_000), { minLength: 1, maxLength: 30 }),
        fc.array(fc.nat(29), { maxLength: 3 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (arrivalTimes, poisonIndexes, apiPattern, seed) => {
          const files = arrivalTimes.map((at, i) => ({
            at: T0 + at,
            file: { ...file(i), triggeredAt: T0 + at },
          }));
          const poison = new Set(
            poisonIndexes.filter((i) => i < files.length).map((i) => files[i].file.path),
          );
          const failedOnce = new Set<string>();
          const { outcome, state: end } = simulate(files, poison, {
            apiFailure: (n) => apiPattern[n % apiPattern.length] && n % 3 !== 0,
            innocentFailure: (batch) => {
              const fail = (seed + batch.charCodeAt(batch.length - 1)) % 5 === 0 && !failedOnce.has(batch);
              failedOnce.add(batch);
              return fail;
            },
          });
          expect(end.active).toBeNull();
          for (const { file: f } of files) {
            expect(outcome.get(f.path)).toEqual([poison.has(f.path) ? 'deadLetter' : 'finish']);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
