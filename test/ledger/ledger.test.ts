import { TableClient } from '@azure/data-tables';
import { CapturePathFormat } from '../../lib/capture/capturePath';
import { createHash } from 'node:crypto';
import {
  LedgerFile,
  TableLedger,
  UNPARSED_HOUR,
  ledgerKeys,
  migrateLedgerKeys,
} from '../../lib/ledger/ledger';
import { useAzurite } from '../support/azurite';
import { ledgerRows } from '../support/pipelineFixtures';

const FORMAT = new CapturePathFormat();
let tables = 0;

const row = (hour: number, second: number): LedgerFile => ({
  path: FORMAT.build({
    namespace: 'ordersns',
    eventHub: 'orders',
    partitionId: '0',
    windowStart: new Date(Date.UTC(2026, 10, 24, hour, 0, second)),
  }),
  url: 'http://127.0.0.1:10000/devstoreaccount1/capture/x.avro',
  state: 'pending',
  bytes: 1000,
  records: 10,
  capturedAt: '2026-11-24T09:00:00.000Z',
  triggeredAt: '2026-11-24T09:00:01.000Z',
  attempts: 0,
});

async function openRows(ledger: TableLedger): Promise<LedgerFile[]> {
  const rows: LedgerFile[] = [];
  for await (const r of ledger.listOpen()) rows.push(r);
  return rows;
}

