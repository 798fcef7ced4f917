import { app } from '@azure/functions';
import { DASHBOARD_HEADERS, DASHBOARD_HTML } from '../lib/operate/dashboardPage';

/**
 * `GET /api/dashboard` (function key): the page that charts `/api/status`. It takes the key from
 * `?code=` once and sends it in the `x-functions-key` header; its CSP runs only its own script.
 */
app.http('dashboard', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'dashboard',
  handler: async () => ({ headers: { ...DASHBOARD_HEADERS }, body: DASHBOARD_HTML }),
});
