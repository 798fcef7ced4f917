import * as df from 'durable-functions';

/**
 * Runs a registered orchestration the way the Functions host and the Node worker do: the host keeps
 * the history, the worker hands it to the handler `df.app.orchestration` registered, and the
 * handler replays it from the start with durable-functions' own executor
 * (lib/src/util/testingUtils.js createOrchestrator → orchestrations/Orchestrator.js →
 * TaskOrchestrationExecutor.js). Nothing here replays; it only writes history and reads replies.
 */

// ---- The worker's core API, which @azure/functions registers functions with --------------------

export interface BindingMetadata {
  name: string;
  type: string;
  direction: 'in' | 'out';
  [setting: string]: unknown;
}

/** What @azure/functions (src/converters/toCoreFunctionMetadata.ts) hands the worker. */
export interface FunctionMetadata {
  name: string;
  bindings: Record<string, BindingMetadata>;
  retryOptions?: unknown;
}

export type FunctionCallback = (...args: unknown[]) => unknown;

export interface FakeFunctionsCore {
  registrations: Map<string, { metadata: FunctionMetadata; callback: FunctionCallback }>;
  setProgrammingModel(model: unknown): void;
  registerFunction(metadata: FunctionMetadata, callback: FunctionCallback): void;
}

/**
 * Stands in for `@azure/functions-core`, which only the worker process provides: @azure/functions
 * requires it lazily (src/utils/tryGetCoreApiLazy.ts) and, without it, registers nothing.
 * Use: jest.mock('@azure/functions-core', () => …fakeFunctionsCore(), { virtual: true }).
 */
export function fakeFunctionsCore(): FakeFunctionsCore {
  const registrations: FakeFunctionsCore['registrations'] = new Map();
  return {
    registrations,
    setProgrammingModel: () => undefined,
    registerFunction: (metadata, callback) => {
      registrations.set(metadata.name, { metadata, callback });
    },
  };
}

// ---- History, as the extension sends it (JSON of DurableTask.Core's history events) ------------

/** node_modules/durable-functions/lib/src/history/HistoryEventType.js */
export const EventType = {
  ExecutionStarted: 0,
  TaskScheduled: 4,
  TaskCompleted: 5,
  TaskFailed: 6,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
  EventRaised: 15,
} as const;

/**
 * Plain objects, not the package's event classes: those are not exported, and the worker gets
 * parsed JSON anyway. Fields as in node_modules/durable-functions/lib/src/history/HistoryEvent.js
 * and the per-type files named below; payloads (Input, Result) are JSON text, as on the wire.
 */
export interface HistoryEvent {
  EventType: number;
  EventId: number;
  IsPlayed: boolean;
  Timestamp: string;
  [field: string]: unknown;
}

const iso = (ms: number) => new Date(ms).toISOString();
const base = (type: number, id: number, at: number): HistoryEvent => ({
  EventType: type,
  EventId: id,
  IsPlayed: false,
  Timestamp: iso(at),
});

