import type { DurableClient, OrchestrationContext, RetryOptions, Task } from 'durable-functions';
import {
  FileRef,
  PipelineEvent,
  PipelineSettings,
  PipelineState,
  decideNext,
  initialState,
} from '../pipeline/pipelineDecision';
import { errorMessage } from '../errorMessage';

/** One orchestration per job: a singleton with a fixed instance id (docs/architecture.md). */
export const PIPELINE_INSTANCE_ID = 'orders-lakehouse-pipeline';
export const PIPELINE_ORCHESTRATION = 'pipelineOrchestrator';
export const PIPELINE_ACTIVITY = 'pipelineAction';
export const FILE_CAPTURED_EVENT = 'fileCaptured';

/** What one generation of the orchestration starts from: its state, and the settings it decides with. */
export interface PipelineInput {
  state?: PipelineState;
  settings: PipelineSettings;
}

/**
 * The Durable orchestrator: a thin loop over decideNext. Time comes from the replay-safe
 * `currentUtcDateTime`, every I/O is one activity (performAction), waits are durable timers raced
 * with the trigger's signal, and the loop continues as new every few hundred steps.
 */
export function* pipelineOrchestration(
  context: OrchestrationContext,
  currentSettings: PipelineSettings,
  activityRetry: RetryOptions,
): Generator<Task, void, unknown> {
  const input = context.df.getInput() as PipelineInput | undefined;
  // Replays decide with the settings their generation started with, whatever the app settings say
  // now; changed settings take effect at the next continue-as-new.
  const settings = input?.settings ?? currentSettings;
  let state = input?.state ?? initialState(now(context));
  let event: PipelineEvent = { kind: 'start' };
  // One wait for the signal, kept across iterations until it completes; a signal raised while an
  // activity runs completes it, so each wait looks at it before racing it with a timer.
  let signal: Task | undefined;
  for (;;) {
    const decision = decideNext(state, event, now(context), settings);
    state = decision.state;
    const action = decision.action;
    if (action.kind === 'continueAsNew') {
      context.df.continueAsNew({ state, settings: currentSettings } satisfies PipelineInput);
      return;
    }
    if (action.kind === 'wait') {
      signal ??= context.df.waitForExternalEvent(FILE_CAPTURED_EVENT);
      // A signal that arrived while an activity ran completed the kept wait already; a race would
      // not notice it (durable-functions' any() does not look at completed children).
      if (signal.isCompleted) {
        event = { kind: 'fileSignalled', file: signal.result as FileRef };
        signal = undefined;
        continue;
      }
      const timer = context.df.createTimer(new Date(action.until));
      const winner = yield context.df.Task.any([signal, timer]);
      if (winner === signal) {
        timer.cancel();
        event = { kind: 'fileSignalled', file: signal.result as FileRef };
        signal = undefined;
      } else {
        event = { kind: 'timer' };
      }
      continue;
    }
    event = (yield context.df.callActivityWithRetry(
      PIPELINE_ACTIVITY,
      activityRetry,
      action,
    )) as PipelineEvent;
  }
}

function now(context: OrchestrationContext): number {
  return context.df.currentUtcDateTime.getTime();
}

type OrchestrationClient = Pick<DurableClient, 'getStatus' | 'startNew' | 'raiseEvent'>;

const STOPPED: readonly string[] = ['Completed', 'Failed', 'Terminated', 'Canceled'];

/**
 * Starts the singleton when it is not running (first file ever, or after it failed or was
 * terminated); it then reads its work from the ledger. The trigger's signal and the backlog timer's
 * watchdog both call it.
 */
export async function ensureOrchestration(
  client: OrchestrationClient,
  settings: PipelineSettings,
): Promise<{ status: string; started: boolean }> {
  let status: string | undefined;
  try {
    status = (await client.getStatus(PIPELINE_INSTANCE_ID)).runtimeStatus;
  } catch (error) {
    // The client reports an unknown instance as an error naming HTTP 404.
    if (!/HTTP 404/.test(errorMessage(error))) throw error;
  }
  if (status !== undefined && !STOPPED.includes(status)) return { status, started: false };
  const input: PipelineInput = { settings };
  await client.startNew(PIPELINE_ORCHESTRATION, { instanceId: PIPELINE_INSTANCE_ID, input });
  return { status: status ?? 'missing', started: true };
}

/** The capture trigger's signal: the orchestration running, then the file event raised. */
export async function signalOrchestration(
  client: OrchestrationClient,
  file: FileRef,
  settings: PipelineSettings,
): Promise<void> {
  await ensureOrchestration(client, settings);
  await client.raiseEvent(PIPELINE_INSTANCE_ID, FILE_CAPTURED_EVENT, file);
}
