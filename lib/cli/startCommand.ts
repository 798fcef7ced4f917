import path from 'node:path';
import { AppConfig } from '../config';
import { goldSummary, formatGold } from '../lakehouse/goldSummary';
import { FINAL_STATES, LedgerFile } from '../ledger/ledger';
import { assertPortFree, startAzurite } from '../local/azurite';
import { LocalPipeline } from '../pipeline/localPipeline';
import { formatBatchResult } from './lakehouseCommands';
import { simulateCommand } from './simulateCommand';

export const START_HELP = `orders-pipeline start [simulate options]

Runs the local loop on the embedded defaults: starts Azurite (data under LOCAL_DATA_DIR/azurite,
ports 10000-10002 like UseDevelopmentStorage=true) and the event-driven pipeline (a watcher
delivering BlobCreated events to the capture trigger, the ledger, the orchestration, a local Jobs
API running the job on LOCAL_DATA_DIR/lakehouse.duckdb), replays orders through the Capture
emulator into the capture container while the pipeline batches and loads the files, waits until
every file is finished, prints the runs and gold and stops. Takes the options of simulate (default
--events 20000). Ctrl+C stops the replay early; whatever was published is flushed and processed.
A second start adds to the same data.
`;

const DEV_PORTS = { blobPort: 10000, queuePort: 10001, tablePort: 10002 };

export async function startCommand(args: string[], config: AppConfig, signal: AbortSignal): Promise<void> {
  await Promise.all([
    assertPortFree(DEV_PORTS.blobPort, 'Azurite blob'),
    assertPortFree(DEV_PORTS.queuePort, 'Azurite queue'),
    assertPortFree(DEV_PORTS.tablePort, 'Azurite table'),
  ]);
  const location = path.resolve(config.LOCAL_DATA_DIR, 'azurite');
  process.stderr.write(`start: Azurite on 127.0.0.1:10000-10002, data in ${location}\n`);
  const azurite = await startAzurite({ ...DEV_PORTS, location, signal });
  const storage = { connectionString: azurite.connectionString };
  const local = { ...config, AzureWebJobsStorage: storage, CaptureStorage: storage };
  const started = performance.now();
  const pipeline = await LocalPipeline.open({ config: local, log: () => undefined, watchIntervalMs: 500 });
  try {
    await simulateCommand(args, local, signal, { events: 20_000, store: pipeline.captureStore });
    await pipeline.watcher.scan();
    const files = await waitUntilProcessed(pipeline);
    const results = [...pipeline.batchResults.values()];
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
    const gold = await goldSummary(pipeline.lakehouse!);
    if (args.includes('--json')) {
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
    await pipeline.close();
    await azurite.stop();
  }
}

/** Every file of the capture container, once the ledger has it in a final state. */
async function waitUntilProcessed(pipeline: LocalPipeline): Promise<LedgerFile[]> {
  for (;;) {
    const rows: LedgerFile[] = [];
    let unfinished = 0;
    for await (const file of pipeline.captureStore.list()) {
      const row = await pipeline.ports.ledger.get(file.path);
      if (row && FINAL_STATES.includes(row.state)) rows.push(row);
      else unfinished++;
    }
    if (unfinished === 0) return rows;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
