import { app, HttpRequest } from '@azure/functions';
import { functionsConfig, functionsSink } from '../lib/host/functionsRuntime';
import { payloadTooLarge, publishOrders } from '../lib/publish/orderPublisher';

const config = functionsConfig();

/** `POST /api/orders` (function key): validates CDC events and sends the valid ones to Event Hubs. */
app.http('publishOrders', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'orders',
  handler: async (request: HttpRequest) => {
    const declared = Number(request.headers.get('content-length') ?? 0);
    const answer =
      declared > config.PUBLISH_MAX_BODY_BYTES
        ? payloadTooLarge(declared, config.PUBLISH_MAX_BODY_BYTES)
        : await publishOrders(Buffer.from(await request.arrayBuffer()), await functionsSink(), {
            maxBytes: config.PUBLISH_MAX_BODY_BYTES,
          });
    return { status: answer.status, jsonBody: answer.body };
  },
});
