import { app } from '@azure/functions';
import { functionsStatus } from '../lib/host/functionsRuntime';

/** `GET /api/status` (function key): the ledger, the job's runs, the backlog timer's stored report and cost advice. */
app.http('status', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'status',
  handler: async () => ({ jsonBody: await functionsStatus() }),
});
