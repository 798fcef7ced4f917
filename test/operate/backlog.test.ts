import type { StoredHealth } from '../../lib/ledger/healthStore';
import { CapturePathFormat } from '../../lib/capture/capturePath';
import { Run } from '../../lib/databricks/jobsApi';
import { LedgerFile } from '../../lib/ledger/ledger';
import { BacklogSettings, backlogReport, hourPrefix } from '../../lib/operate/backlog';
import { blobCreatedEvent } from '../../lib/local/captureWatcher';
import { LocalPipeline } from '../../lib/local/localPipeline';
import { useAzurite } from '../support/azurite';
import { captureBytes } from '../lakehouse/lakehouseFixtures';
import { CaptureWriter, cdcChange, pipelineConfig } from '../support/pipelineFixtures';

jest.setTimeout(60_000);

const SETTINGS: BacklogSettings = {
  format: new CapturePathFormat(),
  namespace: 'ordersns',
  eventHub: 'orders',
  partitions: 2,
  captureWindowMs: 60_000,
  graceMs: 60_000,
  retentionMs: 7 * 86_400_000,
  platformAlertAfter: 5,
};
const at = (iso: string) => Date.parse(iso);

describe('backlog timer on a prepared container', () => {
  const azurite = useAzurite();

  it('reports the backlog, re-triggers a lost file exactly once, and moves the watermark', async () => {
    const config = pipelineConfig(azurite().connectionString, {
      EVENTHUB_PARTITIONS: '2',
      BATCH_WAIT_SECONDS: '3600',
      BACKLOG_GRACE_MINUTES: '1',
      CAPTURE_WINDOW_SECONDS: '60',
    });
    const pipeline = await LocalPipeline.open({ config, log: () => undefined, watchIntervalMs: 0 });
    try {
      const store = pipeline.captureStore;
      const writer = new CaptureWriter(store);
      /** The file as the container lists it: its size and the blob's creation time. */
      const stored = async (path: string) => {
        for await (const file of store.list({ prefix: path })) if (file.path === path) return file;
        throw new Error(`${path} is not in the container`);
      };
      const deliver = async (path: string) =>
        pipeline.deliver(blobCreatedEvent(store, config.CAPTURE_CONTAINER, await stored(path)));
      const body = [cdcChange(1, 'A')];
      const a = await writer.writeRaw(await captureBytes(body), '0', new Date(at('2026-11-24T09:10:00Z')));
      const lost = await writer.writeRaw(await captureBytes(body), '1', new Date(at('2026-11-24T09:20:00Z')));
      const young = await writer.writeRaw(
        await captureBytes(body),
        '0',
        new Date(at('2026-11-24T11:59:30Z')),
      );
      const bytes = await captureBytes(body);
      const broken = await writer.writeRaw(
        bytes.subarray(0, bytes.length - 5),
        '1',
        new Date(at('2026-11-24T10:00:00Z')),
      );
      expect(await deliver(a)).toBe('recorded');
      expect(await deliver(broken)).toBe('deadLettered');

      const now = at('2026-11-24T12:00:00Z');
      const first = await pipeline.backlog(now);
      expect(first).toMatchObject({
        lostEvents: { found: 1, retriggered: [lost] },
        unfinished: { files: 2, oldestAgeSeconds: expect.any(Number) },
        runs: { active: 0, queued: 0 },
        deadLettered: { files: 1, newest: [{ path: broken, error: expect.stringMatching(/truncated/) }] },
        freshnessSeconds: null,
        watermark: '2026-11-24T11:00:00.000Z',
      });
      expect(first.alerts).toEqual([
        '1 dead-lettered file(s) need a look',
        '1 file(s) had no BlobCreated event; re-triggered',
      ]);
      expect(await pipeline.ports.ledger.get(lost)).toMatchObject({ state: 'pending', records: 1 });
      // Capture time is the blob's creation, for a delivered file and for one found by the timer
      // (not the time the trigger happened to see it, nor the window's end).
      for (const path of [a, lost]) {
        expect((await pipeline.ports.ledger.get(path))?.capturedAt).toBe(
          (await stored(path)).createdAt.toISOString(),
        );
      }
      expect(await pipeline.ports.ledger.get(young)).toBeUndefined();

      // Again: nothing is lost twice; only the hours since the watermark (less a window and an hour) are listed.
      const second = await pipeline.backlog(now);
      expect(second.lostEvents).toEqual({ found: 0, retriggered: [] });
      expect(second.listedHours).toBe(4 * 2);
      expect(second.watermark).toBe('2026-11-24T11:00:00.000Z');

      // Later the young file is past its grace period, and the watermark passes its hour.
      const later = await pipeline.backlog(at('2026-11-24T13:30:00Z'));
      expect(later.lostEvents.retriggered).toEqual([young]);
      expect(later.watermark).toBe('2026-11-24T13:00:00.000Z');
    } finally {
      await pipeline.close();
    }
  });
});

