/**
 * `npm start`'s loop under a steady load: replays orders at a fixed rate through the emulator into
 * the pipeline and samples the backlog (files captured but not finished) as it goes.
 *   npm run bench:sustained -- [--rate 5000] [--seconds 300] [--sample 10]
 */
import { parseArgs } from 'node:util';
import { LocalStack } from '../lib/local/localStack';
import { LedgerFile } from '../lib/ledger/ledger';
import { replayOrders } from '../lib/orders/replay';
import { openBenchStack } from './benchStack';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rate: { type: 'string' }, seconds: { type: 'string' }, sample: { type: 'string' } },
  });
  const rate = Number(values.rate ?? 5000);
  const seconds = Number(values.seconds ?? 300);
  const sampleSeconds = Number(values.sample ?? 10);
  const bench = await openBenchStack('sustained');
  const { config } = bench;
  const stack = await LocalStack.open(config, { port: 0, watchIntervalMs: 1000, log: () => undefined });
  const curve: {
    second: number;
    published: number;
    unfinishedFiles: number;
    unfinishedRecords: number;
    runs: number;
  }[] = [];
  let published = 0;
  const started = performance.now();
  const sampler = setInterval(() => {
    void (async () => {
      const open: LedgerFile[] = [];
      for await (const row of stack.pipeline.ports.ledger.listOpen()) open.push(row);
      curve.push({
        second: Math.round((performance.now() - started) / 1000),
        published,
        unfinishedFiles: open.length,
        unfinishedRecords: open.reduce((n, r) => n + r.records, 0),
        runs: stack.pipeline.batchResults.size,
      });
    })();
  }, sampleSeconds * 1000);
  try {
    const summary = await replayOrders(stack.emulator, {
      source: { kind: 'synthetic', seed: 1 },
      events: rate * seconds,
      rate,
      seed: 1,
      closeWhenDone: false,
      onProgress: ({ events }) => (published = events),
    });
    await stack.flush();
    const drainStarted = performance.now();
    const files = await stack.processed();
    clearInterval(sampler);
    const results = [...stack.pipeline.batchResults.values()];
    console.log(
      JSON.stringify({
        rate,
        seconds,
        publishedEventsPerSecond: Math.round(summary.eventsPerSecond),
        files: files.length,
        runs: results.length,
        loaded: results.reduce((n, r) => n + r.loaded, 0),
        drainSecondsAfterStop: +((performance.now() - drainStarted) / 1000).toFixed(1),
        maxUnfinishedFiles: Math.max(0, ...curve.map((c) => c.unfinishedFiles)),
        maxUnfinishedRecords: Math.max(0, ...curve.map((c) => c.unfinishedRecords)),
        curve,
      }),
    );
  } finally {
    clearInterval(sampler);
    await stack.close();
    await bench.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
