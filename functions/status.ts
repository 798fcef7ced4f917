import { app } from '@azure/functions';
import { functionsStatus } from '../lib/host/functionsRuntime';

/** `GET /api/status` (function key): files by state, latency per stage, runs, from the ledger and Jobs API. */
app.http('status', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'status',
  handler: async () => ({ jsonBody: await functionsStatus() }),
});
