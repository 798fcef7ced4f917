import { app, HttpRequest } from '@azure/functions';
import { functionsGold } from '../lib/host/functionsRuntime';

/**
 * `GET /api/gold[?fresh=1]` (function key): gold KPIs from the SQL warehouse, read only when asked
 * (page load), reused for GOLD_CACHE_SECONDS unless `fresh=1`.
 */
app.http('gold', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'gold',
  handler: async (request: HttpRequest) => {
    const answer = await functionsGold({ fresh: request.query.get('fresh') === '1' });
    return { status: answer.status, jsonBody: answer.body };
  },
});
