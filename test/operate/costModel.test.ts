import { CostRates, Workload, compareModes, fitRunDuration, runSamplesOf } from '../../lib/operate/costModel';

const RATES: CostRates = {
  jobDbuPerHour: 4,
  jobStartupSeconds: 30,
  continuousDbuPerHour: 4,
  pricePerDbu: 0.5,
  continuousLatencySeconds: 30,
};
const RUN = { fixedSeconds: 60, secondsPerMillionEvents: 30, source: 'test' };
const workload = (eventsPerSecond: number, overrides: Partial<Workload> = {}): Workload => ({
  eventsPerSecond,
  partitions: 4,
  captureWindowSeconds: 60,
  captureSizeBytes: 100 * 1024 * 1024,
  batchWaitSeconds: 300,
  bytesPerEvent: 350,
  ...overrides,
});

describe('cost model', () => {
  it('runs once per batch cycle while events flow: (wait / window + 1) windows apart', () => {
    const c = compareModes(workload(5), RATES, RUN);
    expect(c.eventDriven.runsPerDay).toBeCloseTo(86_400 / 360, 6);
    // Each run: 60 s + 30 s per million events, plus 30 s start-up; 4 DBU/h at 0.50.
    const runSeconds = 60 + (30 * 5 * 360) / 1e6;
    expect(c.eventDriven.runSeconds).toBeCloseTo(runSeconds, 6);
    expect(c.eventDriven.costPerDay).toBeCloseTo(((240 * (runSeconds + 30)) / 3600) * 4 * 0.5, 6);
    expect(c.continuous.costPerDay).toBe(48);
    expect(c.cheaper).toBe('eventDriven');
  });

  it('a quiet hub starts runs only for windows that had events', () => {
    const c = compareModes(workload(0.0001), RATES, RUN);
    expect(c.eventDriven.runsPerDay).toBeCloseTo(1440 * (1 - Math.exp(-0.006)), 6);
    expect(compareModes(workload(0), RATES, RUN).eventDriven.costPerDay).toBe(0);
  });

  it('finds the rate where both cost the same, and flags a job that cannot keep up', () => {
    const cheapPipeline = { ...RATES, continuousDbuPerHour: 2 };
    const even = compareModes(workload(5), cheapPipeline, RUN).breakEvenEventsPerSecond!;
    const at = compareModes(workload(even), cheapPipeline, RUN);
    expect(at.eventDriven.costPerDay / at.continuous.costPerDay).toBeCloseTo(1, 2);
    expect(compareModes(workload(even * 0.9), cheapPipeline, RUN).cheaper).toBe('eventDriven');
    expect(compareModes(workload(even * 1.1), cheapPipeline, RUN).cheaper).toBe('continuous');
    // With equal DBU rates, runs back to back cost what the always-on pipeline costs.
    const saturated = compareModes(workload(100_000), RATES, RUN);
    expect(saturated.eventDriven.computeHoursPerDay).toBeCloseTo(24, 6);
    expect(saturated.cheaper).toBe('continuous');
    const flood = compareModes(workload(1e6), RATES, RUN);
    expect(flood.eventDriven.keepsUp).toBe(false);
    expect(flood.eventDriven.computeHoursPerDay).toBe(24);
  });

  it('freshness: half a window and half the batch spacing on average, plus start-up and the run', () => {
    const e = compareModes(
      workload(5, { batchWaitSeconds: 0, captureWindowSeconds: 300 }),
      RATES,
      RUN,
    ).eventDriven;
    expect(e.freshness.typicalSeconds).toBeCloseTo(150 + 150 + 30 + e.runSeconds, 6);
    expect(e.freshness.worstSeconds).toBeCloseTo(300 + 300 + 30 + e.runSeconds, 6);
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
  });
});
