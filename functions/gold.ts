import { app } from '@azure/functions';
import { functionsGold } from '../lib/pipeline/functionsRuntime';

/** `GET /api/gold` (function key): gold KPIs from the SQL warehouse, read only when asked (page load). */
app.http('gold', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'gold',
  handler: async () => {
    const answer = await functionsGold();
    return { status: answer.status, jsonBody: answer.body };
  },
});
