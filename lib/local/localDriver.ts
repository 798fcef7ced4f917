import { PipelinePorts, performAction } from '../pipeline/pipelineActions';
import {
  FileRef,
  PipelineEvent,
  PipelineSettings,
  PipelineState,
  decideNext,
  initialState,
} from '../pipeline/pipelineDecision';

export interface LocalDriverOptions {
  ports: PipelinePorts;
  settings: PipelineSettings;
  /** Called after every decision, for progress displays and tests. */
  onDecision?: (state: PipelineState, event: PipelineEvent) => void;
}

/**
 * The orchestration for the local stack: the same decision function as the Durable orchestrator,
 * driven by real timers in this process. It keeps nothing the ledger does not: after a restart it
 * finds pending files and in-flight batches there and resumes them (same attempt, same token).
 */
export class LocalDriver {
  private readonly signals: FileRef[] = [];
  private wake?: () => void;
  private stopping = false;
  private ended = false;
  private readonly loop: Promise<void>;
  private current: PipelineState;

  private constructor(private readonly options: LocalDriverOptions) {
    this.current = initialState(Date.now());
    this.loop = this.run().finally(() => (this.ended = true));
    // Its end is watched through `done` and `running`; not an unhandled rejection meanwhile.
    this.loop.catch(() => undefined);
  }

  static start(options: LocalDriverOptions): LocalDriver {
    return new LocalDriver(options);
  }

  get state(): PipelineState {
    return this.current;
  }

  /** False once the loop has ended, stopped or by an error (as a Durable orchestration can fail). */
  get running(): boolean {
    return !this.ended;
  }

  /** The trigger's signal: a newly recorded file. */
  signal(file: FileRef): Promise<void> {
    this.signals.push(file);
    this.wake?.();
    return Promise.resolve();
  }

  /** Finishes the action in progress (a submit is never cut in half), then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    // A loop that ended by an error has reported it through `done` already.
    await this.loop.catch(() => undefined);
  }

  /** Settles when the loop ends: resolves after stop(), rejects with the error that stopped it. */
  get done(): Promise<void> {
    return this.loop;
  }

  private async run(): Promise<void> {
    const { ports, settings } = this.options;
    const now = ports.now ?? Date.now;
    let event: PipelineEvent = { kind: 'start' };
    while (!this.stopping) {
      const decision = decideNext(this.current, event, now(), settings);
      this.current = decision.state;
      this.options.onDecision?.(decision.state, event);
      const action = decision.action;
      if (action.kind === 'continueAsNew') {
        event = { kind: 'start' };
      } else if (action.kind === 'wait') {
        event = await this.sleep(action.until, now);
      } else {
        event = await performAction(action, ports);
      }
    }
  }

  private async sleep(until: number, now: () => number): Promise<PipelineEvent> {
    const signalled = this.signals.shift();
    if (signalled) return { kind: 'fileSignalled', file: signalled };
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(0, until - now()));
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = undefined;
    const file = this.signals.shift();
    return file ? { kind: 'fileSignalled', file } : { kind: 'timer' };
  }
}
