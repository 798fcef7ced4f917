import { BacklogReport } from '../../lib/operate/backlog';
import {
  StoredReport,
  TableReportStore,
  UnreadableReportError,
  chunksOf,
  nextStoredReport,
  reportView,
} from '../../lib/operate/reportStore';
import { storageTableClient } from '../../lib/ledger/ledger';
import { useAzurite } from '../support/azurite';

const T = Date.UTC(2026, 11, 2, 12);
const MINUTE = 60_000;

function report(at: number, files: number, retriggered: string[] = []): BacklogReport {
  return {
    at: new Date(at).toISOString(),
    unfinished: { files, bytes: files * 1000, oldestAgeSeconds: files ? 60 : null },
    lostEvents: { found: retriggered.length, retriggered },
    runs: { active: 0, queued: 0 },
    deadLettered: { files: 0, newest: [] },
    freshnessSeconds: 120,
    pipeline: null,
    watchdog: null,
    alerts: [],
    watermark: null,
    listedHours: 4,
    seconds: 0.1,
  };
}

describe('the stored backlog report', () => {
  it('keeps the points of the last day before the new report, and a bounded list of re-triggered paths', () => {
    let stored: StoredReport | null = null;
    for (let i = 0; i <= 1500; i++) stored = nextStoredReport(stored, report(T + i * MINUTE, i % 7));
    expect(stored!.history).toHaveLength(1440);
    expect(stored!.history.at(-1)).toEqual({
      at: new Date(T + 1500 * MINUTE).toISOString(),
      files: 2,
      bytes: 2000,
    });
    expect(Date.parse(stored!.history[0].at)).toBeGreaterThan(T + 1500 * MINUTE - 86_400_000);

    const lost = Array.from({ length: 250 }, (_, i) => `ns/hub/0/2026/12/02/11/${i}.avro`);
    const next = nextStoredReport(stored, report(T + 1501 * MINUTE, 3, lost));
    expect(next.report.lostEvents).toEqual({ found: 250, retriggered: lost.slice(0, 100) });
  });

  it('keeps the day’s points in time order when a writer’s clock is behind', () => {
    const first = nextStoredReport(null, report(T, 1));
    const behind = nextStoredReport(first, report(T - MINUTE, 2));
    expect(behind.history.map((p) => p.files)).toEqual([2, 1]);
    const again = nextStoredReport(behind, report(T, 3));
    expect(again.history.map((p) => p.files)).toEqual([2, 3]);
  });

  it('bounds the texts a report carries: errors and alerts of any length fit in one entity', () => {
    const long = 'e'.repeat(32_000);
    const big = {
      ...report(T, 20),
      deadLettered: {
        files: 20,
        newest: Array.from({ length: 20 }, (_, i) => ({ path: `p${i}`, error: long })),
      },
      alerts: [long, long],
    };
    const stored = nextStoredReport(null, big);
    expect(stored.report.deadLettered.newest.every((d) => d.error.length === 2001)).toBe(true);
    expect(stored.report.alerts.map((a) => a.length)).toEqual([2001, 2001]);
    expect(JSON.stringify(stored).length).toBeLessThan(60_000);
  });

  it('never splits a surrogate pair between two chunks', () => {
    const text = 'x' + '😀'.repeat(20);
    for (const size of [2, 3, 7]) {
      const chunks = chunksOf(text, size);
      expect(chunks.join('')).toBe(text);
      for (const chunk of chunks) expect(/[\ud800-\udbff]$|^[\udc00-\udfff]/.test(chunk)).toBe(false);
    }
  });

  it('gives the status its age in seconds, never negative', () => {
    const stored = nextStoredReport(null, report(T, 1));
    expect(reportView(stored, T + 90_500).backlogAgeSeconds).toBe(91);
    expect(reportView(stored, T - 5_000).backlogAgeSeconds).toBe(0);
    expect(reportView(null, T)).toEqual({ backlog: null, backlogAgeSeconds: null, backlogHistory: [] });
  });

  describe('in Table Storage (Azurite)', () => {
    const azurite = useAzurite();
    const table = (name: string) =>
      storageTableClient({ connectionString: azurite().connectionString }, name);

    it('reads nothing before the first report, then what was written, across chunks', async () => {
      const store = new TableReportStore(table('reportsChunks'));
      expect(await store.read()).toBeNull();
      // 600 points are about 35,000 characters of JSON: more than one 64 KiB (UTF-16) string property holds.
      for (let i = 0; i < 600; i++) await store.write(report(T + i * MINUTE, i));
      const stored = await store.read();
      expect(stored!.history).toHaveLength(600);
      expect(stored!.report.at).toBe(new Date(T + 599 * MINUTE).toISOString());
      const row = await table('reportsChunks').getEntity<Record<string, unknown>>('backlog', 'report');
      expect(row.chunks).toBeGreaterThan(1);
    }, 120_000);

    it('two writers at once lose no point: the one that read an older row reads again', async () => {
      const [one, two] = [
        new TableReportStore(table('reportsRace')),
        new TableReportStore(table('reportsRace')),
      ];
      for (let i = 0; i < 8; i++)
        await Promise.all([
          one.write(report(T + i * 2 * MINUTE, i)),
          two.write(report(T + (i * 2 + 1) * MINUTE, i)),
        ]);
      const points = (await one.read())!.history.map((p) => Date.parse(p.at));
      expect(points).toEqual(Array.from({ length: 16 }, (_, i) => T + i * MINUTE));
    });

    it('a shorter report does not keep the tail of a longer one', async () => {
      const store = new TableReportStore(table('reportsShorter'));
      const lost = Array.from({ length: 100 }, (_, i) => `${'x'.repeat(500)}${i}`);
      await store.write(report(T, 1, lost));
      const long = await table('reportsShorter').getEntity<Record<string, unknown>>('backlog', 'report');
      expect(long.chunks).toBeGreaterThan(1);
      await store.write(report(T + MINUTE, 2));
      const row = await table('reportsShorter').getEntity<Record<string, unknown>>('backlog', 'report');
      expect(row.chunks).toBe(1);
      expect(row.json1).toBeUndefined();
      expect((await store.read())!.history.map((p) => p.files)).toEqual([1, 2]);
    });

    it('names the table when the stored row cannot be read, and the next report replaces it', async () => {
      const client = table('reportsCorrupt');
      await client.createTable();
      const store = new TableReportStore(client);
      for (const [json0, detail] of [
        ['{"report":', /backlog report in table reportsCorrupt is not valid JSON/],
        [
          '{"report":{"at":"x"},"history":{}}',
          /backlog report in table reportsCorrupt is not a stored report/,
        ],
      ] as const) {
        await client.upsertEntity({ partitionKey: 'backlog', rowKey: 'report', chunks: 1, json0 }, 'Replace');
        await expect(store.read()).rejects.toThrow(UnreadableReportError);
        await expect(store.read()).rejects.toThrow(detail);
        await store.write(report(T, 4));
        expect((await store.read())!.history.map((p) => p.files)).toEqual([4]);
      }
    });
  });
});