describe('ledger on Table Storage (Azurite)', () => {
  const azurite = useAzurite();
  let ledger: TableLedger;
  let table: string;

  beforeEach(async () => {
    table = `ledgertest${tables++}`;
    ledger = await TableLedger.open({ connectionString: azurite().connectionString }, table, FORMAT);
  });

  it('keys rows by path hour and a fixed-length hash of the path, which holds no "/"', () => {
    const keys = ledgerKeys('ordersns/orders/3/2026/11/24/09/16/48.avro', FORMAT);
    expect(keys).toEqual({
      partitionKey: '2026112409',
      rowKey: createHash('sha256').update('ordersns/orders/3/2026/11/24/09/16/48.avro').digest('base64url'),
    });
    expect(ledgerKeys(`x/${'y'.repeat(2000)}.avro`, FORMAT).rowKey).toHaveLength(43);
    expect(keys.rowKey).not.toMatch(/[/\\#?]/);
    expect(ledgerKeys('somewhere/else.avro', FORMAT).partitionKey).toBe(UNPARSED_HOUR);
  });

  it('inserts create-only: a second insert of the same path is "exists" and changes nothing', async () => {
    expect(await ledger.insert(row(9, 1))).toBe('inserted');
    expect(await ledger.insert({ ...row(9, 1), bytes: 5 })).toBe('exists');
    expect(await ledger.get(row(9, 1).path)).toEqual(row(9, 1));
    expect(await ledger.get(row(9, 2).path)).toBeUndefined();
  });

  it('updates hundreds of rows across hours in transactions; final states leave the open set', async () => {
    const rows = [
      ...Array.from({ length: 130 }, (_, i) => row(9, i)),
      ...Array.from({ length: 20 }, (_, i) => row(10, i)),
    ];
    for (const r of rows) await ledger.insert(r);
    await ledger.update(
      rows.map((r) => ({ path: r.path, patch: { state: 'batched', batchId: 'b1', batchAttempt: 1 } })),
    );
    expect((await openRows(ledger)).every((r) => r.state === 'batched' && r.batchId === 'b1')).toBe(true);
    await ledger.update(
      rows.map((r, i) => ({
        path: r.path,
        patch: { state: i === 0 ? 'deadLettered' : 'succeeded', error: i === 0 ? 'bad' : '' },
      })),
    );
    expect(await openRows(ledger)).toEqual([]);
    const all = await ledgerRows(ledger);
    expect(all).toHaveLength(150);
    expect(all.filter((r) => r.state === 'succeeded')).toHaveLength(149);
    expect(await ledger.get(rows[0].path)).toMatchObject({
      state: 'deadLettered',
      error: 'bad',
      batchId: 'b1',
    });
  });

  it('restores a missing open copy of an unfinished row, and requeues a finished one', async () => {
    const r = row(9, 5);
    await ledger.insert(r);
    // A crash between the two writes: the open copy is missing.
    const open = TableClient.fromConnectionString(azurite().connectionString, `${table}Open`, {
      allowInsecureConnection: true,
    });
    const keys = ledgerKeys(r.path, FORMAT);
    await open.deleteEntity(keys.partitionKey, keys.rowKey);
    expect(await openRows(ledger)).toEqual([]);
    expect(await ledger.insert(r)).toBe('exists');
    expect(await openRows(ledger)).toEqual([r]);

    await ledger.update([
      { path: r.path, patch: { state: 'succeeded', batchId: 'b9', attempts: 2, runId: '77' } },
    ]);
    await ledger.requeue((await ledger.get(r.path))!);
    const requeued = await ledger.get(r.path);
    expect(requeued).toEqual({ ...r, attempts: 2 });
    expect(await openRows(ledger)).toEqual([{ ...r, attempts: 2 }]);
  });

  it('indexes a file dead-lettered by an update (poison isolation) where the backlog report reads it', async () => {
    const r = row(9, 7);
    await ledger.insert(r);
    await ledger.update([
      { path: r.path, patch: { state: 'deadLettered', error: 'Task silver failed', runId: '5' } },
    ]);
    const dead: LedgerFile[] = [];
    for await (const d of ledger.listDeadLettered()) dead.push(d);
    expect(dead).toEqual([{ ...r, state: 'deadLettered', error: 'Task silver failed', runId: '5' }]);
    expect(await openRows(ledger)).toEqual([]);
  });

  it('keeps a file in the open set when a final update is cut off after the history write', async () => {
    const r = row(9, 8);
    await ledger.insert(r);
    const open = (ledger as unknown as { open: TableClient }).open;
    const cut = jest.spyOn(open, 'submitTransaction').mockRejectedValueOnce(new Error('process died'));
    await expect(ledger.update([{ path: r.path, patch: { state: 'succeeded' } }])).rejects.toThrow();
    cut.mockRestore();
    // Never in no set: the history says succeeded, and the open copy is still there to finish it again.
    expect((await ledger.get(r.path))?.state).toBe('succeeded');
    expect((await openRows(ledger)).map((o) => o.path)).toEqual([r.path]);
    await ledger.update([{ path: r.path, patch: { state: 'succeeded' } }]);
    expect(await openRows(ledger)).toEqual([]);

    // Cut off at the history write itself: nothing changed, the file is still open.
    const next = row(9, 10);
    await ledger.insert(next);
    const files = (ledger as unknown as { files: TableClient }).files;
    const failing = jest.spyOn(files, 'submitTransaction').mockRejectedValueOnce(new Error('process died'));
    await expect(ledger.update([{ path: next.path, patch: { state: 'succeeded' } }])).rejects.toThrow();
    failing.mockRestore();
    expect((await openRows(ledger)).map((o) => o.path)).toEqual([next.path]);
  });

  it('restores a missing open copy without overwriting a newer one or reopening a finished file', async () => {
    const r = row(9, 9);
    await ledger.insert(r);
    await ledger.update([{ path: r.path, patch: { state: 'batched', batchId: 'b1' } }]);
    // A redelivered event restores nothing when the open copy is there: it is not replaced.
    await ledger.restoreOpen(r.path);
    expect(await openRows(ledger)).toEqual([{ ...r, state: 'batched', batchId: 'b1' }]);
    await ledger.update([{ path: r.path, patch: { state: 'succeeded' } }]);
    await ledger.restoreOpen(r.path);
    expect(await openRows(ledger)).toEqual([]);
  });

  it('records a file whose blob name is far longer than a Table Storage key may be', async () => {
    const long = { ...row(9, 11), path: `${row(9, 11).path.slice(0, -5)}/${'n'.repeat(1000)}.avro` };
    expect(await ledger.insert(long)).toBe('inserted');
    expect(await ledger.get(long.path)).toEqual(long);
    await ledger.update([{ path: long.path, patch: { state: 'deadLettered', error: 'x' } }]);
    const dead: LedgerFile[] = [];
    for await (const d of ledger.listDeadLettered()) dead.push(d);
    expect(dead.map((d) => d.path)).toEqual([long.path]);
  });

  it('moves the rows of a ledger keyed the earlier way (base64url of the path) to hashed keys', async () => {
    const legacy = (path: string) => Buffer.from(path, 'utf8').toString('base64url');
    const old = [row(8, 1), { ...row(8, 2), state: 'deadLettered' as const, error: 'bad' }];
    const client = (suffix: string) =>
      TableClient.fromConnectionString(azurite().connectionString, `${table}${suffix}`, {
        allowInsecureConnection: true,
      });
    await client('').createEntity({ partitionKey: '2026112408', rowKey: legacy(old[0].path), ...old[0] });
    await client('Open').createEntity({ partitionKey: '2026112408', rowKey: legacy(old[0].path), ...old[0] });
    await client('').createEntity({ partitionKey: '2026112408', rowKey: legacy(old[1].path), ...old[1] });
    await client('DeadLetters').createEntity({
      partitionKey: '2026112408',
      rowKey: legacy(old[1].path),
      ...old[1],
    });
    await ledger.insert(row(9, 1));
    expect(await ledger.get(old[0].path)).toBeUndefined();

    expect(await migrateLedgerKeys({ connectionString: azurite().connectionString }, table, FORMAT)).toBe(4);
    expect(await ledger.get(old[0].path)).toEqual(old[0]);
    expect(await ledger.get(old[1].path)).toEqual(old[1]);
    expect((await openRows(ledger)).map((r) => r.path).sort()).toEqual([old[0].path, row(9, 1).path].sort());
    const dead: LedgerFile[] = [];
    for await (const d of ledger.listDeadLettered()) dead.push(d);
    expect(dead).toEqual([old[1]]);
    // Known under its new key: a redelivered event is a no-op, and migrating again moves nothing.
    expect(await ledger.insert(old[0])).toBe('exists');
    expect(await migrateLedgerKeys({ connectionString: azurite().connectionString }, table, FORMAT)).toBe(0);
  });

  it('lists rows of an hour range only', async () => {
    for (const hour of [8, 9, 10, 11]) await ledger.insert(row(hour, 0));
    const rows: LedgerFile[] = [];
    for await (const r of ledger.list({ fromHour: '2026112409', toHour: '2026112410' })) rows.push(r);
    expect(rows.map((r) => r.path)).toEqual([row(9, 0).path, row(10, 0).path]);
    await expect(async () => {
      for await (const r of ledger.list({ fromHour: "2026' or 1 eq 1" })) rows.push(r);
    }).rejects.toThrow(/is not an hour as yyyyMMddHH/);
  });
});
