/**
 * The seeded fault simulation (test/support/faultSimulation.ts) over many seeds: the real decision
 * function, performAction, ledger and manifests on Azurite and the local Jobs API on DuckDB, with
 * faults injected at every I/O step on a virtual clock. One line per seed, then a tally; exits
 * non-zero when any seed fails.
 *   npm run bench:faults -- [--seeds 200] [--from 1] [--size full|small] [--verbose]
 */
import { parseArgs } from 'node:util';
import {
  CleanReference,
  ScenarioResult,
  ScenarioSize,
  isFault,
  runFaultScenario,
  summaryLine,
} from '../test/support/faultSimulation';
import { openBenchStack } from './benchStack';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string' },
      from: { type: 'string' },
      size: { type: 'string' },
      verbose: { type: 'boolean' },
    },
  });
  const seeds = Number(values.seeds ?? 200);
  const from = Number(values.from ?? 1);
  const size = (values.size ?? 'full') as ScenarioSize;
  if (!Number.isSafeInteger(seeds) || seeds < 1 || !Number.isSafeInteger(from) || from < 0) {
    throw new Error('--seeds must be a positive integer and --from a non-negative one');
  }
  if (size !== 'full' && size !== 'small') throw new Error('--size must be full or small');

  const bench = await openBenchStack('faults');
  const reference = await CleanReference.open();
  const started = performance.now();
  const faults = new Map<string, number>();
  const failed: ScenarioResult[] = [];
  let runs = 0;
  let runNowCalls = 0;
  let actions = 0;
  let maxRunsPerMinute = 0;
  let files = 0;
  const timings = new Map<string, number>();
  try {
    for (let seed = from; seed < from + seeds; seed++) {
      const result = await runFaultScenario(seed, bench.config, { size, reference });
      console.log(summaryLine(result));
      if (!result.ok) {
        failed.push(result);
        for (const problem of result.problems) console.log(`  ${problem.split('\n')[0]}`);
        if (values.verbose) for (const step of result.trail.slice(-30)) console.log(`    ${step}`);
      }
      for (const [kind, n] of Object.entries(result.tally)) faults.set(kind, (faults.get(kind) ?? 0) + n);
      for (const [what, ms] of Object.entries(result.timings))
        timings.set(what, (timings.get(what) ?? 0) + ms);
      runs += result.runs;
      runNowCalls += result.runNowCalls;
      actions += result.actions;
      files += result.files.good + result.files.poison + result.files.truncated;
      maxRunsPerMinute = Math.max(maxRunsPerMinute, result.maxRunsPerMinute);
    }
  } finally {
    await reference.close();
    await bench.close();
  }

  const seconds = (performance.now() - started) / 1000;
  const kinds = [...faults].filter(([kind]) => isFault(kind)).sort(([a], [b]) => (a < b ? -1 : 1));
  const others = [...faults].filter(([kind]) => !isFault(kind)).sort(([a], [b]) => (a < b ? -1 : 1));
  const total = kinds.reduce((sum, [, n]) => sum + n, 0);
  console.log('');
  console.log(
    `${seeds} seeds (${from}…${from + seeds - 1}, ${size}) in ${seconds.toFixed(0)} s: ${failed.length} failed; ` +
      `${files} files, ${runs} runs (run-now ${runNowCalls}, at most ${maxRunsPerMinute} a minute), ${actions} actions`,
  );
  console.log(`faults injected: ${total}`);
  for (const [kind, n] of kinds) console.log(`  ${kind.padEnd(34)} ${n}`);
  console.log('not faults (workload, recoveries, outcomes):');
  for (const [kind, n] of others) console.log(`  ${kind.padEnd(34)} ${n}`);
  console.log(
    `real time: ${[...timings].map(([what, ms]) => `${what} ${(ms / 1000).toFixed(1)} s`).join(', ')}`,
  );
  if (failed.length > 0) {
    console.log(`failed seeds: ${failed.map((r) => r.seed).join(', ')}`);
    process.exitCode = 1;
  }
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  // DuckDB's native handles and keep-alive sockets would hold the process open after the tally.
  .finally(() => process.exit());
