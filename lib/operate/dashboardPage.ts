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
  svg .grid { stroke: #e3e6ea; }
  svg .tick, svg .unit, svg .legend { fill: #6b7682; }
  svg .value { fill: #1d2733; font-size: 9px; }
`;

/**
 * The page's charts and its cost table, as pure functions of the figures (each returns SVG or HTML
 * text): every chart shows its scale and whole category labels. Exported so tests can run them.
 */
export const CHARTS = `
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
// Chart text: about 6 px per character at 10 px.
const CHAR_PX = 6;
const COLORS = ['#2f6fdf', '#8fb1ef'];
/** A number as a short label: 1.25k, 35, 2.5, 0.25. */
function fmt(v) {
  if (v === null || v === undefined || !isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1e6) return Number((v / 1e6).toFixed(a >= 1e7 ? 0 : 2)) + 'M';
  if (a >= 1e3) return Number((v / 1e3).toFixed(a >= 1e4 ? 0 : 2)) + 'k';
  if (a >= 10 || Number.isInteger(v)) return String(Math.round(v));
  return String(Number(v.toFixed(a >= 1 ? 1 : 2)));
}
/** A figure with fixed decimals, or a dash for a missing or infinite one (JSON turns Infinity into null). */
function fixed(v, digits) {
  return v === null || v === undefined || !isFinite(v) ? '–' : Number(v).toFixed(digits);
}
/** The axis maximum: the value rounded up to 1, 2, 2.5 or 5 times a power of ten. */
function niceMax(max) {
  if (!(max > 0)) return 1;
  const power = Math.pow(10, Math.floor(Math.log10(max)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= max * (1 - 1e-12)) return m * power;
  return 10 * power;
}
const clip = (text, n) => (text.length > n ? text.slice(0, n - 1) + '…' : text);
const seconds = (s) => (s === null || s === undefined || !isFinite(s) ? 'unbounded' : s >= 3600 ? fmt(s / 3600) + ' h' : s >= 600 ? fmt(s / 60) + ' min' : Math.ceil(s - 1e-9) + ' s');
const legend = (series, x, y) =>
  series.length < 2
    ? ''
    : series.map((name, j) => '<rect x="' + (x + j * 60) + '" y="' + (y - 8) + '" width="9" height="9" fill="' + COLORS[j % 2] + '"></rect>' +
        '<text class="legend" x="' + (x + j * 60 + 12) + '" y="' + y + '">' + esc(name) + '</text>').join('');
const empty = (text) => ({ height: 40, svg: '<text x="10" y="20">' + esc(text || 'no data yet') + '</text>' });
/**
 * Columns over ordered labels (hours, days): a y axis with its scale (0, half, top), x labels spaced
 * so they never overlap, and each value on its column while they fit. One rect.bar per value.
 */
function columnChart(items, options) {
  options = options || {};
  if (items.length === 0) return empty();
  const series = options.series || [''];
  const width = 360, height = 170, left = 40, right = 8, top = 16, bottom = 22;
  const plotW = width - left - right, plotH = height - top - bottom;
  const max = niceMax(Math.max(0, ...items.map((i) => Math.max(0, ...i.values.map((v) => v || 0)))));
  const slot = plotW / items.length;
  const gap = slot > 6 ? 2 : 0;
  const labelPx = CHAR_PX * Math.max(...items.map((i) => i.label.length)) + 8;
  const every = Math.max(1, Math.ceil(labelPx / slot));
  const showValues = items.length * series.length <= 24 && slot / series.length >= CHAR_PX * 2;
  let out = options.unit ? '<text class="unit" x="2" y="10">' + esc(options.unit) + '</text>' : '';
  out += legend(series, width - right - 120, 10);
  [0, 0.5, 1].forEach((f) => {
    const y = top + plotH * (1 - f);
    out += '<line class="grid" x1="' + left + '" x2="' + (width - right) + '" y1="' + y + '" y2="' + y + '"></line>' +
      '<text class="tick" x="' + (left - 4) + '" y="' + (y + 3) + '" text-anchor="end">' + fmt(max * f) + '</text>';
  });
  items.forEach((item, i) => {
    const w = Math.max(1, (slot - gap) / item.values.length);
    item.values.forEach((raw, j) => {
      const v = raw || 0;
      const h = (plotH * v) / max;
      const x = left + i * slot + gap / 2 + j * w;
      out += '<rect class="bar" x="' + x + '" y="' + (top + plotH - h) + '" width="' + Math.max(1, w - (gap ? 1 : 0)) + '" height="' + h +
        '" fill="' + COLORS[j % 2] + '"><title>' + esc(item.label) + (series[j] ? ' ' + esc(series[j]) : '') + ': ' + esc(fmt(v)) + '</title></rect>';
      if (showValues && v > 0) out += '<text class="value" x="' + (x + w / 2) + '" y="' + (top + plotH - h - 2) + '" text-anchor="middle">' + fmt(v) + '</text>';
    });
    const center = left + i * slot + slot / 2;
    const half = (CHAR_PX * item.label.length) / 2;
    if (i % every === 0 && center - half >= 0 && center + half <= width) {
      out += '<text class="label" x="' + center + '" y="' + (height - bottom + 13) + '" text-anchor="middle">' + esc(item.label) + '</text>';
    }
  });
  return { height, svg: out };
}
/**
 * Horizontal bars for categories: each whole label at the left (clipped past options.labelChars, the
 * full text in its tooltip), each value at its bar's end, the scale (0 and the top) underneath.
 */
function barList(items, options) {
  options = options || {};
  if (items.length === 0) return empty();
  const series = options.series || [''];
  const width = 360, barH = series.length > 1 ? 10 : 13, rowH = barH * series.length + 6;
  const valueText = (raw) => fmt(raw === null ? null : raw || 0) + (options.unit && raw !== null ? ' ' + options.unit : '');
  const valueW = 8 + 5.5 * Math.max(...items.map((i) => Math.max(...i.values.map((v) => valueText(v).length))));
  const top = series.length > 1 ? 16 : 4;
  const labels = items.map((i) => clip(i.label, options.labelChars || 26));
  const labelW = Math.min(170, CHAR_PX * Math.max(...labels.map((l) => l.length)) + 10);
  const plotW = width - labelW - valueW;
  const max = Math.max(0, ...items.map((i) => Math.max(0, ...i.values.map((v) => v || 0)))) || 1;
  const height = top + items.length * rowH + 16;
  let out = legend(series, labelW, 10);
  items.forEach((item, i) => {
    const y = top + i * rowH;
    out += '<text class="label" x="' + (labelW - 6) + '" y="' + (y + (barH * item.values.length) / 2 + 4) + '" text-anchor="end">' +
      esc(labels[i]) + (labels[i] === item.label ? '' : '<title>' + esc(item.label) + '</title>') + '</text>';
    item.values.forEach((raw, j) => {
      const v = raw || 0;
      const w = (plotW * v) / max;
      const by = y + j * barH;
      out += '<rect class="bar" x="' + labelW + '" y="' + by + '" width="' + w + '" height="' + (barH - 1) + '" fill="' + COLORS[j % 2] + '"><title>' +
        esc(item.label) + (series[j] ? ' ' + esc(series[j]) : '') + ': ' + esc(fmt(raw === null ? null : v)) + '</title></rect>' +
        '<text class="value" x="' + (labelW + w + 3) + '" y="' + (by + barH - 2) + '">' + esc(valueText(raw)) + '</text>';
    });
  });
  const axisY = height - 12;
  out += '<line class="grid" x1="' + labelW + '" x2="' + (labelW + plotW) + '" y1="' + axisY + '" y2="' + axisY + '"></line>' +
    '<text class="tick" x="' + labelW + '" y="' + (axisY + 10) + '">0</text>' +
    '<text class="tick" x="' + (labelW + plotW) + '" y="' + (axisY + 10) + '" text-anchor="end">' + fmt(max) + (options.unit ? ' ' + esc(options.unit) : '') + '</text>';
  return { height, svg: out };
}
const settingText = (s) => s.captureWindowSeconds + ' s · ' + fmt(s.captureSizeBytes / 1048576) + ' MB · ' + s.batchWaitSeconds + ' s';
/**
 * Cost a day against worst-case freshness: the cheapest setting for each target as a step line
 * (a looser target never costs more), the recommended setting ringed, the continuous pipeline as a
 * square at its own freshness. Axes in minutes and cost a day.
 */
function costCurveChart(cost) {
  if (!cost || !cost.frontier) return empty('no figures yet');
  const points = cost.frontier.filter((p) => p.worstSeconds !== null && isFinite(p.worstSeconds));
  if (points.length === 0) return empty('no allowed setting keeps up with the observed rate');
  const advice = cost.advice || null;
  const k = (advice && advice.continuous) || cost.continuous;
  const width = 360, height = 190, left = 40, right = 14, top = 18, bottom = 32;
  const plotW = width - left - right, plotH = height - top - bottom;
  // Minutes on a log scale, ticks at 1, 2, 5 × 10^n: the curve's bend (minutes) and tail (hours) both show.
  const minutes = points.map((p) => p.worstSeconds / 60).concat([k.freshness.worstSeconds / 60]);
  const ticks = [];
  for (let n = -1; n <= 4; n++) [1, 2, 5].forEach((m) => ticks.push(m * Math.pow(10, n)));
  const lo = ticks.filter((t) => t <= Math.min(...minutes)).pop() || ticks[0];
  const hi = ticks.find((t) => t >= Math.max(...minutes)) || ticks[ticks.length - 1];
  const maxY = niceMax(Math.max(points[0].costPerDay, k.costPerDay));
  const X = (s) => left + (plotW * Math.log(s / 60 / lo)) / Math.log(hi / lo);
  const Y = (c) => top + plotH * (1 - c / maxY);
  let out = '<text class="unit" x="2" y="10">cost / day</text>' +
    '<text class="unit" x="' + (left + plotW / 2) + '" y="' + (height - 2) + '" text-anchor="middle">worst-case freshness (minutes, log scale)</text>';
  [0, 0.5, 1].forEach((f) => {
    const y = top + plotH * (1 - f);
    out += '<line class="grid" x1="' + left + '" x2="' + (width - right) + '" y1="' + y + '" y2="' + y + '"></line>' +
      '<text class="tick" x="' + (left - 4) + '" y="' + (y + 3) + '" text-anchor="end">' + fmt(maxY * f) + '</text>';
  });
  ticks.filter((t) => t >= lo && t <= hi).forEach((t) => {
    const x = X(t * 60);
    out += '<line class="grid" x1="' + x + '" x2="' + x + '" y1="' + top + '" y2="' + (top + plotH + 3) + '"></line>' +
      '<text class="tick" x="' + x + '" y="' + (top + plotH + 13) + '" text-anchor="middle">' + fmt(t) + '</text>';
  });
  let d = 'M' + X(points[0].worstSeconds) + ' ' + Y(points[0].costPerDay);
  for (let i = 1; i < points.length; i++) d += ' H' + X(points[i].worstSeconds) + ' V' + Y(points[i].costPerDay);
  d += ' H' + X(hi * 60);
  out += '<path class="curve" d="' + d + '" fill="none" stroke="' + COLORS[0] + '" stroke-width="1.5"></path>';
  points.forEach((p) => {
    out += '<circle class="point" cx="' + X(p.worstSeconds) + '" cy="' + Y(p.costPerDay) + '" r="2.5" fill="' + COLORS[0] + '"><title>' +
      esc(settingText(p) + ': ' + fmt(p.costPerDay) + ' a day, worst ' + seconds(p.worstSeconds)) + '</title></circle>';
  });
  const r = advice && advice.recommended;
  if (r) {
    const x = X(r.estimate.freshness.worstSeconds), y = Y(r.estimate.costPerDay);
    out += '<circle class="recommended" cx="' + x + '" cy="' + y + '" r="5" fill="none" stroke="#a4262c" stroke-width="1.5"></circle>' +
      '<text class="value" x="' + (x + 7) + '" y="' + (y - 6) + '">recommended</text>';
  }
  const kx = X(k.freshness.worstSeconds), ky = Y(k.costPerDay);
  out += '<rect class="continuous" x="' + (kx - 4) + '" y="' + (ky - 4) + '" width="8" height="8" fill="#8a5cd1"><title>continuous: ' +
    esc(fmt(k.costPerDay) + ' a day, worst ' + seconds(k.freshness.worstSeconds)) + '</title></rect>' +
    '<text class="value" x="' + (kx + 7) + '" y="' + (ky + 4) + '">continuous</text>';
  return { height, svg: out };
}
/** The "Which mode?" table: the setting in use and the recommended one against continuous, per day. */
function costTable(c) {
  if (!c) return '<tr><td>no figures yet</td></tr>';
  const advice = c.advice || null;
  const r = advice && advice.recommended;
  const e = c.eventDriven, k = (advice && advice.continuous) || c.continuous;
  const cols = [{ head: (c.settingSource || 'this') + ' setting', setting: c.workload, estimate: e }];
  if (r) cols.push({ head: 'recommended ≤ ' + seconds(advice.targetSeconds), setting: r.setting, estimate: r.estimate });
  const cell = (v) => '<td>' + esc(v) + '</td>';
  const row = (label, f, continuous) => '<tr><td>' + esc(label) + '</td>' + cols.map((col) => cell(f(col))).join('') + cell(continuous) + '</tr>';
  let out = '<tr><th>' + esc(fmt(c.workload.eventsPerSecond)) + ' events/s, per day</th>' +
    cols.map((col) => '<th>' + esc(col.head) + '</th>').join('') + '<th>continuous</th></tr>' +
    row('window · size · wait', (col) => settingText(col.setting), 'always on') +
    row('runs', (col) => fixed(col.estimate.runsPerDay, 0), '–') +
    row('compute hours', (col) => fixed(col.estimate.computeHoursPerDay, 2), fixed(k.computeHoursPerDay, 2)) +
    row('DBUs', (col) => fixed(col.estimate.dbusPerDay, 1), fixed(k.dbusPerDay, 1)) +
    row('cost', (col) => fixed(col.estimate.costPerDay, 2), fixed(k.costPerDay, 2)) +
    row('worst-case freshness', (col) => seconds(col.estimate.freshness.worstSeconds), seconds(k.freshness.worstSeconds));
  let note;
  if (!advice) {
    note = 'cheaper: ' + (c.cheaper === 'eventDriven' ? 'event-driven' : 'continuous') + '.';
  } else if (r) {
    note = 'Recommended for a worst-case freshness within ' + seconds(advice.targetSeconds) + ' at the observed rate: Capture window ' +
      r.setting.captureWindowSeconds + ' s, Capture size limit ' + fmt(r.setting.captureSizeBytes / 1048576) + ' MB, BATCH_WAIT_SECONDS ' +
      r.setting.batchWaitSeconds + ' (' + fixed(r.estimate.costPerDay, 2) + ' a day; continuous ' + fixed(k.costPerDay, 2) + ').' +
      (advice.cheaper === 'continuous' ? ' Continuous mode is cheaper within it.' : '');
  } else {
    note = 'No allowed setting reaches ' + seconds(advice.targetSeconds) + (advice.fastest ? '; the best is ' +
      seconds(advice.fastest.estimate.freshness.worstSeconds) + ' (' + settingText(advice.fastest.setting) + ')' : '') + '.' +
      (advice.continuousMeetsTarget ? ' Continuous mode reaches it.' : '');
  }
  const sameCost = c.breakEvenEventsPerSecond === null || c.breakEvenEventsPerSecond === undefined ? '' : ' This setting costs what continuous costs at ' + fmt(c.breakEvenEventsPerSecond) + ' events/s.';
  return out + '<tr><td colspan="' + (cols.length + 2) + '">' + esc(note + sameCost + ' Run model: ' + c.runModel.source + '.') + '</td></tr>';
}
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
${CHARTS}
function draw(id, chart) {
  const svg = document.getElementById(id);
  svg.setAttribute('height', chart.height);
  svg.setAttribute('viewBox', '0 0 360 ' + chart.height);
  svg.innerHTML = chart.svg;
}
const STAGE = { capturedAt: 'captured', triggeredAt: 'triggered', submittedAt: 'submitted', runStartedAt: 'run started', runFinishedAt: 'run finished' };
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
  draw('byDay', columnChart(gold.byDay.map((d) => ({ label: d.date.slice(5), values: [d.revenue] })), { unit: 'revenue (£)' }));
  draw('byCountry', barList(gold.byCountry.map((c) => ({ label: c.country, values: [c.revenue] }))));
  document.getElementById('products').innerHTML = '<tr><th>product</th><th>units</th><th>revenue</th></tr>' +
    gold.topProducts.map((p) => '<tr><td>' + esc(p.productName) + '</td><td>' + esc(fmt(p.units)) + '</td><td>£' + esc(fixed(p.revenue, 2)) + '</td></tr>').join('');
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
    (status.cost ? kpi('est. cost / day', '$' + fixed(status.cost.eventDriven.costPerDay, 2)) : '');
  draw('files', barList(Object.entries(status.files).map(([label, v]) => ({ label, values: [v] })), { unit: 'files' }));
  draw('runs', columnChart(status.runs.perHour.map((h) => ({ label: h.hour.slice(11, 16), values: [h.runs] })), { unit: 'runs' }));
  const stage = (name) => STAGE[name] || name;
  draw('latency', barList(status.latency.map((l) => ({ label: stage(l.from) + ' → ' + stage(l.to), values: [l.p50Seconds, l.p95Seconds] })), { series: ['p50', 'p95'], unit: 's' }));
  draw('backlogChart', columnChart((status.backlogHistory ?? []).map((p) => ({ label: p.at.slice(11, 16), values: [p.files] })), { unit: 'unfinished files' }));
  document.getElementById('backlog').innerHTML = b
    ? '<p>' + esc('report of ' + b.at + ' (' + (status.backlogAgeSeconds ?? '–') + ' s ago)') + '</p>' +
      (status.backlogError ? '<p class="alert">' + esc(status.backlogError) + '</p>' : '') +
      '<p>' + esc(b.unfinished.files + ' unfinished files (' + b.unfinished.bytes + ' bytes), oldest ' + (b.unfinished.oldestAgeSeconds ?? '–') +
      ' s; runs ' + (b.runs ? 'active ' + b.runs.active + ', queued ' + b.runs.queued : 'unknown') + '; lost events re-triggered ' + b.lostEvents.found) + '</p>' +
      b.alerts.map((a) => '<p class="alert">' + esc(a) + '</p>').join('')
    : '<p>no backlog report yet</p>' + (status.backlogError ? '<p class="alert">' + esc(status.backlogError) + '</p>' : '');
  document.getElementById('cost').innerHTML = costTable(status.cost);
  draw('costCurve', costCurveChart(status.cost));
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
  <div class="card"><h2>Latency per stage (p50 / p95, seconds)</h2><svg id="latency" data-chart width="360" height="170"></svg></div>
  <div class="card"><h2>Gold <button id="goldRefresh" type="button">refresh</button></h2><p id="goldNote">loading…</p></div>
  <div class="card"><h2>Revenue by day (gold)</h2><svg id="byDay" data-chart width="360" height="170"></svg></div>
  <div class="card"><h2>Revenue by country (gold)</h2><svg id="byCountry" data-chart width="360" height="170"></svg></div>
  <div class="card"><h2>Top products</h2><table id="products"></table></div>
  <div class="card"><h2>Backlog over time (unfinished files)</h2><svg id="backlogChart" data-chart width="360" height="170"></svg><div id="backlog"></div></div>
  <div class="card"><h2>Dead-lettered files</h2><table id="dead"></table></div>
  <div class="card"><h2>Which mode? At the observed rate, per day</h2><table id="cost"></table></div>
  <div class="card"><h2>Cost versus worst-case freshness (the cheapest setting for each)</h2><svg id="costCurve" data-chart width="360" height="190"></svg></div>
</div>
<script>${SCRIPT}</script>
</body>
</html>
`;
