import { AppConfig } from '../../lib/config';
import { useAzurite } from '../support/azurite';
import { CleanReference, ScenarioResult, runFaultScenario, summaryLine } from '../support/faultSimulation';
import { pipelineConfig } from '../support/pipelineFixtures';

// The whole loop (decideNext, performAction, TableLedger and manifests on Azurite, the local Jobs
// API on DuckDB) under seeded faults at every I/O step, driven on a virtual clock; each seed must
// end with every good file succeeded once, every poison file dead-lettered and reported, the tables
// of a clean single ingest, and no run storm (test/support/faultSimulation.ts).
// FAULT_SEEDS=7 or FAULT_SEEDS=1-50,90 replays seeds (FAULT_TRAIL=1 prints a failure's whole trail);
// `npm run bench:faults` runs many more, with bigger scenarios.

const SEEDS = seedList(process.env.FAULT_SEEDS ?? '1-24');
/** A small scenario takes 2-5 s; a loaded 2-core machine can take several times that. */
const SEED_TIMEOUT_MS = 60_000;

function seedList(text: string): number[] {
  return text.split(',').flatMap((part) => {
    const [from, to = from] = part.split('-').map((n) => Number(n.trim()));
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || to < from) {
      throw new Error(`FAULT_SEEDS: "${part}" is not a seed or a range of seeds`);
    }
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
}

function failure(result: ScenarioResult): Error {
  const trail = process.env.FAULT_TRAIL ? result.trail : result.trail.slice(-25);
  return new Error([summaryLine(result), ...result.problems, '--- last steps:', ...trail].join('\n'));
}

/** What a replay of a seed must reproduce: everything but real time, ports and storage names. */
function outcome(result: ScenarioResult): Omit<ScenarioResult, 'realMs' | 'timings'> {
  const copy: Partial<ScenarioResult> = { ...result };
  delete copy.realMs;
  delete copy.timings;
  return JSON.parse(
    JSON.stringify(copy)
      .replace(/127\.0\.0\.1:\d+/g, 'host')
      .replace(/\b(fcap|fman|fl)\d+s\d+n\d+/g, '$1'),
  );
}

describe('the pipeline under seeded faults (virtual clock, real ledger, manifests and lakehouse)', () => {
  const azurite = useAzurite();
  let config: AppConfig;
  let reference: CleanReference;
  const results = new Map<number, ScenarioResult>();
  beforeAll(async () => {
    config = pipelineConfig(azurite().connectionString);
    reference = await CleanReference.open();
  });
  afterAll(async () => {
    await reference?.close();
  });

  it.each(SEEDS)(
    'seed %i: every good file succeeds once, poison is dead-lettered, tables equal a clean ingest',
    async (seed) => {
      const result = await runFaultScenario(seed, config, { size: 'small', reference });
      results.set(seed, result);
      if (!result.ok) {
        console.log(summaryLine(result));
        throw failure(result);
      }
      expect(result.faults).toBeGreaterThan(0);
    },
    SEED_TIMEOUT_MS,
  );

  it(
    'replays a seed the same way (same faults, runs, steps and virtual time)',
    async () => {
      const seed = SEEDS[0];
      const first = results.get(seed) ?? (await runFaultScenario(seed, config, { size: 'small', reference }));
      const again = await runFaultScenario(seed, config, { size: 'small', reference });
      const [before, after] = [outcome(first), outcome(again)];
      const diverged = before.trail.findIndex((line, i) => line !== after.trail[i]);
      if (diverged >= 0) {
        console.log(
          `seed ${seed} diverged at step ${diverged}:\n${before.trail.slice(Math.max(0, diverged - 3), diverged + 2).join('\n')}\n---\n${after.trail.slice(Math.max(0, diverged - 3), diverged + 2).join('\n')}`,
        );
      }
      expect(after).toEqual(before);
    },
    2 * SEED_TIMEOUT_MS,
  );
});
