import { app } from '@azure/functions';
import { DASHBOARD_HTML } from '../lib/operate/dashboardPage';

/** `GET /api/dashboard` (function key): the page that charts `/api/status`. */
app.http('dashboard', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'dashboard',
  handler: async () => ({ headers: { 'content-type': 'text/html; charset=utf-8' }, body: DASHBOARD_HTML }),
});
