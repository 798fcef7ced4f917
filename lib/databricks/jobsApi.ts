/**
 * The part of the Databricks Jobs API 2.2 this app speaks, in the API's own JSON names.
 * Source: https://docs.databricks.com/api/azure/workspace/jobs (run-now, runs/get, runs/cancel,
 * runs/list; the Run object with the deprecated `state` and its successor `status`).
 */

export const JOBS_API = {
  runNow: '/api/2.2/jobs/run-now',
  runsGet: '/api/2.2/jobs/runs/get',
  runsCancel: '/api/2.2/jobs/runs/cancel',
  runsList: '/api/2.2/jobs/runs/list',
} as const;

/** Databricks caps `idempotency_token` at 64 characters. */
export const IDEMPOTENCY_TOKEN_MAX_LENGTH = 64;
/** runs/list returns at most 25 runs a page. */
export const RUNS_LIST_MAX_LIMIT = 25;

export interface RunNowRequest {
  job_id: number;
  job_parameters?: Record<string, string>;
  idempotency_token?: string;
  queue?: { enabled: boolean };
}

export interface RunNowResponse {
  run_id: number;
  number_in_job?: number;
}

export type RunLifeCycleState =
  | 'QUEUED'
  | 'PENDING'
  | 'RUNNING'
  | 'TERMINATING'
  | 'TERMINATED'
  | 'SKIPPED'
  | 'INTERNAL_ERROR'
  | 'BLOCKED'
  | 'WAITING_FOR_RETRY';

export type RunResultState =
  | 'SUCCESS'
  | 'FAILED'
  | 'TIMEDOUT'
  | 'CANCELED'
  | 'MAXIMUM_CONCURRENT_RUNS_REACHED'
  | 'EXCLUDED'
  | 'SUCCESS_WITH_FAILURES'
  | 'UPSTREAM_FAILED'
  | 'UPSTREAM_CANCELED';

export interface RunState {
  life_cycle_state: RunLifeCycleState;
  result_state?: RunResultState;
  state_message?: string;
  user_cancelled_or_timedout?: boolean;
  queue_reason?: string;
}

export type RunStatusState =
  'BLOCKED' | 'PENDING' | 'QUEUED' | 'RUNNING' | 'TERMINATING' | 'TERMINATED' | 'WAITING';

export interface TerminationDetails {
  /** SUCCESS, RUN_EXECUTION_ERROR, CANCELED, INTERNAL_ERROR, MAX_CONCURRENT_RUNS_EXCEEDED, … */
  code: string;
  /** SUCCESS, CLIENT_ERROR, INTERNAL_ERROR, CLOUD_FAILURE */
  type: string;
  message: string;
}

export interface RunStatus {
  state: RunStatusState;
  queue_details?: { code: string; message: string };
  termination_details?: TerminationDetails;
}

export interface RunTask {
  task_key: string;
  run_id: number;
  state?: RunState;
  status?: RunStatus;
  start_time?: number;
  end_time?: number;
  setup_duration?: number;
  execution_duration?: number;
  cleanup_duration?: number;
  attempt_number?: number;
}

export interface Run {
  job_id: number;
  run_id: number;
  number_in_job?: number;
  original_attempt_run_id?: number;
  run_name?: string;
  run_page_url?: string;
  run_type?: 'JOB_RUN' | 'WORKFLOW_RUN' | 'SUBMIT_RUN';
  trigger?: string;
  state: RunState;
  status?: RunStatus;
  tasks?: RunTask[];
  job_parameters?: { name: string; default?: string; value?: string }[];
  /** Epoch milliseconds; 0 until set. */
  start_time?: number;
  end_time?: number;
  setup_duration?: number;
  execution_duration?: number;
  cleanup_duration?: number;
  run_duration?: number;
  queue_duration?: number;
  attempt_number?: number;
}

export interface RunsListResponse {
  runs?: Run[];
  has_more?: boolean;
  next_page_token?: string;
  prev_page_token?: string;
}

/** The body of every Databricks REST error. */
export interface ApiErrorBody {
  error_code: string;
  message: string;
}

export const TERMINAL_LIFE_CYCLE_STATES: readonly RunLifeCycleState[] = [
  'TERMINATED',
  'SKIPPED',
  'INTERNAL_ERROR',
];
