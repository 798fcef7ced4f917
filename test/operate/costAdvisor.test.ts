import fc from 'fast-check';
import { SETTINGS, loadConfig } from '../../lib/config';
import { costRates } from '../../lib/host/settings';
import {
  DEFAULT_GRID,
  PRODUCTION_SETTING,
  SettingsGrid,
  Traffic,
  advise,
  captureAllows,
  costCurve,
  statusCost,
} from '../../lib/operate/costAdvisor';
import {
  CostRates,
  RunDurationModel,
  defaultRunModel,
  eventDrivenEstimate,
} from '../../lib/operate/costModel';

import { TEST_RATES } from '../support/costRates';
const MB = 1024 * 1024;

const RATES: CostRates = { ...TEST_RATES, runSecondsPerMillionEvents: 0 };
const FIXED_RUN: RunDurationModel = { fixedSeconds: 60, secondsPerMillionEvents: 0, source: 'test' };
const traffic = (eventsPerSecond: number): Traffic => ({
  eventsPerSecond,
  partitions: 4,
  bytesPerEvent: 350,
});

/** The brute force the advisor must agree with: every setting of the grid, estimated on its own. */
function bruteCheapest(
  t: Traffic,
  rates: CostRates,
  run: RunDurationModel,
  target: number,
  grid: SettingsGrid,
) {
  let best: { cost: number; worst: number } | null = null;
  for (const captureWindowSeconds of grid.captureWindowSeconds)
    for (const captureSizeBytes of grid.captureSizeBytes)
      for (const batchWaitSeconds of grid.batchWaitSeconds) {
        const e = eventDrivenEstimate(
          { ...t, captureWindowSeconds, captureSizeBytes, batchWaitSeconds },
          rates,
          run,
        );
        if (!e.keepsUp || e.freshness.worstSeconds > target) continue;
        if (best === null || e.costPerDay < best.cost)
          best = { cost: e.costPerDay, worst: e.freshness.worstSeconds };
      }
  return best;
}

const ratesArb: fc.Arbitrary<CostRates> = fc.record({
  jobDbuPerHour: fc.double({ min: 0.1, max: 50, noNaN: true }),
  jobStartupSeconds: fc.double({ min: 0, max: 600, noNaN: true }),
  pricePerDbu: fc.double({ min: 0.01, max: 3, noNaN: true }),
  continuousDbuPerHour: fc.double({ min: 0.1, max: 50, noNaN: true }),
  continuousPricePerDbu: fc.double({ min: 0.01, max: 3, noNaN: true }),
  continuousTriggerSeconds: fc.double({ min: 0, max: 600, noNaN: true }),
  continuousLatencySeconds: fc.double({ min: 0, max: 600, noNaN: true }),
  runFixedSeconds: fc.double({ min: 0, max: 900, noNaN: true }),
  runSecondsPerMillionEvents: fc.double({ min: 0, max: 2000, noNaN: true }),
  freshnessTargetSeconds: fc.constant(900),
});
const trafficArb: fc.Arbitrary<Traffic> = fc.record({
  eventsPerSecond: fc.oneof(fc.constant(0), fc.double({ min: 1e-4, max: 20_000, noNaN: true })),
  partitions: fc.integer({ min: 1, max: 32 }),
  bytesPerEvent: fc.integer({ min: 50, max: 20_000 }),
});
const targetArb = fc.double({ min: 30, max: 20_000, noNaN: true });

