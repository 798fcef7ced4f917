import { BacklogReport } from '../../lib/operate/backlog';
import { StoredReport, TableReportStore, nextStoredReport, reportView } from '../../lib/operate/reportStore';
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

  it('drops points from a clock that went back, so the history stays in order', () => {
    const first = nextStoredReport(null, report(T, 1));
    const back = nextStoredReport(first, report(T - MINUTE, 2));
    expect(back.history.map((p) => p.files)).toEqual([2]);
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

    it('names the table when the stored row is not JSON', async () => {
      const client = table('reportsCorrupt');
      await client.createTable();
      await client.upsertEntity({
        partitionKey: 'backlog',
        rowKey: 'report',
        chunks: 1,
        json0: '{"report":',
      });
      await expect(new TableReportStore(client).read()).rejects.toThrow(
        /backlog report in table reportsCorrupt is not valid JSON/,
      );
    });
  });
});
