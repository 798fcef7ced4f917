import { app, HttpRequest } from '@azure/functions';
import { functionsConfig, functionsSink } from '../lib/host/functionsRuntime';
import { OrderEventSink, publishRequest } from '../lib/publish/orderPublisher';

const config = functionsConfig();

/** Event Hubs, opened on the first event to send (a refused request never opens it). */
const sink: OrderEventSink = {
  send: async (events, options) => (await functionsSink()).send(events, options),
};

/**
 * `POST /api/orders` (function key): validates CDC events and sends the valid ones to Event Hubs.
 * The body is read from its stream with a running cap (PUBLISH_MAX_BODY_BYTES), so a chunked
 * request without Content-Length is cut off at the limit rather than read whole.
 */
app.http('publishOrders', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'orders',
  handler: async (request: HttpRequest) => {
    const answer = await publishRequest(
      {
        contentType: request.headers.get('content-type'),
        contentLength: request.headers.get('content-length'),
        body: request.body,
      },
      sink,
      { maxBytes: config.PUBLISH_MAX_BODY_BYTES },
    );
    return { status: answer.status, jsonBody: answer.body };
  },
});
