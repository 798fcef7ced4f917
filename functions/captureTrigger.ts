import { app, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { signalOrchestration } from '../lib/host/durableOrchestration';
import { BlobTriggerMetadata, functionsConfig, onCaptureBlob } from '../lib/host/functionsRuntime';
import { pipelineSettings } from '../lib/host/settings';

const settings = pipelineSettings(functionsConfig());

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
      (file) => signalOrchestration(client, file, settings),
    );
    context.log(JSON.stringify({ event: 'blobCreated', path, outcome }));
  },
});
