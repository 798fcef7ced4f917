import { app, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { ensureOrchestration, signalOrchestration } from '../lib/host/durableOrchestration';
import { functionsBacklog, functionsConfig } from '../lib/host/functionsRuntime';
import { pipelineSettings } from '../lib/host/settings';

const config = functionsConfig();
const settings = pipelineSettings(config);

/**
 * Reports the backlog every BACKLOG_INTERVAL_MINUTES (logged, and stored for the status API),
 * re-triggers files whose event was lost, and restarts the orchestration when files are open and it
 * is not running (the watchdog).
 */
app.timer('backlogTimer', {
  schedule: `0 */${config.BACKLOG_INTERVAL_MINUTES} * * * *`,
  extraInputs: [df.input.durableClient()],
  handler: async (_timer: unknown, context: InvocationContext) => {
    const client = df.getClient(context);
    await functionsBacklog(
      (file) => signalOrchestration(client, file, settings),
      { ensureRunning: () => ensureOrchestration(client, settings) },
      (entry) => context.log(JSON.stringify(entry)),
    );
  },
});
