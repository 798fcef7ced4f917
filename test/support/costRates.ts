import type { CostRates } from '../../lib/operate/costModel';

/** Round rates for hand-computed cost cases: 4 DBU/h at 0.50, a 30 s start-up, 60 s + 30 s per 1M events. */
export const TEST_RATES: CostRates = {
  jobDbuPerHour: 4,
  jobStartupSeconds: 30,
  pricePerDbu: 0.5,
  continuousDbuPerHour: 4,
  continuousPricePerDbu: 0.5,
  continuousTriggerSeconds: 10,
  continuousLatencySeconds: 30,
  runFixedSeconds: 60,
  runSecondsPerMillionEvents: 30,
  freshnessTargetSeconds: 900,
};
