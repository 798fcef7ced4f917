import fs from 'node:fs';
import path from 'node:path';
import {
  FILE_CAPTURED_EVENT,
  PIPELINE_INSTANCE_ID,
  PIPELINE_ORCHESTRATION,
  PipelineInput,
  ensureOrchestration,
  signalOrchestration,
} from '../../lib/host/durableOrchestration';
import { functionsConfig } from '../../lib/host/functionsRuntime';
import { pipelineSettings } from '../../lib/host/settings';
import {
  FileRef,
  HEALTHY,
  PipelineAction,
  PipelineEvent,
  PipelineSettings,
  initialState,
} from '../../lib/pipeline/pipelineDecision';
import {
  ActionType,
  EventType,
  FakeFunctionsCore,
  FunctionCallback,
  OrchestrationHost,
  WireAction,
  history,
  invokeOrchestration,
  orchestrationRequest,
} from '../support/durableHistory';
import { REPO_ROOT } from '../support/paths';

// The worker's core API: lets @azure/functions register, so the test gets the real handler.
jest.mock(
  '@azure/functions-core',
  () =>
    jest
      .requireActual<typeof import('../support/durableHistory')>('../support/durableHistory')
      .fakeFunctionsCore(),
  { virtual: true },
);

const SETTINGS: PipelineSettings = {
  batchWaitMs: 10_000,
  batchMaxFiles: 1000,
  batchMaxBytes: 1e9,
  pollMs: 2_000,
  maxAttempts: 2,
  retryBaseMs: 1_000,
  retryMaxMs: 8_000,
  sweepMs: 60_000,
  platformAlertAfter: 3,
  pauseMs: 600_000,
  maxSteps: 40,
};
// Contracts: the activity functions/pipelineAction.ts registers, the event the trigger raises, and
// the retry options functions/pipelineOrchestrator.ts passes.
const ACTIVITY = 'pipelineAction';
const SIGNAL = 'fileCaptured';
const RETRY = { firstRetryIntervalInMilliseconds: 5_000, maxNumberOfAttempts: 5, backoffCoefficient: 2 };
const T0 = Date.UTC(2026, 10, 26, 12);
// A generation whose health is already written; a brand-new orchestration writes it first (tested below).
const STARTED: PipelineInput = { settings: SETTINGS, state: { ...initialState(T0), healthDirty: false } };
const EMPTY_LEDGER: PipelineEvent = { kind: 'ledgerRead', files: [] };

const file = (n: number, triggeredAt = T0): FileRef => ({
  path: `ns/hub/0/2026/11/26/12/00/0${n}.avro`,
  url: `http://x/capture/ns/hub/0/2026/11/26/12/00/0${n}.avro`,
  bytes: 100,
  records: 3,
  triggeredAt,
  attempts: 0,
});

let orchestrator: FunctionCallback;
let appSettings: PipelineSettings;

beforeAll(async () => {
  // The entry point reads the app settings when it loads, as in the host.
  const sample = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'local.settings.sample.json'), 'utf8'))
    .Values as Record<string, string>;
  const saved = process.env;
  process.env = { ...saved, ...sample };
  try {
    await import('../../functions/pipelineOrchestrator');
    appSettings = pipelineSettings(functionsConfig());
  } finally {
    process.env = saved;
  }
  const core = jest.requireMock<FakeFunctionsCore>('@azure/functions-core');
  orchestrator = core.registrations.get(PIPELINE_ORCHESTRATION)!.callback;
});

const start = (input: PipelineInput | null = STARTED) =>
  OrchestrationHost.start(orchestrator, PIPELINE_ORCHESTRATION, input, T0);

/** The one action the orchestrator waits on after the last episode. */
function pendingAction(host: OrchestrationHost): WireAction {
  expect(host.last.failure).toBeUndefined();
  expect(host.last.added).toHaveLength(1);
  return host.last.added[0];
}

type Submit = Extract<PipelineAction, { kind: 'submit' }>;

/** The pending pipelineAction call's action. */
function pendingActivity(host: OrchestrationHost): PipelineAction {
  const action = pendingAction(host);
  expect(action).toMatchObject({
    actionType: ActionType.CallActivityWithRetry,
    functionName: ACTIVITY,
    retryOptions: RETRY,
  });
  return action.input as PipelineAction;
}

/** The pending race of the file signal against a timer: when the timer fires. */
function pendingWait(host: OrchestrationHost): number {
  const action = pendingAction(host);
  expect(action).toMatchObject({
    actionType: ActionType.WhenAny,
    compoundActions: [
      { actionType: ActionType.WaitForExternalEvent, externalEventName: SIGNAL },
      { actionType: ActionType.CreateTimer, isCanceled: false },
    ],
  });
  return Date.parse(action.compoundActions![1].fireAt!);
}

