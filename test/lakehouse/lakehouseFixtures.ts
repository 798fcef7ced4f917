import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeCaptureFile } from '../../lib/capture/captureFileWriter';
import { CapturePathFormat } from '../../lib/capture/capturePath';
import { formatEnqueuedTimeUtc } from '../../lib/capture/enqueuedTime';
import { CdcEvent, OrderLine } from '../../lib/cdc/event';
import { BatchFile, LocalLakehouse } from '../../lib/lakehouse/localLakehouse';
import { DirectoryCaptureStore } from '../../lib/storage/captureStore';

export type Body = CdcEvent | string | Buffer | null;

/**
 * Columns that say when a row was written and by which batch, not what it holds: two runs of the
 * same files (split, restarted, faulted) differ only there.
 */
export const RUN_COLUMNS: ReadonlySet<string> = new Set([
  'batch_id',
  'ingested_at',
  'added_at',
  'quarantined_at',
  'measured_at',
  '_updated_at',
  'loaded_at',
]);

/** A row without its run columns. */
export function withoutRunColumns(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).filter(([column]) => !RUN_COLUMNS.has(column)));
}

/** Writes Capture files into a temporary folder, named like Capture's, one per call. */
export class CaptureFolder {
  readonly store = new DirectoryCaptureStore(fs.mkdtempSync(path.join(os.tmpdir(), 'lakehouse-')));
  private second = 0;

  async write(bodies: Body[], partitionId = '0'): Promise<BatchFile> {
    const windowStart = new Date(Date.UTC(2026, 10, 24, 9, 0, this.second++));
    const filePath = new CapturePathFormat().build({
      namespace: 'ordersns',
      eventHub: 'orders',
      partitionId,
      windowStart,
    });
    const file = await captureBytes(bodies, windowStart);
    const target = path.join(this.store.root, filePath);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, file);
    return { store: this.store, path: filePath };
  }
}

/** A Capture file of these bodies (deflate, small blocks), its records enqueued at windowStart. */
export function captureBytes(
  bodies: Body[],
  windowStart = new Date(Date.UTC(2026, 10, 24, 9)),
): Promise<Buffer> {
  return encodeCaptureFile(
    bodies.map((body, i) => ({
      SequenceNumber: i,
      Offset: String(i * 100),
      EnqueuedTimeUtc: formatEnqueuedTimeUtc(windowStart),
      SystemProperties: {},
      Properties: {},
      Body:
        body === null
          ? null
          : Buffer.isBuffer(body)
            ? body
            : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    })),
    { codec: 'deflate', recordsPerBlock: 7 },
  );
}

export const line = (overrides: Partial<OrderLine> = {}): OrderLine => ({
  TransactionNo: '581482',
  Date: '2019-12-09',
  ProductNo: '22485',
  ProductName: 'Set Of 2 Wooden Market Crates',
  Price: 21.47,
  Quantity: 12,
  CustomerNo: '17490',
  Country: 'United Kingdom',
  ...overrides,
});

export function change(op: CdcEvent['op'], lsn: number, image: OrderLine): CdcEvent {
  return {
    op,
    ts_ms: 1_700_000_000_000 + lsn,
    source: { db: 'shop', table: 'order_lines', lsn },
    before: op === 'd' ? image : null,
    after: op === 'd' ? null : image,
  };
}

export async function table(
  lakehouse: LocalLakehouse,
  name: string,
  orderBy = 'ALL',
): Promise<Record<string, unknown>[]> {
  return lakehouse.rows(`SELECT * FROM ${name} ORDER BY ${orderBy}`);
}

/** Silver without its commit times, which differ run to run. */
export async function silver(lakehouse: LocalLakehouse): Promise<Record<string, unknown>[]> {
  return (await table(lakehouse, 'silver_order_lines')).map(({ _updated_at: _, ...row }) => row);
}
