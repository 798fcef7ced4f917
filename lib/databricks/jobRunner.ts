/**
 * The contract between a Jobs API that runs the lakehouse job itself (the local stand-in) and the
 * code that executes the job's tasks (the lakehouse), so neither imports the other.
 */

/** One task of the job failed: which one, and why. */
export class JobTaskError extends Error {
  constructor(
    readonly taskKey: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'JobTaskError';
  }
}

/** Runs the job's tasks for one run; throws JobTaskError naming the task that failed. */
export interface JobRunner {
  readonly taskKeys: readonly string[];
  run(parameters: Record<string, string>, options: { runId: number; signal: AbortSignal }): Promise<void>;
}

/** The job as a workspace would define it, reduced to what run-now and the run life cycle read. */
export interface LocalJobDefinition {
  jobId: number;
  name: string;
  /** Job parameters and their defaults; run-now may set only these. */
  parameters: Record<string, string>;
  /** Concurrent runs allowed; further runs queue (queueing is on, as in the bundle). */
  maxConcurrentRuns: number;
}
