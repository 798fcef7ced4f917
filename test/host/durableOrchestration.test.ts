import type { OrchestrationContext, RetryOptions, Task } from 'durable-functions';
import {
  FILE_CAPTURED_EVENT,
  PIPELINE_ACTIVITY,
  PIPELINE_INSTANCE_ID,
  PIPELINE_ORCHESTRATION,
  PipelineInput,
  pipelineOrchestration,
  signalOrchestration,
} from '../../lib/host/durableOrchestration';
import {
  FileRef,
  PipelineAction,
  PipelineEvent,
  PipelineSettings,
} from '../../lib/pipeline/pipelineDecision';

const SETTINGS: PipelineSettings = {
  batchWaitMs: 10_000,
  batchMaxFiles: 1000,
  batchMaxBytes: 1e9,
  pollMs: 2_000,
  maxAttempts: 2,
  retryBaseMs: 1_000,
  retryMaxMs: 8_000,
  sweepMs: 60_000,
  maxSteps: 40,
};
const T0 = Date.UTC(2026, 10, 26, 12);
const RETRY = {} as RetryOptions;

/** A scheduled task, as the fake runtime records it. */
type Scheduled =
  { kind: 'activity'; name: string; input: PipelineAction } | { kind: 'any'; timerAt: number; event: string };

/** What the runtime recorded for one completed task: its result and the orchestration time after. */
type HistoryItem =
  | { kind: 'activity'; result: PipelineEvent; time: number }
  | { kind: 'any'; winner: 'event' | 'timer'; eventResult?: unknown; time: number };

class FakeTask {
  isCompleted = false;
  isFaulted = false;
  result?: unknown;
  cancelled = false;
  constructor(readonly spec: Record<string, unknown>) {}
  cancel() {
    this.cancelled = true;
  }
}

/**
 * Replays the orchestrator from the start against a history, as the Durable runtime does on every
 * wake-up: completed tasks get their recorded results, the first task without one is where it
 * stops. Returns what it scheduled, in order, and how it ended.
 */
function replay(history: HistoryItem[], input: PipelineInput | undefined) {
  const scheduled: Scheduled[] = [];
  let time = T0;
  let continuedWith: PipelineInput | undefined;
  const context = {
    df: {
      get currentUtcDateTime() {
        return new Date(time);
      },
      isReplaying: false,
      getInput: () => input,
      callActivityWithRetry: (name: string, _retry: RetryOptions, action: unknown) =>
        new FakeTask({ kind: 'activity', name, input: action }),
      createTimer: (at: Date) => new FakeTask({ kind: 'timer', at: at.getTime() }),
      waitForExternalEvent: (name: string) => new FakeTask({ kind: 'event', name }),
      Task: { any: (tasks: FakeTask[]) => new FakeTask({ kind: 'any', tasks }) },
      continueAsNew: (next: PipelineInput) => (continuedWith = next),
    },
  } as unknown as OrchestrationContext;

  const generator = pipelineOrchestration(context, SETTINGS, RETRY);
  let next = generator.next();
  for (let i = 0; !next.done; i++) {
    const task = next.value as unknown as FakeTask;
    const spec = task.spec;
    if (spec.kind === 'activity') {
      scheduled.push({ kind: 'activity', name: spec.name as string, input: spec.input as PipelineAction });
    } else {
      const [signal, timer] = spec.tasks as FakeTask[];
      scheduled.push({ kind: 'any', timerAt: timer.spec.at as number, event: signal.spec.name as string });
    }
    const item = history[i];
    if (!item) return { scheduled, pending: spec, continuedWith };
    time = item.time;
    if (item.kind === 'activity') {
      next = generator.next(item.result);
    } else {
      const [signal, timer] = spec.tasks as FakeTask[];
      const winner = item.winner === 'event' ? signal : timer;
      winner.isCompleted = true;
      winner.result = item.eventResult;
      next = generator.next(winner);
    }
  }
  return { scheduled, pending: undefined, continuedWith };
}