describe('cost advisor', () => {
  it('recommends the true minimum over the allowed grid (brute force), within the target', () => {
    fc.assert(
      fc.property(ratesArb, trafficArb, targetArb, (rates, t, target) => {
        const run = defaultRunModel(rates);
        const advice = advise(t, rates, run, target);
        const brute = bruteCheapest(t, rates, run, target, DEFAULT_GRID);
        if (brute === null) {
          expect(advice.recommended).toBeNull();
          // Unreachable: the best freshness possible is worse than the target.
          if (advice.fastest) expect(advice.fastest.estimate.freshness.worstSeconds).toBeGreaterThan(target);
          return;
        }
        const r = advice.recommended!;
        expect(r).not.toBeNull();
        expect(r.estimate.freshness.worstSeconds).toBeLessThanOrEqual(target);
        expect(r.estimate.costPerDay).toBeLessThanOrEqual(brute.cost * (1 + 1e-9) + 1e-12);
        expect(DEFAULT_GRID.captureWindowSeconds).toContain(r.setting.captureWindowSeconds);
        expect(DEFAULT_GRID.captureSizeBytes).toContain(r.setting.captureSizeBytes);
        expect(DEFAULT_GRID.batchWaitSeconds).toContain(r.setting.batchWaitSeconds);
        // The fastest setting is at least as fresh as the recommended one.
        expect(advice.fastest!.estimate.freshness.worstSeconds).toBeLessThanOrEqual(
          r.estimate.freshness.worstSeconds,
        );
      }),
      { numRuns: 150 },
    );
  });

  it('is monotone in the target: a looser freshness target never costs more', () => {
    fc.assert(
      fc.property(ratesArb, trafficArb, targetArb, targetArb, (rates, t, a, b) => {
        const [tight, loose] = a <= b ? [a, b] : [b, a];
        const run = defaultRunModel(rates);
        const strict = advise(t, rates, run, tight).recommended;
        const relaxed = advise(t, rates, run, loose).recommended;
        if (strict === null) return;
        expect(relaxed).not.toBeNull();
        expect(relaxed!.estimate.costPerDay).toBeLessThanOrEqual(
          strict.estimate.costPerDay * (1 + 1e-9) + 1e-12,
        );
      }),
      { numRuns: 100 },
    );
    // The curve too: its costs fall (or stay) as the targets loosen.
    const curve = costCurve(
      traffic(10),
      { ...RATES, runSecondsPerMillionEvents: 30 },
      defaultRunModel(RATES),
    );
    const costs = curve.points.map((p) => p.recommended?.estimate.costPerDay ?? Infinity);
    expect(costs).toEqual([...costs].sort((x, y) => y - x));
    // The frontier: fresher points cost more.
    for (let i = 1; i < curve.frontier.length; i++) {
      expect(curve.frontier[i].worstSeconds).toBeGreaterThan(curve.frontier[i - 1].worstSeconds);
      expect(curve.frontier[i].costPerDay).toBeLessThan(curve.frontier[i - 1].costPerDay);
    }
  });

  describe('hand-computed: 10 events/s, runs of exactly 60 s + 30 s start-up, 4 DBU/h at 0.50', () => {
    // Every run bills (30 + 60) / 3600 h × 4 DBU/h × 0.50 = 0.05. A 60 s window sees 600 events, so
    // every window has one (p = 1 − e^−600 = 1). On this grid:
    //   window 60,  wait 0:   1 window a batch, but a run takes 90 s: back to back, 90 s apart
    //                         → 960 runs × 0.05 = 48.00;  worst 60 + 0 + 90 queued + 90 = 240 s
    //   window 60,  wait 300: 6 windows, 360 s apart → 240 runs → 12.00; worst 60 + 300 + 90 = 450 s
    //   window 60,  wait 600: 11 windows, 660 s → 130.9 runs → 6.545;    worst 60 + 600 + 90 = 750 s
    //   window 300, wait 0:   300 s apart → 288 runs → 14.40;  worst 300 + 0 + 90 queued + 90 = 480 s
    //   window 300, wait 300: 2 windows, 600 s → 144 runs → 7.20;        worst 300 + 300 + 90 = 690 s
    //   window 300, wait 600: 3 windows, 900 s → 96 runs → 4.80;         worst 300 + 600 + 90 = 990 s
    // The continuous pipeline: 24 h × 4 × 0.50 = 48.00, worst 60 + 10 + 30 = 100 s.
    const grid: SettingsGrid = {
      captureWindowSeconds: [60, 300],
      captureSizeBytes: [100 * MB],
      batchWaitSeconds: [0, 300, 600],
    };
    const at = (target: number) => advise(traffic(10), RATES, FIXED_RUN, target, grid);

    it.each([
      [500, 60, 300, 12, 240, 450],
      [450, 60, 300, 12, 240, 450],
      [700, 300, 300, 7.2, 144, 690],
      [800, 60, 600, 6.545454, 130.909, 750],
      [1000, 300, 600, 4.8, 96, 990],
    ])(
      'within %p s: window %p s, wait %p s at %p a day (%p runs, worst %p s)',
      (target, w, b, cost, runs, worst) => {
        const r = at(target).recommended!;
        expect(r.setting).toEqual({
          captureWindowSeconds: w,
          captureSizeBytes: 100 * MB,
          batchWaitSeconds: b,
        });
        expect(r.estimate.costPerDay).toBeCloseTo(cost, 4);
        expect(r.estimate.runsPerDay).toBeCloseTo(runs, 2);
        expect(r.estimate.freshness.worstSeconds).toBeCloseTo(worst, 9);
        expect(at(target).cheaper).toBe('eventDriven');
      },
    );

    it('within 240 s only the back-to-back setting is left, and it costs what continuous costs', () => {
      const a = at(240);
      expect(a.recommended!.setting.batchWaitSeconds).toBe(0);
      expect(a.recommended!.estimate.costPerDay).toBeCloseTo(48, 9);
      expect(a.continuous.costPerDay).toBeCloseTo(48, 9);
      expect(a.continuousMeetsTarget).toBe(true);
      expect(a.cheaper).toBe('continuous');
    });

    it('within 200 s is unreachable: the best is 240 s; continuous reaches it', () => {
      const a = at(200);
      expect(a.recommended).toBeNull();
      expect(a.fastest!.estimate.freshness.worstSeconds).toBeCloseTo(240, 9);
      expect(a.continuousMeetsTarget).toBe(true);
      expect(a.cheaper).toBe('continuous');
      const none = at(1);
      expect(none).toMatchObject({ recommended: null, continuousMeetsTarget: false, cheaper: null });
    });
  });

  it('with the configured defaults, at 1, 10 and 100 events/s within 15 min', () => {
    const rates = costRates(loadConfig({}, { local: true }));
    const run = defaultRunModel(rates);
    // 60 s start-up, a run of 60 s + 30 s per million events, 4 DBU/h at 0.45.
    // Window 240 s, wait 480 s: 3 windows a batch, 720 s apart → 120 runs a day. At 10 events/s a run
    // loads 7,200 events in 60 + 0.216 s; the day bills 120 × 120.216 s = 4.0072 h = 16.029 DBUs =
    // 7.213; worst 240 + 480 + 0 + 60 + 60.216 = 840.216 s. (60 s + 720 s would be 780 s apart and
    // cheaper, but its worst case is 60 + 720 + 120.23 = 900.23 s: over.)
    for (const [eps, cost, worst] of [
      [1, ((120 * (120 + 0.0216)) / 3600) * 4 * 0.45, 840.0216],
      [10, ((120 * (120 + 0.216)) / 3600) * 4 * 0.45, 840.216],
      [100, ((120 * (120 + 2.16)) / 3600) * 4 * 0.45, 842.16],
    ]) {
      const r = advise(traffic(eps), rates, run, 900).recommended!;
      expect({ eps, setting: r.setting }).toEqual({
        eps,
        setting: { captureWindowSeconds: 240, captureSizeBytes: 100 * MB, batchWaitSeconds: 480 },
      });
      expect(r.estimate.runsPerDay).toBeCloseTo(120, 9);
      expect(r.estimate.costPerDay).toBeCloseTo(cost, 9);
      expect(r.estimate.freshness.worstSeconds).toBeCloseTo(worst, 9);
    }
    // The continuous pipeline: 24 h × 4 DBU/h × 0.45 = 43.20 a day, worst 60 + 10 + 30 = 100 s.
    const a = advise(traffic(10), rates, run, 900);
    expect(a.continuous.costPerDay).toBeCloseTo(43.2, 9);
    expect(a.continuous.freshness.worstSeconds).toBe(100);
  });

  it("production's setting is the configuration's defaults, and Capture refuses the local window", () => {
    expect(PRODUCTION_SETTING).toEqual({
      captureWindowSeconds: Number(SETTINGS.CAPTURE_WINDOW_SECONDS.default),
      captureSizeBytes: Number(SETTINGS.CAPTURE_SIZE_LIMIT_BYTES.default),
      batchWaitSeconds: Number(SETTINGS.BATCH_WAIT_SECONDS.default),
    });
    expect(captureAllows(PRODUCTION_SETTING)).toBe(true);
    expect(captureAllows({ ...PRODUCTION_SETTING, captureWindowSeconds: 10 })).toBe(false);
    expect(captureAllows({ ...PRODUCTION_SETTING, captureSizeBytes: 600 * MB })).toBe(false);
  });

  it('gives the status its figures: observed rate, measured runs, the setting, the advice and the frontier', () => {
    const t0 = Date.UTC(2026, 10, 26, 12);
    const at = (s: number) => new Date(t0 + s * 1000).toISOString();
    // 1,200 records over 10 minutes (2 events/s); two runs of 10 s and 20 s over 100 and 1,100 events.
    const rows = [
      {
        runId: '1',
        records: 100,
        state: 'succeeded',
        capturedAt: at(0),
        runStartedAt: at(60),
        runFinishedAt: at(70),
      },
      {
        runId: '2',
        records: 1100,
        state: 'succeeded',
        capturedAt: at(600),
        runStartedAt: at(660),
        runFinishedAt: at(680),
      },
    ];
    const local = {
      partitions: 4,
      bytesPerEvent: 350,
      captureWindowSeconds: 10,
      captureSizeBytes: 100 * MB,
      batchWaitSeconds: 5,
    };
    const cost = statusCost(rows, { ...RATES, freshnessTargetSeconds: 600 }, local);
    expect(cost.workload).toMatchObject({ eventsPerSecond: 2, ...PRODUCTION_SETTING });
    // Fitted: 10 s at 100 events, 20 s at 1,100 → 1 s per 100 events, 9 s fixed.
    expect(cost.runModel).toMatchObject({
      fixedSeconds: 9,
      secondsPerMillionEvents: 10_000,
      source: '2 measured runs',
    });
    expect(cost.advice.targetSeconds).toBe(600);
    expect(cost.advice.recommended!.estimate.freshness.worstSeconds).toBeLessThanOrEqual(600);
    expect(cost.advice.recommended).toEqual(
      advise({ eventsPerSecond: 2, partitions: 4, bytesPerEvent: 350 }, cost.advice.rates, cost.runModel, 600)
        .recommended,
    );
    expect(cost.frontier.length).toBeGreaterThan(1);
    // In Azure the configured setting is one Capture takes: the comparison uses it.
    const azure = statusCost(rows, RATES, { ...local, captureWindowSeconds: 300, batchWaitSeconds: 600 });
    expect(azure.workload).toMatchObject({ captureWindowSeconds: 300, batchWaitSeconds: 600 });
    // No rows: no events, no runs, the configured run model.
    const empty = statusCost([], RATES, local);
    expect(empty.eventDriven.costPerDay).toBe(0);
    expect(empty.runModel.source).toBe('default (no measured runs)');
  });
});
