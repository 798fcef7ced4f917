import { createHash } from 'node:crypto';

const STYLE = `
  body { font: 14px system-ui, sans-serif; margin: 1.5rem; color: #1d2733; background: #f6f7f9; }
  h1 { font-size: 1.3rem; margin: 0 0 1rem; }
  h2 { font-size: 1rem; margin: 0 0 .5rem; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 1rem; }
  .card { background: #fff; border-radius: 8px; padding: 1rem; box-shadow: 0 1px 2px #0002; }
  .kpis { display: flex; gap: 1.5rem; flex-wrap: wrap; }
  .kpi b { display: block; font-size: 1.4rem; }
  table { border-collapse: collapse; width: 100%; }
  td, th { text-align: left; padding: 2px 6px; border-bottom: 1px solid #eee; font-size: 12px; }
  .alert { color: #a4262c; }
  .spaced { margin-top: 1rem; }
  svg text { font-size: 10px; fill: #44505c; }
`;

const SCRIPT = `
// The function key (Azure): read once from ?code=, then taken out of the address bar so it stays
// out of the history and of copied links; the API calls carry it in the x-functions-key header.
const functionKey = (() => {
  const query = new URLSearchParams(location.search);
  const key = query.get('code');
  if (key === null) return null;
  query.delete('code');
  const rest = query.toString();
  history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
  return key;
})();
async function getJson(path) {
  const response = await fetch(path, { headers: functionKey ? { 'x-functions-key': functionKey } : {} });
  const text = await response.text();
  let answer = null;
  try {
    answer = JSON.parse(text);
  } catch {
    // A refusal by the Functions host (401 without a key) has no JSON body.
  }
  if (!response.ok || answer === null) {
    const hint = response.status === 401 ? ' (open the dashboard with ?code=<function key>)' : '';
    throw new Error(((answer && answer.error) || 'HTTP ' + response.status) + hint);
  }
  return answer;
}
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
function bars(id, items, options = {}) {
  const svg = document.getElementById(id);
  const width = 360, height = 170, left = 8, bottom = 40;
  const max = Math.max(1, ...items.flatMap((i) => i.values));
  const slot = (width - left) / Math.max(1, items.length);
  const colors = ['#2f6fdf', '#8fb1ef'];
  let out = '';
  items.forEach((item, i) => {
    item.values.forEach((v, j) => {
      const w = (slot - 4) / item.values.length;
      const h = ((height - bottom - 10) * v) / max;
      const x = left + i * slot + j * w;
      out += '<rect class="bar" x="' + x + '" y="' + (height - bottom - h) + '" width="' + Math.max(1, w - 1) +
        '" height="' + h + '" fill="' + colors[j % 2] + '"><title>' + esc(item.label) + ': ' + v + '</title></rect>';
    });
    if (items.length <= 24 || i % Math.ceil(items.length / 12) === 0) {
      out += '<text transform="translate(' + (left + i * slot + 3) + ',' + (height - bottom + 10) + ') rotate(45)">' +
        esc(item.label.slice(0, options.labelLength || 10)) + '</text>';
    }
  });
  svg.innerHTML = out || '<text x="10" y="20">no data yet</text>';
}
const kpi = (label, value) => '<div class="kpi"><b>' + esc(value) + '</b>' + esc(label) + '</div>';
let gold = null;
async function loadGold(fresh) {
  const note = document.getElementById('goldNote');
  let answer;
  try {
    answer = await getJson(fresh === true ? '/api/gold?fresh=1' : '/api/gold');
  } catch (error) {
    note.textContent = 'gold unavailable: ' + error.message;
    return;
  }
  gold = answer;
  note.textContent = 'read from ' + (gold.engine === 'duckdb' ? 'the local DuckDB lakehouse' : 'the SQL warehouse') +
    ' at ' + gold.at + '; last change ' + (gold.totals.lastChange || '–');
  document.getElementById('goldKpis').innerHTML =
    kpi('orders (gold)', gold.totals.orders) + kpi('revenue (gold)', '£' + gold.totals.revenue) +
    kpi('customers (gold)', gold.totals.customers);
  bars('byDay', gold.byDay.map((d) => ({ label: d.date.slice(5), values: [d.revenue] })));
  bars('byCountry', gold.byCountry.map((c) => ({ label: c.country, values: [c.revenue] })), { labelLength: 14 });
  document.getElementById('products').innerHTML = '<tr><th>product</th><th>units</th><th>revenue</th></tr>' +
    gold.topProducts.map((p) => '<tr><td>' + esc(p.productName) + '</td><td>' + p.units + '</td><td>£' + p.revenue.toFixed(2) + '</td></tr>').join('');
}
async function refresh() {
  let status;
  try {
    status = await getJson('/api/status');
  } catch (error) {
    document.getElementById('at').textContent = 'status unavailable: ' + error.message;
    return;
  }
  document.getElementById('at').textContent = status.at;
  const b = status.backlog;
  document.getElementById('kpis').innerHTML =
    kpi('files succeeded', status.files.succeeded) + kpi('records', status.records) +
    kpi('runs (24 h)', status.runs.perHour.reduce((n, h) => n + h.runs, 0)) +
    kpi('unfinished files', b ? b.unfinished.files : '–') +
    kpi('freshness (s)', b && b.freshnessSeconds !== null ? b.freshnessSeconds : '–') +
    kpi('dead-lettered', b ? b.deadLettered.files : status.files.deadLettered) +
    (status.cost ? kpi('est. cost / day', '$' + status.cost.eventDriven.costPerDay.toFixed(2)) : '');
  bars('files', Object.entries(status.files).map(([label, v]) => ({ label, values: [v] })));
  bars('runs', status.runs.perHour.map((h) => ({ label: h.hour.slice(11, 16), values: [h.runs] })));
  bars('latency', status.latency.map((l) => ({ label: l.from.replace('At', '') + '→' + l.to.replace('At', ''), values: [l.p50Seconds || 0, l.p95Seconds || 0] })), { labelLength: 22 });
  bars('backlogChart', (status.backlogHistory || []).map((p) => ({ label: p.at.slice(11, 16), values: [p.files] })));
  document.getElementById('backlog').innerHTML = b
    ? '<p>' + b.unfinished.files + ' unfinished files (' + b.unfinished.bytes + ' bytes), oldest ' + (b.unfinished.oldestAgeSeconds ?? '–') +
      ' s; runs ' + (b.runs ? 'active ' + b.runs.active + ', queued ' + b.runs.queued : 'unknown') + '; lost events re-triggered ' + b.lostEvents.found + '</p>' +
      b.alerts.map((a) => '<p class="alert">' + esc(a) + '</p>').join('')
    : '<p>no backlog report yet</p>';
  const c = status.cost;
  const cell = (v) => '<td>' + esc(v) + '</td>';
  document.getElementById('cost').innerHTML = c
    ? '<tr><th>' + esc(c.workload.eventsPerSecond.toFixed(2)) + ' events/s</th><th>event-driven</th><th>continuous</th></tr>' +
      '<tr><td>runs</td>' + cell(c.eventDriven.runsPerDay.toFixed(0)) + cell('always on') + '</tr>' +
      '<tr><td>compute hours</td>' + cell(c.eventDriven.computeHoursPerDay.toFixed(2)) + cell(c.continuous.computeHoursPerDay.toFixed(2)) + '</tr>' +
      '<tr><td>cost</td>' + cell(c.eventDriven.costPerDay.toFixed(2)) + cell(c.continuous.costPerDay.toFixed(2)) + '</tr>' +
      '<tr><td>freshness (typical, s)</td>' + cell(Math.round(c.eventDriven.freshness.typicalSeconds)) + cell(Math.round(c.continuous.freshness.typicalSeconds)) + '</tr>' +
      '<tr><td colspan="3">cheaper: ' + esc(c.cheaper === 'eventDriven' ? 'event-driven' : 'continuous') +
      (c.breakEvenEventsPerSecond === null ? '' : '; same cost at ' + esc(c.breakEvenEventsPerSecond) + ' events/s') +
      '; run model: ' + esc(c.runModel.source) + '</td></tr>'
    : '<tr><td>no figures yet</td></tr>';
  document.getElementById('dead').innerHTML = '<tr><th>file</th><th>error</th></tr>' +
    (b ? b.deadLettered.newest : []).map((d) => '<tr><td>' + esc(d.path) + '</td><td>' + esc(d.error) + '</td></tr>').join('');
}
document.getElementById('goldRefresh').addEventListener('click', () => loadGold(true));
refresh();
loadGold();
setInterval(() => {
  refresh();
  if (gold && gold.engine === 'duckdb') loadGold();
}, 5000);
`;

