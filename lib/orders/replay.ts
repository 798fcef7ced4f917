import { CdcEvent } from '../cdc/event';
import { ChangeMix, ChangeStreamCounts, changeStream, emptyChangeStreamCounts } from './changeStream';
import { FoldCounts, emptyFoldCounts, foldOrderLines } from './foldOrderLines';
import { readOrderCsvTransactions } from './orderCsv';
import { KAGGLE_ROWS, syntheticOrderTransactions } from './syntheticOrders';

export type OrderSource = { kind: 'synthetic'; seed: number; rows?: number } | { kind: 'csv'; path: string };

export interface ReplayOptions {
  source: OrderSource;
  events: number;
  /** Events per second; Infinity for as fast as possible. */
  rate: number;
  seed: number;
  mix?: Partial<ChangeMix>;
  firstLsn?: number;
  signal?: AbortSignal;
  onProgress?: (progress: { events: number; files: number }) => void;
  /** Close (flush) the hub at the end; default true. */
  closeWhenDone?: boolean;
}

export interface ReplaySummary {
  events: number;
  files: number;
  emptyFiles: number;
  fileBytes: number;
  bodyBytes: number;
  seconds: number;
  eventsPerSecond: number;
  changes: ChangeStreamCounts;
  lines: FoldCounts;
  /** True when stopped early by the signal; everything published was still flushed. */
  interrupted: boolean;
}

const BATCH = 500;

/** Where a replay publishes: the local Capture emulator, whose file counts the summary reports. */
export interface ReplayHub {
  publish(events: { body: Buffer | string; partitionKey?: string }[]): Promise<unknown>;
  close(): Promise<void>;
  readonly stats: { files: number; emptyFiles: number; fileBytes: number; bodyBytes: number };
}

/**
 * Replays orders as CDC events through an emulated event hub, then flushes its Capture files (or,
 * with closeWhenDone false, leaves the hub open for more: its timer closes the windows on time).
 */
export async function replayOrders(emulator: ReplayHub, options: ReplayOptions): Promise<ReplaySummary> {
  const lines = emptyFoldCounts();
  const changes = emptyChangeStreamCounts();
  const transactions =
    options.source.kind === 'csv'
      ? await readOrderCsvTransactions(options.source.path)
      : syntheticOrderTransactions({
          seed: options.source.seed,
          // Enough rows for the inserts the mix asks for, at least the Kaggle file's size.
          rows: options.source.rows ?? Math.max(KAGGLE_ROWS, Math.ceil(options.events * 1.2)),
        });
  const stream = changeStream(
    foldOrderLines(transactions, lines),
    {
      seed: options.seed,
      events: options.events,
      mix: options.mix,
      firstLsn: options.firstLsn,
      startTimeMs: Date.now(),
    },
    changes,
  );

  const started = performance.now();
  const batchSize = Number.isFinite(options.rate)
    ? Math.max(1, Math.min(BATCH, Math.floor(options.rate / 20)))
    : BATCH;
  let sent = 0;
  let interrupted = false;
  let batch: CdcEvent[] = [];
  const flush = async (): Promise<void> => {
    await emulator.publish(
      batch.map((event) => ({ body: JSON.stringify(event), partitionKey: keyOf(event) })),
    );
    sent += batch.length;
    batch = [];
    options.onProgress?.({ events: sent, files: emulator.stats.files });
    if (Number.isFinite(options.rate)) {
      const due = started + (sent / options.rate) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  };
  try {
    for (const event of stream) {
      if (options.signal?.aborted) {
        interrupted = true;
        break;
      }
      batch.push(event);
      if (batch.length >= batchSize) await flush();
    }
    if (batch.length > 0) await flush();
  } finally {
    if (options.closeWhenDone ?? true) await emulator.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    events: sent,
    files: emulator.stats.files,
    emptyFiles: emulator.stats.emptyFiles,
    fileBytes: emulator.stats.fileBytes,
    bodyBytes: emulator.stats.bodyBytes,
    seconds,
    eventsPerSecond: sent / seconds,
    changes,
    lines,
    interrupted,
  };
}

/** Partition key on Event Hubs: the TransactionNo of the changed line. */
export function keyOf(event: CdcEvent): string {
  return (event.after ?? event.before)!.TransactionNo;
}