export const history = {
  /** OrchestratorStartedEvent.js: the time the orchestrator sees (currentUtcDateTime). */
  orchestratorStarted: (at: number) => base(EventType.OrchestratorStarted, -1, at),
  orchestratorCompleted: (at: number) => base(EventType.OrchestratorCompleted, -1, at),
  /** ExecutionStartedEvent.js */
  executionStarted: (at: number, name: string, input: unknown): HistoryEvent => ({
    ...base(EventType.ExecutionStarted, -1, at),
    Name: name,
    Version: '',
    Input: JSON.stringify(input ?? null),
  }),
  /** TaskScheduledEvent.js: EventId is the task's sequence number. */
  taskScheduled: (at: number, id: number, name: string, input: unknown): HistoryEvent => ({
    ...base(EventType.TaskScheduled, id, at),
    Name: name,
    Version: '',
    Input: JSON.stringify(input),
  }),
  /** TaskCompletedEvent.js */
  taskCompleted: (at: number, taskId: number, result: unknown): HistoryEvent => ({
    ...base(EventType.TaskCompleted, -1, at),
    TaskScheduledId: taskId,
    Result: JSON.stringify(result),
  }),
  /** TaskFailedEvent.js (Reason and Details: the Azure Storage backend, no FailureDetails). */
  taskFailed: (at: number, taskId: number, reason: string): HistoryEvent => ({
    ...base(EventType.TaskFailed, -1, at),
    TaskScheduledId: taskId,
    Reason: reason,
    Details: `Error: ${reason}`,
  }),
  /** TimerCreatedEvent.js */
  timerCreated: (at: number, id: number, fireAt: number): HistoryEvent => ({
    ...base(EventType.TimerCreated, id, at),
    FireAt: iso(fireAt),
  }),
  /** TimerFiredEvent.js */
  timerFired: (at: number, timerId: number, fireAt: number): HistoryEvent => ({
    ...base(EventType.TimerFired, -1, at),
    TimerId: timerId,
    FireAt: iso(fireAt),
  }),
  /** EventRaisedEvent.js */
  eventRaised: (at: number, name: string, input: unknown): HistoryEvent => ({
    ...base(EventType.EventRaised, -1, at),
    Name: name,
    Input: JSON.stringify(input),
  }),
};

// ---- The invocation and its reply ---------------------------------------------------------------

/** node_modules/durable-functions/lib/src/actions/ActionType.js */
export const ActionType = {
  CallActivity: 0,
  CallActivityWithRetry: 1,
  ContinueAsNew: 4,
  CreateTimer: 5,
  WaitForExternalEvent: 6,
  WhenAny: 11,
  WhenAll: 12,
} as const;

/** An action as the extension receives it (the JSON of lib/src/actions/*.js). */
export interface WireAction {
  actionType: number;
  functionName?: string;
  retryOptions?: {
    firstRetryIntervalInMilliseconds: number;
    maxNumberOfAttempts: number;
    backoffCoefficient?: number;
  };
  input?: unknown;
  fireAt?: string;
  isCanceled?: boolean;
  externalEventName?: string;
  compoundActions?: WireAction[];
}

/** lib/src/orchestrations/OrchestratorState.js, as JSON: the handler's reply. */
export interface OrchestratorState {
  isDone: boolean;
  actions: WireAction[][];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
  schemaVersion: number;
}

/** The orchestration trigger's value (lib/src/orchestrations/DurableOrchestrationBindingInfo.js). */
export function orchestrationRequest(events: HistoryEvent[], input: unknown) {
  return {
    history: events,
    input: input ?? null,
    instanceId: 'test-instance',
    isReplaying: events.some((e) => e.IsPlayed),
    parentInstanceId: null,
    // What the extension sends (upperSchemaVersion V2, upperSchemaVersionNew V3) and its timer defaults.
    upperSchemaVersion: 1,
    upperSchemaVersionNew: 2,
    longRunningTimerIntervalDuration: '3.00:00:00',
    maximumShortTimerDuration: '6.00:00:00',
    defaultHttpAsyncRequestSleepTimeMillseconds: 30_000,
  };
}

/** lib/src/error/OrchestrationFailureError.js: how a failed orchestration carries its state. */
const OUT_OF_PROC_DATA = '\n\n$OutOfProcData$:';

export interface Invocation {
  state: OrchestratorState;
  /** The orchestration failed: the reason the extension records. */
  failure?: string;
  /** Every action of this generation, in order (the executor reports them all on every replay). */
  actions: WireAction[];
}

/** One invocation of the handler, over JSON both ways as between host and worker. */
export async function invokeOrchestration(
  handler: FunctionCallback,
  request: ReturnType<typeof orchestrationRequest>,
): Promise<Invocation> {
  const context = new df.DummyOrchestrationContext('orchestration', 'invocation', () => undefined);
  try {
    const state: OrchestratorState = JSON.parse(
      JSON.stringify(await handler(JSON.parse(JSON.stringify(request)), context)),
    );
    return { state, actions: state.actions[0] ?? [] };
  } catch (error) {
    const data = (error instanceof Error ? error.message : String(error)).split(OUT_OF_PROC_DATA)[1];
    if (data === undefined) throw error;
    // The extension takes the reason from the state's `error`; the text before the label is not it.
    const state: OrchestratorState = JSON.parse(data);
    return { state, failure: state.error, actions: state.actions[0] ?? [] };
  }
}