describe('Durable orchestrator, replayed by durable-functions over real history', () => {
  it('a brand-new orchestration writes its health after the first ledger read, then waits', async () => {
    const host = await start({ settings: SETTINGS });
    expect(pendingActivity(host)).toEqual({ kind: 'readLedger' });
    await host.completeActivity(EMPTY_LEDGER);
    expect(pendingActivity(host)).toEqual({ kind: 'reportHealth', health: HEALTHY });
    await host.completeActivity({ kind: 'healthReported' });
    expect(pendingWait(host)).toBe(T0 + SETTINGS.sweepMs);
  });

  it('turns a file signal into ledger read, batch wait, submit, poll and finish, each a pipelineAction call with the app’s retry options', async () => {
    const host = await start();
    expect(pendingAction(host)).toEqual({
      actionType: ActionType.CallActivityWithRetry,
      functionName: ACTIVITY,
      retryOptions: RETRY,
      input: { kind: 'readLedger' },
    });
    await host.completeActivity(EMPTY_LEDGER);
    expect(pendingWait(host)).toBe(T0 + SETTINGS.sweepMs);

    await host.raiseEvent(SIGNAL, file(1), 1_000);
    // The batch waits batchWaitMs from the file's arrival; a second file joins it.
    expect(pendingWait(host)).toBe(T0 + SETTINGS.batchWaitMs);
    await host.raiseEvent(SIGNAL, file(2), 2_000);
    expect(pendingWait(host)).toBe(T0 + SETTINGS.batchWaitMs);

    await host.fireTimer();
    const submit = pendingActivity(host);
    expect(submit).toMatchObject({ kind: 'submit', attempt: 1, batch: { files: [file(1), file(2)] } });
    await host.completeActivity({ kind: 'submitted', runId: 7 });
    expect(pendingWait(host)).toBe(T0 + SETTINGS.batchWaitMs + SETTINGS.pollMs);

    await host.fireTimer();
    expect(pendingActivity(host)).toEqual({ kind: 'poll', batchId: (submit as Submit).batch.id, runId: 7 });
    const run = { kind: 'succeeded', startedAt: T0 + 10_500, finishedAt: T0 + 11_500 } as const;
    await host.completeActivity({ kind: 'polled', run });
    expect(pendingActivity(host)).toMatchObject({
      kind: 'finish',
      runId: 7,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
    });
    await host.completeActivity({ kind: 'recorded' });
    expect(pendingWait(host)).toBe(T0 + SETTINGS.sweepMs);
    const calls = host.last.actions.filter((a) => a.actionType === ActionType.CallActivityWithRetry);
    expect(calls.map((a) => (a.input as PipelineAction).kind)).toEqual([
      'readLedger',
      'submit',
      'poll',
      'finish',
    ]);
  });

  it('goes on with the result of an activity that crashed and was retried on the host’s timers', async () => {
    const host = await start();
    await host.completeActivity(EMPTY_LEDGER, { crashes: 2 });
    // Retries took 5 s and 10 s of orchestration time; the sweep counts from the read's result.
    expect(pendingWait(host)).toBe(T0 + 15_000 + SETTINGS.sweepMs);
    // While the host retried, the orchestrator scheduled nothing new.
    expect(host.episodes.slice(1, -1).every((e) => e.added.length === 0 && !e.state.isDone)).toBe(true);
  });

  it('fails the orchestration when the activity crashes on every attempt', async () => {
    const host = await start();
    await host.completeActivity(EMPTY_LEDGER);
    await host.fireTimer();
    expect(pendingActivity(host)).toEqual({ kind: 'readLedger' });
    await host.failActivity('Table storage unreachable');
    expect(host.last.failure).toMatch(/^Table storage unreachable/);
    expect(host.last.state).toMatchObject({ isDone: false, error: host.last.failure });
    // Up to the last attempt's retry timer, it was still waiting.
    const before = host.episodes.at(-2)!;
    expect([before.failure, before.state.isDone, before.added]).toEqual([undefined, false, []]);
  });

  it('takes a fileCaptured event raised while its timer is pending: the event wins, the timer is cancelled, the file is batched', async () => {
    const host = await start();
    await host.completeActivity(EMPTY_LEDGER);
    const race = host.last.actions.length - 1;
    await host.raiseEvent(SIGNAL, file(1, T0 + 5_000), 5_000);
    expect(host.last.actions[race].compoundActions![1]).toMatchObject({ isCanceled: true });
    expect(pendingWait(host)).toBe(T0 + 5_000 + SETTINGS.batchWaitMs);
    await host.fireTimer();
    expect(pendingActivity(host)).toMatchObject({ kind: 'submit', batch: { files: [file(1, T0 + 5_000)] } });
    await host.completeActivity({ kind: 'submitted', runId: 7 });
    await host.fireTimer();
    await host.completeActivity({
      kind: 'polled',
      run: { kind: 'succeeded', startedAt: T0, finishedAt: T0 },
    });
    await host.completeActivity({ kind: 'recorded' });
    // The cancelled sweep timer still fires, with the new one: one wake-up, one sweep.
    expect(pendingWait(host)).toBe(T0 + SETTINGS.sweepMs);
    await host.fireTimer();
    expect(host.history.filter((e) => e.EventType === EventType.TimerFired)).toHaveLength(4);
    expect(pendingActivity(host)).toEqual({ kind: 'readLedger' });
  });

  it('wakes on its timer without an event to sweep the ledger, and the same wait still takes the next signal', async () => {
    const host = await start();
    await host.completeActivity(EMPTY_LEDGER);
    await host.fireTimer();
    expect(host.now).toBe(T0 + SETTINGS.sweepMs);
    expect(pendingActivity(host)).toEqual({ kind: 'readLedger' });
    await host.completeActivity(EMPTY_LEDGER);
    expect(pendingWait(host)).toBe(T0 + 2 * SETTINGS.sweepMs);
    const arrived = file(1, host.now + 1_000);
    await host.raiseEvent(SIGNAL, arrived, 1_000);
    expect(pendingWait(host)).toBe(arrived.triggeredAt + SETTINGS.batchWaitMs);
    await host.fireTimer();
    expect(pendingActivity(host)).toMatchObject({ kind: 'submit', batch: { files: [arrived] } });
  });

  it('takes a signal raised while an activity runs at its next wait', async () => {
    const host = await start();
    const early = file(1, T0 + 500);
    await host.raiseEvent(SIGNAL, early, 500);
    expect(host.last.added).toEqual([]);
    await host.completeActivity(EMPTY_LEDGER, { afterMs: 500 });
    // The buffered event settles the first wait at once; the second waits for the batch.
    const [settled, waiting] = host.last.added;
    expect(settled).toMatchObject({ actionType: ActionType.WhenAny });
    expect(Date.parse(waiting.compoundActions![1].fireAt!)).toBe(early.triggeredAt + SETTINGS.batchWaitMs);
  });

  // Fails today: the kept signal task completes while no race is pending, the next race does not
  // see that, and the next event overwrites it. The file waits for the ledger sweep instead.
  it('wakes for a signal raised during the sweep after a timer wake-up', async () => {
    const host = await start();
    await host.completeActivity(EMPTY_LEDGER);
    await host.fireTimer();
    expect(pendingActivity(host)).toEqual({ kind: 'readLedger' });
    const during = file(1, host.now + 500);
    await host.raiseEvent(SIGNAL, during, 500);
    await host.completeActivity(EMPTY_LEDGER, { afterMs: 500 });
    expect(Date.parse(host.last.added.at(-1)!.compoundActions![1].fireAt!)).toBe(
      during.triggeredAt + SETTINGS.batchWaitMs,
    );
  });

  it('makes the same decisions on every replay, through signals, timers, a failed run and a success', async () => {
    const host = await start();
    const signals = [file(1), file(2)];
    let runs = 0;
    // The host checks at every episode that the replay schedules what the history holds.
    for (let wake = 0; wake < 30; wake++) {
      const action = pendingAction(host);
      if (action.actionType === ActionType.WhenAny) {
        const signal = signals.shift();
        await (signal ? host.raiseEvent(SIGNAL, signal) : host.fireTimer());
        continue;
      }
      const input = pendingActivity(host);
      let result: PipelineEvent = { kind: 'recorded' };
      if (input.kind === 'readLedger') result = EMPTY_LEDGER;
      else if (input.kind === 'submit') result = { kind: 'submitted', runId: 500 + runs++ };
      else if (input.kind === 'poll') {
        const { now } = host;
        result = {
          kind: 'polled',
          run:
            input.runId === 500
              ? { kind: 'failed', message: 'Task silver failed', notTheBatch: false }
              : { kind: 'succeeded', startedAt: now, finishedAt: now },
        };
      }
      await host.completeActivity(result);
    }
    const inputs = host.last.actions
      .filter((a) => a.actionType === ActionType.CallActivityWithRetry)
      .map((a) => a.input as PipelineAction);
    const kinds = inputs.map((a) => a.kind);
    const done = kinds.indexOf('finish') + 1;
    expect(kinds.slice(0, done)).toEqual(['readLedger', 'submit', 'poll', 'submit', 'poll', 'finish']);
    // Then it idles, reading the ledger once a sweep interval.
    expect(new Set(kinds.slice(done))).toEqual(new Set(['readLedger']));
    const submits = inputs.filter((a): a is Submit => a.kind === 'submit');
    expect(submits.map((s) => s.batch.files.map((f) => f.path))).toEqual([
      [file(1).path, file(2).path],
      [file(1).path, file(2).path],
    ]);
    expect(submits[0].idempotencyToken).not.toBe(submits[1].idempotencyToken);
    // The whole history, replayed twice more, gives the same state and actions.
    const again = await host.replay();
    expect(await host.replay()).toEqual(again);
    expect(again.actions).toEqual(host.last.actions);
  });

  it('follows the history by sequence number: durable-functions does not check it against the code', async () => {
    const host = await start();
    await host.completeActivity(EMPTY_LEDGER);
    // A history that names another activity replays as if it named this one: only the extension,
    // replaying the actions against the history, could notice.
    const renamed = host.history.map((e) =>
      e.EventType === EventType.TaskScheduled ? { ...e, Name: 'other' } : e,
    );
    expect(await invokeOrchestration(orchestrator, orchestrationRequest(renamed, STARTED))).toEqual(
      await host.replay(),
    );
    // A history with a timer where the code has its activity: the timer's empty result is handed
    // over as the activity's, and the orchestration fails on it.
    const diverged = [
      history.orchestratorStarted(T0),
      history.executionStarted(T0, PIPELINE_ORCHESTRATION, STARTED),
      history.timerCreated(T0, 0, T0 + 1_000),
      history.orchestratorCompleted(T0),
      history.orchestratorStarted(T0 + 1_000),
      history.timerFired(T0 + 1_000, 0, T0 + 1_000),
    ];
    const run = await invokeOrchestration(orchestrator, orchestrationRequest(diverged, STARTED));
    expect(run.failure).toMatch(/Cannot read properties of undefined \(reading 'kind'\)/);
    expect(run.state.isDone).toBe(false);
  });

  it('continues as new after maxSteps with its state and the app’s current settings; the next generation goes on from them', async () => {
    const settings = { ...SETTINGS, maxSteps: 6, batchWaitMs: 600_000 };
    const host = await start({ ...STARTED, settings });
    const arrived = file(1, T0 + 1_000);
    await host.completeActivity(EMPTY_LEDGER);
    await host.raiseEvent(SIGNAL, arrived, 1_000);
    while (!host.last.state.isDone) {
      if (pendingAction(host).actionType === ActionType.WhenAny) await host.fireTimer();
      else await host.completeActivity(EMPTY_LEDGER);
    }
    expect(host.last.added).toEqual([
      {
        actionType: ActionType.ContinueAsNew,
        input: {
          state: {
            forming: { files: [arrived], openedAt: arrived.triggeredAt },
            ready: [],
            active: null,
            lastSweepAt: T0 + 2 * SETTINGS.sweepMs,
            steps: 6,
            health: HEALTHY,
            healthDirty: false,
            healthReportAt: T0,
          },
          settings: appSettings,
        },
      },
    ]);
    // The new execution reads the ledger, then, on the app's shorter batch wait, submits the file.
    await host.continueAsNew();
    expect(pendingActivity(host)).toEqual({ kind: 'readLedger' });
    await host.completeActivity(EMPTY_LEDGER);
    expect(pendingActivity(host)).toMatchObject({ kind: 'submit', batch: { files: [arrived] } });
  });

  it('decides with the settings its input carries, not the app’s current ones', async () => {
    const host = await start({ ...STARTED, settings: { ...SETTINGS, sweepMs: 5_000 } });
    await host.completeActivity(EMPTY_LEDGER);
    expect(pendingWait(host)).toBe(T0 + 5_000);
    const bare = await start(null);
    await bare.completeActivity(EMPTY_LEDGER);
    await bare.completeActivity({ kind: 'healthReported' });
    expect(pendingWait(bare)).toBe(T0 + appSettings.sweepMs);
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

  it('is the watchdog’s check: starts a failed or missing singleton, says what it found, raises nothing', async () => {
    const ensure = (c: ReturnType<typeof client>) =>
      ensureOrchestration(c as unknown as Parameters<typeof ensureOrchestration>[0], SETTINGS);
    for (const [state, found] of [
      ['Failed', 'Failed'],
      ['missing', 'missing'],
    ] as const) {
      const c = client(state);
      expect(await ensure(c)).toEqual({ status: found, started: true });
      expect(c.calls.map((call) => call[0])).toEqual(['getStatus', 'startNew']);
    }
    const running = client('Running');
    expect(await ensure(running)).toEqual({ status: 'Running', started: false });
    expect(running.calls.map((call) => call[0])).toEqual(['getStatus']);
  });
});
