import type { OrchestrationContext, RetryOptions, Task } from 'durable-functions';
import {
  FileRef,
  PipelineEvent,
  PipelineSettings,
  PipelineState,
  decideNext,
  initialState,
} from './pipelineDecision';

/** One orchestration per job: a singleton with a fixed instance id (DESIGN.md, "Orchestration"). */
export const PIPELINE_INSTANCE_ID = 'orders-lakehouse-pipeline';
export const PIPELINE_ORCHESTRATION = 'pipelineOrchestrator';
export const PIPELINE_ACTIVITY = 'pipelineAction';
export const FILE_CAPTURED_EVENT = 'fileCaptured';

/**
 * The Durable orchestrator: a thin loop over decideNext. Time comes from the replay-safe
 * `currentUtcDateTime`, every I/O is one activity (performAction), waits are durable timers raced
 * with the trigger's signal, and the loop continues as new every few hundred steps.
 */
export function* pipelineOrchestration(
  context: OrchestrationContext,
  settings: PipelineSettings,
  activityRetry: RetryOptions,
): Generator<Task, void, unknown> {
  let state = (context.df.getInput() as PipelineState | undefined) ?? initialState(now(context));
  let event: PipelineEvent = { kind: 'start' };
  // One outstanding wait for the signal across iterations: an abandoned wait would swallow the
  // next signal.
  let signal: Task | undefined;
  for (;;) {
    const decision = decideNext(state, event, now(context), settings);
    state = decision.state;
    const action = decision.action;
    if (action.kind === 'continueAsNew') {
      context.df.continueAsNew(state);
      return;
    }
    if (action.kind === 'wait') {
      signal ??= context.df.waitForExternalEvent(FILE_CAPTURED_EVENT);
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
