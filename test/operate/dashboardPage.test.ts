import { createHash } from 'node:crypto';
import { CHARTS, DASHBOARD_HEADERS, DASHBOARD_HTML } from '../../lib/operate/dashboardPage';
import { StatusCost, statusCost } from '../../lib/operate/costAdvisor';
import { CostRates, compareModes } from '../../lib/operate/costModel';

/**
 * The page's chart and table functions, run as the browser runs them (the same text the page
 * embeds), without a browser: what they draw is checked on the SVG and HTML text they return.
 */
type Chart = { height: number; svg: string };
type Item = { label: string; values: (number | null)[] };
const charts = new Function(
  `${CHARTS}; return { columnChart, barList, costCurveChart, costTable, fmt, niceMax };`,
)() as {
  columnChart: (items: Item[], options?: { unit?: string; series?: string[] }) => Chart;
  barList: (items: Item[], options?: { unit?: string; series?: string[] }) => Chart;
  costCurveChart: (cost: unknown) => Chart;
  costTable: (cost: unknown) => string;
  fmt: (v: number | null) => string;
  niceMax: (v: number) => number;
};

/** The text elements of a class, with their x, anchor and text. */
function texts(svg: string, cls: string): { x: number; anchor: string; text: string }[] {
  const found = [
    ...svg.matchAll(
      new RegExp(`<text class="${cls}" x="([^"]+)"[^>]*?(?:text-anchor="(\\w+)")?>([^<]*)`, 'g'),
    ),
  ];
  return found.map((m) => ({ x: Number(m[1]), anchor: m[2] ?? 'start', text: m[3] }));
}
/** Where a text's box starts and ends, at the page's ~6 px per character. */
const extent = (t: { x: number; anchor: string; text: string }) => {
  const width = 6 * t.text.length;
  const start = t.anchor === 'middle' ? t.x - width / 2 : t.anchor === 'end' ? t.x - width : t.x;
  return [start, start + width];
};
const count = (svg: string, pattern: RegExp) => (svg.match(pattern) ?? []).length;

const RATES: CostRates = {
  jobDbuPerHour: 4,
  jobStartupSeconds: 60,
  pricePerDbu: 0.45,
  continuousDbuPerHour: 4,
  continuousPricePerDbu: 0.45,
  continuousTriggerSeconds: 10,
  continuousLatencySeconds: 30,
  runFixedSeconds: 60,
  runSecondsPerMillionEvents: 30,
  freshnessTargetSeconds: 900,
};
const LOCAL = {
  partitions: 4,
  bytesPerEvent: 350,
  captureWindowSeconds: 10,
  captureSizeBytes: 100 * 1024 * 1024,
  batchWaitSeconds: 5,
};
const rows = Array.from({ length: 10 }, (_, i) => ({
  records: 600,
  state: 'pending',
  capturedAt: new Date(Date.UTC(2026, 10, 26, 12, i)).toISOString(),
}));
/** As the status API sends it: JSON (an unbounded freshness becomes null). */
const asSent = (cost: StatusCost) => JSON.parse(JSON.stringify(cost)) as unknown;