// ---- The host's side of the loop ----------------------------------------------------------------

export interface Episode extends Invocation {
  /** The actions this episode added: what the orchestrator now waits on. */
  added: WireAction[];
}

/** An action, less `isCanceled`: a later replay marks the same timer cancelled once the event won. */
const identity = (action: WireAction): string =>
  JSON.stringify(action, (key, value: unknown) => (key === 'isCanceled' ? undefined : value));

/**
 * The host: appends what happened, in episodes (OrchestratorStarted … OrchestratorCompleted), and
 * after each one runs the orchestrator over the whole history, from the start. Sequence numbers are
 * given out as DurableTask.Core does: one per scheduled task, timer, and retry timer.
 */
export class OrchestrationHost {
  readonly history: HistoryEvent[] = [];
  readonly episodes: Episode[] = [];
  now: number;
  /** The ContinueAsNew input, once the generation has ended with one. */
  continuedWith?: { input: unknown };
  private input: unknown;
  private nextId = 0;
  private scheduled: WireAction[] = [];
  private activity?: { id: number; action: WireAction };
  private timerId?: number;
  private readonly openTimers = new Map<number, number>();

  private constructor(
    private readonly handler: FunctionCallback,
    private readonly name: string,
    start: number,
  ) {
    this.now = start;
  }

  /** Starts an instance with `input` at `start` and runs its first episode. */
  static async start(handler: FunctionCallback, name: string, input: unknown, start: number) {
    const host = new OrchestrationHost(handler, name, start);
    await host.startGeneration(input, start);
    return host;
  }

  get last(): Episode {
    const episode = this.episodes.at(-1);
    if (!episode) throw new Error('no episode yet');
    return episode;
  }

  /** Runs the orchestrator over the history as it stands, changing nothing. */
  replay(): Promise<Invocation> {
    return invokeOrchestration(this.handler, orchestrationRequest(this.history, this.input));
  }

  /** The pending activity returns `result`, after crashing `crashes` times (retried by the host). */
  async completeActivity(result: unknown, { crashes = 0, afterMs = 0 } = {}): Promise<Episode> {
    if (crashes >= (this.pendingActivity().action.retryOptions?.maxNumberOfAttempts ?? 1)) {
      throw new Error('that many crashes fail the activity: use failActivity');
    }
    const id = await this.crash(crashes, afterMs);
    const at = this.now + afterMs;
    this.activity = undefined;
    return this.deliver(at, [history.taskCompleted(at, id, result)]);
  }

  /** The pending activity crashes on every attempt its retry options allow. */
  async failActivity(reason: string): Promise<Episode> {
    await this.crash(this.pendingActivity().action.retryOptions?.maxNumberOfAttempts ?? 1, 0, reason);
    this.activity = undefined;
    return this.last;
  }

  /** Time moves to the pending timer: it fires (and any other timer due by then). */
  fireTimer(): Promise<Episode> {
    const fireAt = this.timerId === undefined ? undefined : this.openTimers.get(this.timerId);
    if (fireAt === undefined) throw new Error('no pending timer');
    return this.deliver(fireAt, []);
  }

  /** An external event arrives `afterMs` from now. */
  raiseEvent(name: string, input: unknown, afterMs = 0): Promise<Episode> {
    const at = this.now + afterMs;
    return this.deliver(at, [history.eventRaised(at, name, input)]);
  }

  /** The generation ended with ContinueAsNew: a new execution starts from its input, new history. */
  async continueAsNew(): Promise<Episode> {
    if (!this.continuedWith) throw new Error('the orchestration has not continued as new');
    const { input } = this.continuedWith;
    this.history.length = 0;
    this.openTimers.clear();
    this.nextId = 0;
    this.scheduled = [];
    this.activity = this.timerId = this.continuedWith = undefined;
    return this.startGeneration(input, this.now);
  }

