import fs from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { AppConfig } from '../config';
import { goldSummary, formatGold } from '../lakehouse/goldSummary';
import { assertPortFree, startAzurite } from '../local/azurite';
import { integerOption, UsageError } from './args';
import { formatBatchResult } from './lakehouseCommands';
import { LocalStack } from '../local/localStack';
import { simulateCommand } from './simulateCommand';

export const START_HELP = `orders-pipeline start [--once] [--port N] [simulate options]

Runs the whole local loop on the embedded defaults: Azurite (data under LOCAL_DATA_DIR/azurite,
ports 10000-10002 like UseDevelopmentStorage=true), the local Event Hubs + Capture emulator, the
event-driven pipeline (watcher, capture trigger, ledger, orchestration, local Jobs API on
LOCAL_DATA_DIR/lakehouse.duckdb, backlog timer) and the HTTP endpoints on http://127.0.0.1:PORT
(POST /api/orders, GET /api/status, GET /api/gold, GET /api/dashboard). It replays orders at a
steady rate (default --events 20000 --rate 500) and keeps running until Ctrl+C, which flushes what
was published and waits until every file is processed, then prints the runs and gold. A second
start resumes.

  --once     replay as fast as possible, process, print and stop (no waiting for Ctrl+C)
  --port N   port of the HTTP endpoints (default 7071)
  Other options are simulate's (orders-pipeline simulate --help). Pipeline logs (JSON lines) go to
  LOCAL_DATA_DIR/pipeline.log.
`;

const DEV_PORTS = { blobPort: 10000, queuePort: 10001, tablePort: 10002 };

export async function startCommand(args: string[], config: AppConfig, signal: AbortSignal): Promise<void> {
  const runOnce = args.includes('--once');
  const portAt = args.indexOf('--port');
  if (portAt >= 0 && args[portAt + 1] === undefined) throw new UsageError('--port needs a number');
  const port = integerOption(portAt >= 0 ? args[portAt + 1] : undefined, 'port', 7071, 0);
  const simulateArgs = args.filter((a, i) => a !== '--once' && i !== portAt && i !== portAt + 1);
  await Promise.all([
    assertPortFree(DEV_PORTS.blobPort, 'Azurite blob'),
    assertPortFree(DEV_PORTS.queuePort, 'Azurite queue'),
    assertPortFree(DEV_PORTS.tablePort, 'Azurite table'),
    ...(port ? [assertPortFree(port, 'the HTTP endpoints')] : []),
  ]);
  const location = path.resolve(config.LOCAL_DATA_DIR, 'azurite');
  process.stderr.write(`start: Azurite on 127.0.0.1:10000-10002, data in ${location}\n`);
  const azurite = await startAzurite({ ...DEV_PORTS, location, signal });
  const storage = { connectionString: azurite.connectionString };
  const local = { ...config, AzureWebJobsStorage: storage, CaptureStorage: storage };
  const logPath = path.resolve(config.LOCAL_DATA_DIR, 'pipeline.log');
  const started = performance.now();
  try {
    const stack = await LocalStack.open(local, {
      port,
      watchIntervalMs: 500,
      log: (entry) =>
        fs.appendFileSync(logPath, `${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`),
    });
    try {
      process.stderr.write(
        `start: dashboard ${stack.http.url}/api/dashboard · status ${stack.http.url}/api/status · ` +
          `gold ${stack.http.url}/api/gold · ` +
          `publish POST ${stack.http.url}/api/orders · log ${logPath}\n`,
      );
      await simulateCommand(simulateArgs, local, signal, {
        events: 20_000,
        rate: runOnce ? Infinity : 500,
        emulator: stack.emulator,
        store: stack.pipeline.captureStore,
      });
      if (!runOnce && !signal.aborted) {
        process.stderr.write(
          'start: replay done; the loop keeps running. Ctrl+C stops it (nothing is lost).\n',
        );
        await once(signal, 'abort');
      }
      process.stderr.write('start: flushing Capture windows and processing every file…\n');
      await stack.flush();
      const files = await stack.processed();
      const results = [...stack.pipeline.batchResults.values()];
      const summary = {
        files: files.length,
        succeeded: files.filter((f) => f.state === 'succeeded').length,
        skipped: files.filter((f) => f.state === 'skipped').length,
        deadLettered: files.filter((f) => f.state === 'deadLettered').length,
        runs: results.length,
        loaded: results.reduce((n, r) => n + r.loaded, 0),
        checked: results.reduce((n, r) => n + r.checked, 0),
        seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
      };
      const gold = await goldSummary(stack.pipeline.lakehouse!);
      if (simulateArgs.includes('--json')) {
        process.stdout.write(`${JSON.stringify(summary)}\n${JSON.stringify(gold)}\n`);
      } else {
        process.stdout.write(
          `Pipeline: ${summary.files} files (${summary.succeeded} succeeded, ${summary.skipped} skipped, ` +
            `${summary.deadLettered} dead-lettered) in ${summary.runs} run${summary.runs === 1 ? '' : 's'}, ${summary.seconds} s\n` +
            results.map(formatBatchResult).join('') +
            formatGold(gold),
        );
      }
    } finally {
      await stack.close();
    }
  } finally {
    await azurite.stop();
  }
}
