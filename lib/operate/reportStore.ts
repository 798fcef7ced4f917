import { RestError, TableClient } from '@azure/data-tables';
import type { BacklogReport } from './backlog';
import { errorMessage } from '../errorMessage';

/** One point of the backlog over time: unfinished files and bytes when a report ran. */
export interface BacklogPoint {
  at: string;
  files: number;
  bytes: number;
}

/** The backlog timer's latest report and the day of points before it, as the status API reads them. */
export interface StoredReport {
  report: BacklogReport;
  history: BacklogPoint[];
}

/**
 * Where the backlog timer keeps its latest report: in Azure the timer and the status API run in
 * different invocations (and instances), so the report cannot live in memory.
 */
export interface ReportStore {
  write(report: BacklogReport): Promise<void>;
  read(): Promise<StoredReport | null>;
}

const DAY_MS = 86_400_000;
/** A day of reports at the shortest interval (one a minute). */
const MAX_POINTS = 1440;
/** Re-triggered paths kept in the stored report; `lostEvents.found` keeps the count. */
const MAX_RETRIGGERED = 100;
/** Table Storage strings are at most 64 KiB of UTF-16: 32K characters, less a margin. */
const CHUNK_CHARS = 30_000;

/** The stored report: the day's points up to and including this one, and a bounded path list. */
export function nextStoredReport(previous: StoredReport | null, report: BacklogReport): StoredReport {
  const at = Date.parse(report.at);
  const history = (previous?.history ?? []).filter((p) => {
    const t = Date.parse(p.at);
    return t > at - DAY_MS && t < at;
  });
  history.push({ at: report.at, files: report.unfinished.files, bytes: report.unfinished.bytes });
  return {
    report: {
      ...report,
      lostEvents: {
        ...report.lostEvents,
        retriggered: report.lostEvents.retriggered.slice(0, MAX_RETRIGGERED),
      },
    },
    history: history.slice(-MAX_POINTS),
  };
}

/**
 * One row of the ledger's state table, the JSON split over as many string properties as it needs
 * (an entity holds up to 1 MiB; a day of points at one a minute is about 60 KB).
 */
export class TableReportStore implements ReportStore {
  private ready?: Promise<unknown>;

  constructor(private readonly table: TableClient) {}

  async write(report: BacklogReport): Promise<void> {
    const json = JSON.stringify(nextStoredReport(await this.read(), report));
    const chunks: Record<string, string> = {};
    for (let i = 0; i * CHUNK_CHARS < json.length; i++)
      chunks[`json${i}`] = json.slice(i * CHUNK_CHARS, (i + 1) * CHUNK_CHARS);
    // Replace, not merge: a shorter report must not keep the tail chunks of a longer one.
    await this.table.upsertEntity(
      { partitionKey: 'backlog', rowKey: 'report', chunks: Object.keys(chunks).length, ...chunks },
      'Replace',
    );
  }

  async read(): Promise<StoredReport | null> {
    await (this.ready ??= this.table.createTable());
    let row: Record<string, unknown>;
    try {
      row = await this.table.getEntity<Record<string, unknown>>('backlog', 'report');
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return null;
      throw error;
    }
    const count = typeof row.chunks === 'number' ? row.chunks : 0;
    let json = '';
    for (let i = 0; i < count; i++) json += String(row[`json${i}`] ?? '');
    try {
      return JSON.parse(json) as StoredReport;
    } catch (error) {
      throw new Error(
        `the backlog report in table ${this.table.tableName} is not valid JSON: ${errorMessage(error)}`,
      );
    }
  }
}

/** The status API's view of a stored report: the report, how old it is, and the day's points. */
export function reportView(
  stored: StoredReport | null,
  now: number,
): { backlog: BacklogReport | null; backlogAgeSeconds: number | null; backlogHistory: BacklogPoint[] } {
  if (!stored) return { backlog: null, backlogAgeSeconds: null, backlogHistory: [] };
  return {
    backlog: stored.report,
    backlogAgeSeconds: Math.max(0, Math.round((now - Date.parse(stored.report.at)) / 1000)),
    backlogHistory: stored.history,
  };
}

/** Logs the report as the one JSON line the alerts query, then keeps it for the status API. */
export async function publishReport(
  report: BacklogReport,
  log: (entry: Record<string, unknown>) => void,
  reports: ReportStore,
): Promise<void> {
  log({ event: 'backlog', ...report });
  await reports.write(report);
}
