import * as df from 'durable-functions';
import { PIPELINE_ORCHESTRATION, pipelineOrchestration } from '../lib/host/durableOrchestration';
import { functionsConfig } from '../lib/host/functionsRuntime';
import { pipelineSettings } from '../lib/host/settings';

const settings = pipelineSettings(functionsConfig());
// Activities report API failures as results; this retries only crashes of the activity itself.
const activityRetry = new df.RetryOptions(5_000, 5);
activityRetry.backoffCoefficient = 2;

/** The singleton orchestration: batches recorded files and runs the Databricks job on them. */
df.app.orchestration(PIPELINE_ORCHESTRATION, function* (context) {
  yield* pipelineOrchestration(context, settings, activityRetry);
});