const file = (n: number): FileRef => ({
  path: `ns/hub/0/2026/11/26/12/00/0${n}.avro`,
  url: `http://x/capture/ns/hub/0/2026/11/26/12/00/0${n}.avro`,
  bytes: 100,
  records: 3,
  triggeredAt: T0,
  attempts: 0,
});

describe('Durable orchestrator over the decision function', () => {
  it('makes the same decisions on every replay, through signals, timers, a failed run and a success', () => {
    const history: HistoryItem[] = [];
    const signals = [file(1), file(2)];
    let runs = 0;
    let previous: Scheduled[] = [];
    let time = T0;
    for (let wake = 0; wake < 30; wake++) {
      const { scheduled, pending } = replay(history, undefined);
      // Replaying the same history schedules the same tasks with the same inputs as before.
      expect(scheduled.slice(0, previous.length)).toEqual(previous);
      previous = scheduled;
      if (!pending) break;
      if (pending.kind === 'activity') {
        const action = pending.input as PipelineAction;
        expect(pending.name).toBe(PIPELINE_ACTIVITY);
        let result: PipelineEvent;
        if (action.kind === 'readLedger') result = { kind: 'ledgerRead', files: [] };
        else if (action.kind === 'submit') result = { kind: 'submitted', runId: 500 + runs++ };
        else if (action.kind === 'poll') {
          result = {
            kind: 'polled',
            run:
              action.runId === 500
                ? { kind: 'failed', message: 'Task silver failed', notTheBatch: false }
                : { kind: 'succeeded', startedAt: time, finishedAt: time },
          };
        } else result = { kind: 'recorded' };
        history.push({ kind: 'activity', result, time });
      } else {
        const tasks = pending.tasks as FakeTask[];
        expect(tasks[0].spec.name).toBe(FILE_CAPTURED_EVENT);
        const signal = signals.shift();
        if (signal) history.push({ kind: 'any', winner: 'event', eventResult: signal, time });
        else {
          time = tasks[1].spec.at as number;
          history.push({ kind: 'any', winner: 'timer', time });
        }
      }
    }
    const actions = previous
      .filter((s) => s.kind === 'activity')
      .map((s) => (s as { input: PipelineAction }).input.kind);
    const done = actions.indexOf('finish') + 1;
    expect(actions.slice(0, done)).toEqual(['readLedger', 'submit', 'poll', 'submit', 'poll', 'finish']);
    // Then it idles, an eternal loop reading the ledger once a sweep interval.
    expect(new Set(actions.slice(done))).toEqual(new Set(['readLedger']));
    const submits = previous
      .filter((s): s is Extract<Scheduled, { kind: 'activity' }> => s.kind === 'activity')
      .map((s) => s.input)
      .filter((a): a is Extract<PipelineAction, { kind: 'submit' }> => a.kind === 'submit');
    expect(submits.map((s) => s.batch.files.map((f) => f.path))).toEqual([
      [file(1).path, file(2).path],
      [file(1).path, file(2).path],
    ]);
    expect(submits[0].idempotencyToken).not.toBe(submits[1].idempotencyToken);
  });

  it('keeps one wait for the signal across timer wake-ups, so no signal is swallowed', () => {
    const history: HistoryItem[] = [
      { kind: 'activity', result: { kind: 'ledgerRead', files: [] }, time: T0 },
    ];
    history.push({ kind: 'any', winner: 'timer', time: T0 + SETTINGS.sweepMs });
    const waits: FakeTask[] = [];
    const context = {
      df: {
        currentUtcDateTime: new Date(T0),
        getInput: () => undefined,
        callActivityWithRetry: (_n: string, _r: RetryOptions, action: unknown) =>
          new FakeTask({ kind: 'activity', input: action }),
        createTimer: (at: Date) => new FakeTask({ kind: 'timer', at: at.getTime() }),
        waitForExternalEvent: (name: string) => {
          const task = new FakeTask({ kind: 'event', name });
          waits.push(task);
          return task;
        },
        Task: { any: (tasks: FakeTask[]) => new FakeTask({ kind: 'any', tasks }) },
        continueAsNew: () => undefined,
      },
    } as unknown as OrchestrationContext;
    const generator = pipelineOrchestration(context, SETTINGS, RETRY);
    generator.next();
    let step = generator.next({ kind: 'ledgerRead', files: [] });
    const [, timer] = (step.value as unknown as FakeTask).spec.tasks as FakeTask[];
    step = generator.next(timer as unknown as Task); // the timer wins
    step = generator.next({ kind: 'ledgerRead', files: [] }); // the sweep it woke for
    expect(((step.value as unknown as FakeTask).spec.tasks as FakeTask[])[0]).toBe(waits[0]);
    expect(waits).toHaveLength(1);
  });

  it('continues as new with its state after maxSteps', () => {
    const history: HistoryItem[] = [];
    for (let i = 0; i < SETTINGS.maxSteps + 5; i++) {
      history.push(
        i % 2 === 0
          ? { kind: 'activity', result: { kind: 'ledgerRead', files: [] }, time: T0 + i * SETTINGS.sweepMs }
          : { kind: 'any', winner: 'timer', time: T0 + (i + 1) * SETTINGS.sweepMs },
      );
    }
    const { pending, continuedWith } = replay(history, undefined);
    expect(pending).toBeUndefined();
    expect(continuedWith).toEqual({
      state: expect.objectContaining({ forming: null, active: null, ready: [] }),
      settings: SETTINGS,
    });
  });

  it('decides with the settings its input carries, not the app’s current ones', () => {
    const started = { settings: { ...SETTINGS, sweepMs: 5_000 } };
    const history: HistoryItem[] = [
      { kind: 'activity', result: { kind: 'ledgerRead', files: [] }, time: T0 },
    ];
    expect(replay(history, started).scheduled[1]).toMatchObject({ kind: 'any', timerAt: T0 + 5_000 });
    expect(replay(history, undefined).scheduled[1]).toMatchObject({
      kind: 'any',
      timerAt: T0 + SETTINGS.sweepMs,
    });
  });
});