  private startGeneration(input: unknown, at: number): Promise<Episode> {
    this.input = input;
    return this.deliver(at, [history.executionStarted(at, this.name, input)]);
  }

  private pendingActivity() {
    if (!this.activity) throw new Error('no pending activity');
    return this.activity;
  }

  /**
   * DurableTask.Core's RetryInterceptor: each failed attempt is followed by a timer of
   * first × coefficient^(attempt − 1), then the next attempt; after the last one, the timer, then the
   * failure. Returns the sequence number of the attempt that is still running.
   */
  private async crash(times: number, afterMs: number, reason = 'activity crashed'): Promise<number> {
    const { action } = this.pendingActivity();
    let { id } = this.pendingActivity();
    const retry = action.retryOptions ?? { firstRetryIntervalInMilliseconds: 0, maxNumberOfAttempts: 1 };
    for (let attempt = 1; attempt <= times; attempt++) {
      const failedAt = this.now + afterMs;
      const timerId = this.nextId++;
      const delay = retry.firstRetryIntervalInMilliseconds * (retry.backoffCoefficient ?? 1) ** (attempt - 1);
      const fireAt = failedAt + delay;
      await this.deliver(
        failedAt,
        [history.taskFailed(failedAt, id, reason)],
        [history.timerCreated(failedAt, timerId, fireAt)],
      );
      const last = attempt >= retry.maxNumberOfAttempts;
      const next = last
        ? []
        : [history.taskScheduled(fireAt, (id = this.nextId++), action.functionName ?? '', action.input)];
      await this.deliver(fireAt, [history.timerFired(fireAt, timerId, fireAt)], next);
      if (last) break;
    }
    return id;
  }

  /** One episode: what arrived (with every timer due by `at`), a replay, then what it scheduled. */
  private async deliver(at: number, arrived: HistoryEvent[], hostScheduled: HistoryEvent[] = []) {
    for (const event of this.history) event.IsPlayed = true;
    const due = [...this.openTimers]
      .filter(([, fireAt]) => fireAt <= at)
      .sort(([a, x], [b, y]) => x - y || a - b);
    for (const [id] of due) this.openTimers.delete(id);
    this.now = at;
    this.history.push(
      history.orchestratorStarted(at),
      ...due.map(([id, fireAt]) => history.timerFired(fireAt, id, fireAt)),
      ...arrived,
    );
    const invocation = await this.replay();
    // DurableTask.Core's non-determinism check, which the JS executor leaves to the extension.
    const replayed = invocation.actions.slice(0, this.scheduled.length).map(identity).join('\n');
    const recorded = this.scheduled.map(identity).join('\n');
    if (replayed !== recorded) {
      throw new Error(`Non-deterministic replay: scheduled\n${replayed}\nwhere the history has\n${recorded}`);
    }
    const added = invocation.actions.slice(this.scheduled.length);
    this.history.push(...hostScheduled);
    for (const action of added) {
      this.scheduled.push(action);
      this.track(action, at);
    }
    this.history.push(history.orchestratorCompleted(at));
    const episode = { ...invocation, added };
    this.episodes.push(episode);
    return episode;
  }

  private track(action: WireAction, at: number): void {
    switch (action.actionType) {
      case ActionType.CallActivity:
      case ActionType.CallActivityWithRetry: {
        const id = this.nextId++;
        this.history.push(history.taskScheduled(at, id, action.functionName ?? '', action.input));
        this.activity = { id, action };
        break;
      }
      case ActionType.CreateTimer: {
        const id = this.nextId++;
        const fireAt = Date.parse(action.fireAt ?? '');
        this.history.push(history.timerCreated(at, id, fireAt));
        this.openTimers.set(id, fireAt);
        this.timerId = id;
        break;
      }
      case ActionType.WhenAny:
      case ActionType.WhenAll:
        for (const child of action.compoundActions ?? []) this.track(child, at);
        break;
      case ActionType.ContinueAsNew:
        this.continuedWith = { input: action.input };
        break;
      // WaitForExternalEvent takes no sequence number: events are matched by name.
    }
  }
}
