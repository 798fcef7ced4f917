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
/**
 * An entity holds at most 1 MiB (strings count two bytes a character) and 255 properties: 15 chunks
 * of 30K characters are 900,000 bytes.
 */
const MAX_CHUNKS = 15;
/** Error and alert texts kept in the stored report (a Spark error can run to 32K characters). */
const MAX_TEXT = 2_000;

function cut(text: string): string;
function cut(text: string | null): string | null;
function cut(text: string | null): string | null {
  return text !== null && text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
}

/**
 * The stored report: the points of the day before the newest, in time order whatever order the
 * writers' clocks put them in, and a report whose lists and texts are bounded.
 */
export function nextStoredReport(previous: StoredReport | null, report: BacklogReport): StoredReport {
  const byTime = new Map((previous?.history ?? []).map((p) => [p.at, p]));
  byTime.set(report.at, { at: report.at, files: report.unfinished.files, bytes: report.unfinished.bytes });
  const points = [...byTime.values()].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const newest = Date.parse(points[points.length - 1].at);
  return {
    report: {
      ...report,
      lostEvents: {
        ...report.lostEvents,
        retriggered: report.lostEvents.retriggered.slice(0, MAX_RETRIGGERED),
      },
      deadLettered: {
        ...report.deadLettered,
        newest: report.deadLettered.newest.map((d) => ({ path: d.path, error: cut(d.error) })),
      },
      alerts: report.alerts.map((a) => cut(a)),
      pipeline: report.pipeline && {
        ...report.pipeline,
        pauseReason: cut(report.pipeline.pauseReason),
        lastPlatformError: cut(report.pipeline.lastPlatformError),
      },
    },
    history: points.filter((p) => Date.parse(p.at) > newest - DAY_MS).slice(-MAX_POINTS),
  };
}

/** Splits text into pieces of at most `size` characters, never between the halves of a surrogate pair. */
export function chunksOf(text: string, size: number): string[] {
  const chunks: string[] = [];
  for (let start = 0; start < text.length;) {
    let end = Math.min(text.length, start + size);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    chunks.push(text.slice(start, end));
    start = end;
  }
  return chunks;
}

/** A stored row as read back: checked, since a hand edit or another version may have written it. */
function isStoredReport(value: unknown): value is StoredReport {
  const stored = value as { report?: { at?: unknown }; history?: unknown } | null;
  return (
    typeof stored === 'object' &&
    stored !== null &&
    typeof stored.report === 'object' &&
    stored.report !== null &&
    typeof stored.report.at === 'string' &&
    Array.isArray(stored.history)
  );
}

/** The stored row is there but is not a report this version can read. */
export class UnreadableReportError extends Error {
  constructor(
    readonly table: string,
    detail: string,
  ) {
    super(`the backlog report in table ${table} is ${detail}`);
    this.name = 'UnreadableReportError';
  }
}

/** One row of the ledger's state table, the JSON split over as many string properties as it needs. */
export class TableReportStore implements ReportStore {
  private ready?: Promise<unknown>;

  constructor(private readonly table: TableClient) {}

  /**
   * Keeps the report with the day's points before it. Read, then write on the row's ETag: a writer
   * that came in between (a second timer, a manual run) makes this one read again, so no point is
   * lost. A row that cannot be read is replaced: it would otherwise fail every later run.
   */
  async write(report: BacklogReport): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const row = await this.row();
      let previous: StoredReport | null = null;
      if (row) {
        try {
          previous = this.parse(row);
        } catch (error) {
          if (!(error instanceof UnreadableReportError)) throw error;
        }
      }
      const entity = {
        partitionKey: 'backlog',
        rowKey: 'report',
        ...chunkedJson(nextStoredReport(previous, report)),
      };
      try {
        // Replace, not merge: a shorter report must not keep the tail chunks of a longer one.
        if (row) await this.table.updateEntity(entity, 'Replace', { etag: String(row.etag) });
        else await this.table.createEntity(entity);
        return;
      } catch (error) {
        const raced = error instanceof RestError && (error.statusCode === 412 || error.statusCode === 409);
        if (!raced || attempt >= MAX_WRITE_ATTEMPTS) throw error;
      }
    }
  }

  async read(): Promise<StoredReport | null> {
    const row = await this.row();
    return row ? this.parse(row) : null;
  }

  private async row(): Promise<Record<string, unknown> | null> {
    // A failed create is tried again on the next read, not cached.
    await (this.ready ??= this.table.createTable().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    }));
    try {
      return await this.table.getEntity<Record<string, unknown>>('backlog', 'report');
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return null;
      throw error;
    }
  }

  private parse(row: Record<string, unknown>): StoredReport {
    const count = typeof row.chunks === 'number' ? row.chunks : 0;
    let json = '';
    for (let i = 0; i < count; i++) json += String(row[`json${i}`] ?? '');
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch (error) {
      throw new UnreadableReportError(this.table.tableName, `not valid JSON: ${errorMessage(error)}`);
    }
    if (!isStoredReport(parsed)) throw new UnreadableReportError(this.table.tableName, 'not a stored report');
    return parsed;
  }
}

/** Writers racing for the row: each loss costs a read and a write, and the timer runs every few minutes. */
const MAX_WRITE_ATTEMPTS = 5;

/** The stored report as entity properties: JSON in chunks, the oldest points given up until it fits. */
function chunkedJson(stored: StoredReport): Record<string, string | number> {
  let json = JSON.stringify(stored);
  // The report's texts are bounded; what is left to give is the oldest points.
  while (json.length > MAX_CHUNKS * CHUNK_CHARS && stored.history.length > 1) {
    stored.history.splice(0, Math.ceil(stored.history.length / 4));
    json = JSON.stringify(stored);
  }
  const chunks = chunksOf(json, CHUNK_CHARS);
  return { chunks: chunks.length, ...Object.fromEntries(chunks.map((chunk, i) => [`json${i}`, chunk])) };
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