const sha256 = (text: string): string =>
  `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/**
 * The page's headers. The Content-Security-Policy lets only the page's own script and style run
 * (by hash: no other inline code, nothing from elsewhere) and lets it talk to its own origin only;
 * no referrer leaves the page, and no other site may frame it.
 */
export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': [
    "default-src 'none'",
    `script-src ${sha256(SCRIPT)}`,
    `style-src ${sha256(STYLE)}`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

/**
 * `GET /api/dashboard`: one self-contained HTML page (no build step, no external scripts) that reads
 * `/api/status` every few seconds and draws its charts as inline SVG. Gold comes from `/api/gold`
 * on page load and on request; only DuckDB's answers (free to ask) are refreshed with the status,
 * so the page never keeps a SQL warehouse from stopping.
 * Serve it with DASHBOARD_HEADERS.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>orders-pipeline</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style>
</head>
<body>
<h1>orders-pipeline — event-driven CDC to the lakehouse <small id="at"></small></h1>
<div class="card kpis"><div class="kpis" id="kpis"></div><div class="kpis" id="goldKpis"></div></div>
<div class="grid spaced">
  <div class="card"><h2>Files by state (last 24 h)</h2><svg id="files" data-chart width="360" height="170"></svg></div>
  <div class="card"><h2>Runs per hour</h2><svg id="runs" data-chart width="360" height="170"></svg></div>
  <div class="card"><h2>Latency per stage (p50 / p95, s)</h2><svg id="latency" data-chart width="360" height="170"></svg></div>
  <div class="card"><h2>Gold <button id="goldRefresh" type="button">refresh</button></h2><p id="goldNote">loading…</p></div>
  <div class="card"><h2>Revenue by day (gold)</h2><svg id="byDay" data-chart width="360" height="170"></svg></div>
  <div class="card"><h2>Revenue by country (gold)</h2><svg id="byCountry" data-chart width="360" height="170"></svg></div>
  <div class="card"><h2>Top products</h2><table id="products"></table></div>
  <div class="card"><h2>Backlog over time (unfinished files)</h2><svg id="backlogChart" data-chart width="360" height="170"></svg><div id="backlog"></div></div>
  <div class="card"><h2>Dead-lettered files</h2><table id="dead"></table></div>
  <div class="card"><h2>Which mode? At the observed rate, per day</h2><table id="cost"></table></div>
</div>
<script>${SCRIPT}</script>
</body>
</html>
`;