describe('backlog report', () => {
  const file = (capturedAt: string, bytes = 10): LedgerFile => ({
    path: `p${capturedAt}`,
    url: 'u',
    state: 'pending',
    bytes,
    records: 1,
    capturedAt,
    triggeredAt: capturedAt,
  });
  const run = (state: Run['state']['life_cycle_state']): Run => ({
    job_id: 1,
    run_id: 1,
    state: { life_cycle_state: state },
  });

  it('counts unfinished files, runs by state and freshness, and alerts at half the retention', () => {
    const now = at('2026-11-30T00:00:00Z');
    const report = backlogReport(
      {
        open: [file('2026-11-26T00:00:00Z', 100), file('2026-11-29T23:00:00Z', 50)],
        dead: [],
        runs: [run('RUNNING'), run('QUEUED'), run('QUEUED')],
        retriggered: [],
        newestSucceeded: at('2026-11-29T23:50:00Z'),
        watermark: at('2026-11-29T23:00:00Z'),
        health: null,
        listedHours: 4,
      },
      now,
      SETTINGS,
    );
    expect(report).toMatchObject({
      unfinished: { files: 2, bytes: 150, oldestAgeSeconds: 4 * 86_400 },
      runs: { active: 1, queued: 2 },
      freshnessSeconds: 600,
      watermark: '2026-11-29T23:00:00.000Z',
    });
    expect(report.alerts).toEqual([
      'the oldest unfinished file is 4.0 days old: past half the 7-day retention of raw files',
    ]);
  });

  it('alerts while submissions are paused and when platform failures reach the threshold', () => {
    const now = at('2026-11-30T00:00:00Z');
    const read = {
      open: [],
      dead: [],
      runs: [],
      retriggered: [],
      newestSucceeded: null,
      watermark: null,
      listedHours: 0,
    };
    const health = (overrides: Partial<StoredHealth>): StoredHealth => ({
      pausedUntil: null,
      pauseReason: null,
      platformFailures: 0,
      lastPlatformError: null,
      writtenAt: '2026-11-29T23:59:00.000Z',
      resumeRequestedAt: null,
      ...overrides,
    });
    const paused = health({ pausedUntil: now + 60_000, pauseReason: '403 PERMISSION_DENIED' });
    expect(backlogReport({ ...read, health: paused }, now, SETTINGS).alerts).toEqual([
      'submissions paused until 2026-11-30T00:01:00.000Z after a permanent Jobs API error: 403 PERMISSION_DENIED',
    ]);
    // A pause that is over alerts no more, even before the orchestration writes that it resumed.
    expect(backlogReport({ ...read, health: paused }, now + 60_000, SETTINGS).alerts).toEqual([]);
    const failing = health({ platformFailures: 5, lastPlatformError: 'INTERNAL_ERROR' });
    const report = backlogReport({ ...read, health: failing }, now, SETTINGS);
    expect(report.alerts).toEqual([
      "5 failures in a row that are not a batch's fault (retrying with backoff): INTERNAL_ERROR",
    ]);
    expect(report.pipeline).toEqual(failing);
    expect(
      backlogReport({ ...read, health: { ...failing, platformFailures: 4 } }, now, SETTINGS).alerts,
    ).toEqual([]);
  });

  it('lists one partition-hour with the default layout, and stops at a finer token in others', () => {
    const hour = at('2026-11-24T09:00:00Z');
    expect(hourPrefix(SETTINGS, '3', hour)).toBe('ordersns/orders/3/2026/11/24/09/');
    const custom = {
      ...SETTINGS,
      format: new CapturePathFormat(
        '{Year}/{Month}/{Day}/{Namespace}/{EventHub}/{PartitionId}/{Hour}/{Minute}/{Second}',
      ),
    };
    expect(hourPrefix(custom, '3', hour)).toBe('2026/11/24/ordersns/orders/3/09/');
    const minuteFirst = {
      ...SETTINGS,
      format: new CapturePathFormat(
        '{Namespace}/{EventHub}/{PartitionId}/{Year}-{Month}-{Day}/{Minute}-{Hour}/{Second}',
      ),
    };
    expect(hourPrefix(minuteFirst, '3', hour)).toBe('ordersns/orders/3/2026-11-24/');
  });
});
