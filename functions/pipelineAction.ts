import * as df from 'durable-functions';
import { PIPELINE_ACTIVITY } from '../lib/host/durableOrchestration';
import { functionsPorts } from '../lib/host/functionsRuntime';
import { performAction } from '../lib/pipeline/pipelineActions';

/** The orchestration's one activity: performs an action (ledger, manifest, Jobs API) and reports. */
df.app.activity(PIPELINE_ACTIVITY, {
  handler: async (action: Parameters<typeof performAction>[0]) =>
    performAction(action, await functionsPorts()),
});
