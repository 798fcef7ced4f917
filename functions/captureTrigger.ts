import { app, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import {
  FILE_CAPTURED_EVENT,
  PIPELINE_INSTANCE_ID,
  PIPELINE_ORCHESTRATION,
} from '../lib/pipeline/durableOrchestration';
import { BlobTriggerMetadata, functionsConfig, onCaptureBlob } from '../lib/pipeline/functionsRuntime';

const STOPPED = new Set([
  df.OrchestrationRuntimeStatus.Completed,
  df.OrchestrationRuntimeStatus.Failed,
  df.OrchestrationRuntimeStatus.Terminated,
]);

/** Records each Capture file in the ledger and wakes the orchestration (Event Grid source). */
app.storageBlob('captureTrigger', {
  path: `${functionsConfig().CAPTURE_CONTAINER}/{name}`,
  connection: 'CaptureStorage',
  source: 'EventGrid',
  extraInputs: [df.input.durableClient()],
  handler: async (blob: unknown, context: InvocationContext) => {
    const client = df.getClient(context);
    const { path, outcome } = await onCaptureBlob(
      blob as Buffer,
      context.triggerMetadata as BlobTriggerMetadata,
      async (file) => {
        const status = await client.getStatus(PIPELINE_INSTANCE_ID).catch(() => undefined);
        if (!status || STOPPED.has(status.runtimeStatus)) {
          await client.startNew(PIPELINE_ORCHESTRATION, { instanceId: PIPELINE_INSTANCE_ID });
        }
        await client.raiseEvent(PIPELINE_INSTANCE_ID, FILE_CAPTURED_EVENT, file);
      },
    );
    context.log(JSON.stringify({ event: 'blobCreated', path, outcome }));
  },
});
