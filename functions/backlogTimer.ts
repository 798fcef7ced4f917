import { app, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { signalOrchestration } from '../lib/host/durableOrchestration';
import { functionsBacklog, functionsConfig } from '../lib/host/functionsRuntime';
import { pipelineSettings } from '../lib/host/settings';

const config = functionsConfig();
const settings = pipelineSettings(config);

/** Reports the backlog every BACKLOG_INTERVAL_MINUTES and re-triggers files whose event was lost. */
app.timer('backlogTimer', {
  schedule: `0 */${config.BACKLOG_INTERVAL_MINUTES} * * * *`,
  extraInputs: [df.input.durableClient()],
  handler: async (_timer: unknown, context: InvocationContext) => {
    const client = df.getClient(context);
    const report = await functionsBacklog((file) => signalOrchestration(client, file, settings));
    context.log(JSON.stringify({ event: 'backlog', ...report }));
  },
});
