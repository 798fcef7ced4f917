import {
  CostRates,
  Workload,
  compareModes,
  continuousEstimate,
  eventDrivenEstimate,
  fitRunDuration,
  runSamplesOf,
} from '../../lib/operate/costModel';

import { TEST_RATES } from '../support/costRates';
const RATES: CostRates = TEST_RATES;
const RUN = { fixedSeconds: 60, secondsPerMillionEvents: 30, source: 'test' };
const MB = 1024 * 1024;
const workload = (eventsPerSecond: number, overrides: Partial<Workload> = {}): Workload => ({
  eventsPerSecond,
  partitions: 4,
  captureWindowSeconds: 60,
  captureSizeBytes: 100 * MB,
  batchWaitSeconds: 300,
  bytesPerEvent: 350,
  ...overrides,
});

describe('cost model', () => {
  it('runs once per batch: (⌊wait / window⌋ + 1) windows apart while events flow', () => {
    const c = compareModes(workload(5), RATES, RUN);
    const e = c.eventDriven;
    // ⌊300 / 60⌋ + 1 = 6 windows a batch → 360 s apart → 86,400 / 360 = 240 runs, 5 × 360 = 1,800 events each.
    expect(e.runsPerDay).toBeCloseTo(240, 6);
    expect(e.eventsPerRun).toBeCloseTo(1800, 6);
    // A run: 60 s + 30 s per million events = 60.054 s, plus 30 s start-up; 4 DBU/h at 0.50.
    expect(e.runSeconds).toBeCloseTo(60.054, 9);
    expect(e.computeHoursPerDay).toBeCloseTo((240 * 90.054) / 3600, 9);
    expect(e.costPerDay).toBeCloseTo(((240 * 90.054) / 3600) * 4 * 0.5, 9); // 12.0072
    // Worst case: the window 60 + the wait 300 + no queue (90 s of run < 300 s) + 30 + 60.054.
    expect(e.worst).toEqual({
      fileSeconds: 60,
      batchWaitSeconds: 300,
      queueSeconds: 0,
      startupSeconds: 30,
      runSeconds: expect.closeTo(60.054, 9),
    });
    expect(e.freshness.worstSeconds).toBeCloseTo(450.054, 9);
    // Continuous: 24 h × 4 DBU/h × 0.50 = 48 a day; worst case 60 s window + 10 s trigger + 30 s.
    expect(c.continuous).toMatchObject({ computeHoursPerDay: 24, costPerDay: 48 });
    expect(c.continuous.freshness).toEqual({ typicalSeconds: 30 + 5 + 30, worstSeconds: 100 });
    expect(c.cheaper).toBe('eventDriven');
  });

  it('a quiet hub starts runs only after windows that had events (Poisson arrivals)', () => {
    const p = -Math.expm1(-0.0001 * 60); // a window has an event
    const e = compareModes(workload(0.0001), RATES, RUN).eventDriven;
    // Batches open (6 − 1) × 60 s + 60 s / p apart: the batch's windows, then the next busy one.
    expect(e.runsPerDay).toBeCloseTo(86_400 / (300 + 60 / p), 9);
    const idle = compareModes(workload(0), RATES, RUN).eventDriven;
    expect(idle).toMatchObject({ runsPerDay: 0, costPerDay: 0, keepsUp: true });
  });

  it('a batch waits behind the active run: runs go back to back and the queue adds to the worst case', () => {
    // No wait, a 60 s window: a batch a minute, but a run takes 30 + 60 s, so runs are back to back:
    // spacing = (30 + 60) / (1 − 5 × 30e-6) = 90.0135 s, billed all day (= the continuous pipeline's 48).
    const e = eventDrivenEstimate(workload(5, { batchWaitSeconds: 0 }), RATES, RUN);
    const spacing = 90 / (1 - 5 * 30e-6);
    expect(e.runsPerDay).toBeCloseTo(86_400 / spacing, 6);
    expect(e.computeHoursPerDay).toBeCloseTo(24, 9);
    expect(e.costPerDay).toBeCloseTo(48, 9);
    // Worst: 60 s window + 0 wait + a whole run ahead of it (90.0135) + its own start-up and run.
    expect(e.worst.queueSeconds).toBeCloseTo(spacing, 9);
    expect(e.freshness.worstSeconds).toBeCloseTo(60 + 2 * spacing, 9);
  });

  it('a file closes early when the size limit fills first, and a batch at BATCH_MAX_FILES', () => {
    // 1,000 events/s × 1,000 bytes on 1 partition fill 10 MB in 10,485,760 / 1,000,000 s.
    const full = eventDrivenEstimate(
      workload(1000, { partitions: 1, bytesPerEvent: 1000, captureSizeBytes: 10 * MB, batchWaitSeconds: 0 }),
      RATES,
      { ...RUN, secondsPerMillionEvents: 0 },
    );
    expect(full.fileSeconds).toBeCloseTo(10.48576, 9);
    expect(full.worst.fileSeconds).toBeCloseTo(10.48576, 9);
    // A day's wait, 4 busy files a window: 1,000 / 4 = 250 windows a batch, closed by the cap after
    // 249 × 60 s; batches 249 × 60 + 60 = 15,000 s apart.
    const capped = eventDrivenEstimate(workload(10, { batchWaitSeconds: 86_400 }), RATES, RUN);
    expect(capped.worst.batchWaitSeconds).toBe(249 * 60);
    expect(capped.runsPerDay).toBeCloseTo(86_400 / 15_000, 9);
  });

  it('finds the rate where both cost the same, and flags a job that cannot keep up', () => {
    const cheapPipeline = { ...RATES, continuousDbuPerHour: 2 };
    const even = compareModes(workload(5), cheapPipeline, RUN).breakEvenEventsPerSecond!;
    const at = compareModes(workload(even), cheapPipeline, RUN);
    expect(at.eventDriven.costPerDay / at.continuous.costPerDay).toBeCloseTo(1, 2);
    expect(compareModes(workload(even * 0.9), cheapPipeline, RUN).cheaper).toBe('eventDriven');
    expect(compareModes(workload(even * 1.1), cheapPipeline, RUN).cheaper).toBe('continuous');
    // Loading takes 90 % of the time: back to back, a run every (30 + 60) / (1 − 0.9) = 900 s, longer
    // than a batch's 360 s: billed all day, what the pipeline costs (at equal cost: continuous).
    const saturated = compareModes(workload(30_000), RATES, RUN);
    expect(saturated.eventDriven.keepsUp).toBe(true);
    expect(saturated.eventDriven.computeHoursPerDay).toBeCloseTo(24, 9);
    expect(saturated.cheaper).toBe('continuous');
    // 30 s per million events: past 33,333 events/s loading alone outlasts the day.
    const flood = compareModes(workload(1e6), RATES, RUN);
    expect(flood.eventDriven.keepsUp).toBe(false);
    expect(flood.eventDriven.computeHoursPerDay).toBe(24);
    expect(flood.eventDriven.freshness.worstSeconds).toBe(Infinity);
  });

  it('bills the continuous pipeline all day at its own DBU rate and price', () => {
    const k = continuousEstimate({ ...RATES, continuousDbuPerHour: 3, continuousPricePerDbu: 0.4 }, 120);
    expect(k.dbusPerDay).toBe(72);
    expect(k.costPerDay).toBeCloseTo(28.8, 9);
    expect(k.freshness.worstSeconds).toBe(120 + 10 + 30);
  });

  it('fits run durations to measured runs from the ledger', () => {
    const rows = [
      {
        runId: '1',
        records: 100_000,
        state: 'succeeded',
        runStartedAt: '2026-11-26T12:00:00Z',
        runFinishedAt: '2026-11-26T12:00:23Z',
      },
      {
        runId: '1',
        records: 100_000,
        state: 'succeeded',
        runStartedAt: '2026-11-26T12:00:00Z',
        runFinishedAt: '2026-11-26T12:00:23Z',
      },
      {
        runId: '2',
        records: 1_000_000,
        state: 'succeeded',
        runStartedAt: '2026-11-26T13:00:00Z',
        runFinishedAt: '2026-11-26T13:00:50Z',
      },
      {
        runId: '3',
        records: 5,
        state: 'deadLettered',
        runStartedAt: '2026-11-26T13:00:00Z',
        runFinishedAt: '2026-11-26T13:09:00Z',
      },
    ];
    const samples = runSamplesOf(rows);
    expect(samples).toEqual([
      { events: 200_000, seconds: 23 },
      { events: 1_000_000, seconds: 50 },
    ]);
    const model = fitRunDuration(samples, RUN);
    expect(model.secondsPerMillionEvents).toBeCloseTo(33.75, 6);
    expect(model.fixedSeconds).toBeCloseTo(16.25, 6);
    expect(fitRunDuration([], RUN)).toBe(RUN);
    // One size: the mean is the whole run (no per-event time on top).
    expect(fitRunDuration([{ events: 5, seconds: 90 }], RUN)).toMatchObject({
      fixedSeconds: 90,
      secondsPerMillionEvents: 0,
      includesStartup: true,
    });
  });

  it('does not add the start-up to measured runs: their start_time → end_time span holds it already', () => {
    const measured = { fixedSeconds: 90, secondsPerMillionEvents: 0, includesStartup: true, source: 'test' };
    const w = workload(5, { batchWaitSeconds: 0 });
    const e = eventDrivenEstimate(w, RATES, measured);
    const byDefault = eventDrivenEstimate(w, RATES, { ...measured, includesStartup: false });
    // Billed per run: 90 s measured, not 90 + the configured start-up.
    expect((e.computeHoursPerDay * 3600) / e.runsPerDay).toBeCloseTo(90, 6);
    expect((byDefault.computeHoursPerDay * 3600) / byDefault.runsPerDay).toBeCloseTo(
      90 + RATES.jobStartupSeconds,
      6,
    );
    expect(byDefault.freshness.worstSeconds - e.freshness.worstSeconds).toBeGreaterThanOrEqual(
      RATES.jobStartupSeconds,
    );
  });
});