describe('dashboard charts', () => {
  it('columns show their scale and spaced, whole labels, with values while they fit', () => {
    const hours = Array.from({ length: 24 }, (_, h) => ({
      label: `${String(h).padStart(2, '0')}:00`,
      values: [h % 13],
    }));
    const chart = charts.columnChart(hours, { unit: 'runs' });
    // The y axis: 0, half and the top of the scale (12 rounds up to 20).
    expect(texts(chart.svg, 'tick').map((t) => t.text)).toEqual(['0', '10', '20']);
    expect(texts(chart.svg, 'unit').map((t) => t.text)).toEqual(['runs']);
    expect(count(chart.svg, /<rect class="bar"/g)).toBe(24);
    // Values on the columns (zero columns carry none).
    expect(texts(chart.svg, 'value').map((t) => t.text)).toEqual(
      hours.filter((h) => h.values[0] > 0).map((h) => String(h.values[0])),
    );
    // Labels: whole, inside the chart, never overlapping.
    const labels = texts(chart.svg, 'label');
    expect(labels.length).toBeGreaterThanOrEqual(4);
    for (const label of labels) expect(hours.map((h) => h.label)).toContain(label.text);
    const boxes = labels.map(extent);
    for (const [start, end] of boxes) expect([start >= 0, end <= 360]).toEqual([true, true]);
    for (let i = 1; i < boxes.length; i++) expect(boxes[i][0]).toBeGreaterThanOrEqual(boxes[i - 1][1]);
    // A day of backlog points at one a minute: thin columns, labels still apart and inside.
    const day = Array.from({ length: 1440 }, (_, i) => ({
      label: `${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`,
      values: [i % 50],
    }));
    const dense = charts.columnChart(day, { unit: 'unfinished files' });
    expect(count(dense.svg, /<rect class="bar"/g)).toBe(1440);
    expect(texts(dense.svg, 'value')).toEqual([]);
    const denseBoxes = texts(dense.svg, 'label').map(extent);
    for (let i = 1; i < denseBoxes.length; i++)
      expect(denseBoxes[i][0]).toBeGreaterThanOrEqual(denseBoxes[i - 1][1]);
    expect(charts.columnChart([]).svg).toMatch(/no data yet/);
  });

  it('bars for categories show whole labels and every value, inside the chart', () => {
    const stages = [
      ['captured → triggered', 1.2, 3.4],
      ['triggered → submitted', 5, 300],
      ['submitted → run started', null, null],
      ['captured → run finished', 70, 1234],
    ] as const;
    const chart = charts.barList(
      stages.map(([label, p50, p95]) => ({ label, values: [p50, p95] })),
      { series: ['p50', 'p95'], unit: 's' },
    );
    expect(texts(chart.svg, 'label').map((t) => t.text)).toEqual(stages.map(([label]) => label));
    expect(texts(chart.svg, 'legend').map((t) => t.text)).toEqual(['p50', 'p95']);
    expect(texts(chart.svg, 'value').map((t) => t.text)).toEqual([
      '1.2 s',
      '3.4 s',
      '5 s',
      '300 s',
      '–',
      '–',
      '70 s',
      '1.23k s',
    ]);
    expect(count(chart.svg, /<rect class="bar"/g)).toBe(8);
    // The scale: 0 and the largest value.
    expect(texts(chart.svg, 'tick').map((t) => t.text)).toEqual(['0', '1.23k s']);
    for (const t of [...texts(chart.svg, 'label'), ...texts(chart.svg, 'value')]) {
      const [start, end] = extent(t);
      expect({ text: t.text, inside: start >= 0 && end <= 360 + 6 }).toEqual({ text: t.text, inside: true });
    }
    // A long country keeps its name up to 26 characters; the whole name is its tooltip.
    const long = charts.barList([{ label: 'The Very Long Name of Some Country', values: [5] }]);
    expect(texts(long.svg, 'label')[0].text).toBe('The Very Long Name of Som…');
    expect(long.svg).toMatch(/<title>The Very Long Name of Some Country<\/title>/);
  });

  it('formats scale numbers and rounds the axis top up', () => {
    expect([0, 0.25, 2.5, 35, 1234, 5000, 25_000, 2_500_000].map(charts.fmt)).toEqual([
      '0',
      '0.25',
      '2.5',
      '35',
      '1.23k',
      '5k',
      '25k',
      '2.5M',
    ]);
    expect([0, 0.3, 4, 12, 43.2, 100].map(charts.niceMax)).toEqual([1, 0.5, 5, 20, 50, 100]);
  });

  it('plots cost against worst-case freshness: the cheapest setting per target, the recommendation and continuous', () => {
    const cost = statusCost(rows, RATES, LOCAL);
    const chart = charts.costCurveChart(asSent(cost));
    expect(count(chart.svg, /<path class="curve"/g)).toBe(1);
    expect(count(chart.svg, /<circle class="point"/g)).toBe(cost.frontier.length);
    expect(count(chart.svg, /<circle class="recommended"/g)).toBe(1);
    expect(count(chart.svg, /<rect class="continuous"/g)).toBe(1);
    expect(texts(chart.svg, 'unit').map((t) => t.text)).toEqual([
      'cost / day',
      'worst-case freshness (minutes, log scale)',
    ]);
    // Minutes from 1 (continuous: 100 s) past the slowest setting; cost from 0 to 50 (continuous: 43.20).
    const ticks = texts(chart.svg, 'tick').map((t) => t.text);
    expect(ticks.slice(0, 3)).toEqual(['0', '25', '50']);
    expect(ticks.slice(3, 6)).toEqual(['1', '2', '5']);
    expect(charts.costCurveChart(undefined).svg).toMatch(/no figures yet/);
  });

  it('the "which mode" table: the setting in use, the recommended one and continuous, per day', () => {
    const cost = statusCost(rows, RATES, LOCAL);
    const html = charts.costTable(asSent(cost));
    // 6,000 records over 9 minutes: 11.1 events/s; production's defaults, not the local 10 s window.
    expect(html).toMatch(
      /<th>11 events\/s, per day<\/th><th>production default setting<\/th><th>recommended ≤ 15 min<\/th><th>continuous<\/th>/,
    );
    expect(html).toContain('<td>60 s · 100 MB · 300 s</td>');
    const r = cost.advice.recommended!;
    expect(html).toContain(
      `Recommended for a worst-case freshness within 15 min at the observed rate: Capture window ${r.setting.captureWindowSeconds} s, ` +
        `Capture size limit 100 MB, BATCH_WAIT_SECONDS ${r.setting.batchWaitSeconds} (${r.estimate.costPerDay.toFixed(2)} a day; continuous 43.20).`,
    );
    expect(html).toContain('<td>cost</td>');
    // A target no setting reaches.
    const tight = charts.costTable(asSent(statusCost(rows, { ...RATES, freshnessTargetSeconds: 60 }, LOCAL)));
    expect(tight).toMatch(/No allowed setting reaches 60 s; the best is 30\d s \(60 s · 100 MB · 0 s\)\./);
    expect(tight).not.toMatch(/recommended ≤/);
    // An older status (the comparison alone) and none at all.
    const older = compareModes(
      { ...LOCAL, eventsPerSecond: 1, captureWindowSeconds: 60, batchWaitSeconds: 300 },
      RATES,
      {
        fixedSeconds: 60,
        secondsPerMillionEvents: 30,
        source: 'default',
      },
    );
    expect(charts.costTable(JSON.parse(JSON.stringify(older)))).toMatch(
      /this setting<\/th>[\s\S]*cheaper: event-driven\./,
    );
    expect(charts.costTable(undefined)).toBe('<tr><td>no figures yet</td></tr>');
    // Infinity arrives as null (JSON): a dash, not a TypeError that stops the page's refresh.
    const infinite = JSON.parse(
      JSON.stringify({ ...older, eventDriven: { ...older.eventDriven, runsPerDay: Infinity } }),
    );
    expect(infinite.eventDriven.runsPerDay).toBeNull();
    expect(charts.costTable(infinite)).toMatch(/<td>runs<\/td><td>–<\/td>/);
  });

  it('the page embeds these functions, and its policy allows exactly its script', () => {
    const script = /<script>([\s\S]*)<\/script>/.exec(DASHBOARD_HTML)![1];
    expect(script).toContain(CHARTS);
    const hash = createHash('sha256').update(script, 'utf8').digest('base64');
    expect(DASHBOARD_HEADERS['content-security-policy']).toContain(`script-src 'sha256-${hash}'`);
    for (const id of ['files', 'runs', 'latency', 'byDay', 'byCountry', 'backlogChart', 'costCurve'])
      expect(DASHBOARD_HTML).toContain(`<svg id="${id}" data-chart`);
  });
});