describe('signalling the singleton orchestration', () => {
  /** A durable client whose instance is in the given state ('missing': getStatus throws as v3 does). */
  function client(state: 'missing' | 'Running' | 'Failed' | 'storage down') {
    const calls: unknown[][] = [];
    return {
      calls,
      getStatus: async (id: string) => {
        calls.push(['getStatus', id]);
        if (state === 'missing')
          throw new Error('DurableClient error: Durable Functions extension replied with HTTP 404 response.');
        if (state === 'storage down') throw new Error('DurableClient error: HTTP 500');
        return { runtimeStatus: state };
      },
      startNew: async (name: string, options: unknown) => {
        calls.push(['startNew', name, options]);
        return PIPELINE_INSTANCE_ID;
      },
      raiseEvent: async (id: string, event: string, data: unknown) => {
        calls.push(['raiseEvent', id, event, data]);
      },
    };
  }
  const signal = (c: ReturnType<typeof client>) =>
    signalOrchestration(c as unknown as Parameters<typeof signalOrchestration>[0], file(1), SETTINGS);

  it.each(['missing', 'Failed'] as const)(
    'starts the orchestration when it is %s, then raises the event',
    async (state) => {
      const c = client(state);
      await signal(c);
      expect(c.calls.slice(1)).toEqual([
        [
          'startNew',
          PIPELINE_ORCHESTRATION,
          { instanceId: PIPELINE_INSTANCE_ID, input: { settings: SETTINGS } },
        ],
        ['raiseEvent', PIPELINE_INSTANCE_ID, FILE_CAPTURED_EVENT, file(1)],
      ]);
    },
  );

  it('only raises the event when it runs, and lets other errors through', async () => {
    const running = client('Running');
    await signal(running);
    expect(running.calls.map((c) => c[0])).toEqual(['getStatus', 'raiseEvent']);
    await expect(signal(client('storage down'))).rejects.toThrow(/HTTP 500/);
  });
});
