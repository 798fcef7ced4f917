/**
 * The event-driven loop's own latency and run count, and the Functions entry points' import time.
 *   npm run bench:orchestration -- [--files 1000] [--seconds 60] [--partitions 8] [--wait 30]
 *
 * Files are committed to Azurite at an even pace and their BlobCreated events delivered to the
 * capture trigger at once (as Event Grid pushes them); the local Jobs API records when run-now
 * arrives (a run's start_time), and the run's manifest says which files it holds.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { encodeCaptureFile } from '../lib/capture/captureFileWriter';
import { CapturePathFormat } from '../lib/capture/capturePath';
import { formatEnqueuedTimeUtc } from '../lib/capture/enqueuedTime';
import { Run } from '../lib/databricks/jobsApi';
import { blobCreatedEvent } from '../lib/local/captureWatcher';
import { LocalPipeline } from '../lib/local/localPipeline';
import { parseManifest } from '../lib/lakehouse/manifest';
import { readStoredFile } from '../lib/storage/captureStore';
import { openBenchStack } from './benchStack';

const ROOT = path.join(__dirname, '..', '..');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function latency(
  files: number,
  seconds: number,
  partitions: number,
  waitSeconds: number,
): Promise<void> {
  const bench = await openBenchStack('orchestration', { BATCH_WAIT_SECONDS: String(waitSeconds) });
  const { config } = bench;
  const pipeline = await LocalPipeline.open({ config, log: () => undefined, watchIntervalMs: 0 });
  const created = new Map<string, number>();
  try {
    const format = new CapturePathFormat();
    const start = Date.now();
    const writes: Promise<void>[] = [];
    for (let i = 0; i < files; i++) {
      const due = start + (i * seconds * 1000) / files;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
      const windowStart = new Date(Date.UTC(2026, 10, 26, 9) + Math.floor(i / partitions) * 1000);
      const filePath = format.build({
        namespace: config.EVENTHUB_NAMESPACE,
        eventHub: config.EVENTHUB_NAME,
        partitionId: String(i % partitions),
        windowStart,
      });
      const body = Buffer.from(JSON.stringify({ op: 'c', source: { lsn: i } }));
      writes.push(
        (async () => {
          const bytes = await encodeCaptureFile(
            Array.from({ length: 20 }, (_, j) => ({
              SequenceNumber: j,
              Offset: String(j),
              EnqueuedTimeUtc: formatEnqueuedTimeUtc(windowStart),
              SystemProperties: {},
              Properties: {},
              Body: body,
            })),
            { codec: 'deflate' },
          );
          const upload = await pipeline.captureStore.create(filePath);
          await upload.append(bytes);
          await upload.commit();
          created.set(pipeline.captureStore.fileUrl(filePath), Date.now());
          await pipeline.deliver(
            blobCreatedEvent(pipeline.captureStore, config.CAPTURE_CONTAINER, {
              path: filePath,
              bytes: bytes.length,
              createdAt: new Date(),
            }),
          );
        })(),
      );
    }
    await Promise.all(writes);
    const deadline = Date.now() + 10 * 60_000;
    for (;;) {
      let done = 0;
      for await (const row of pipeline.ports.ledger.list()) if (row.state === 'succeeded') done++;
      if (done === files) break;
      if (Date.now() > deadline) throw new Error(`only ${done} of ${files} files succeeded`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const runs: Run[] = [];
    for await (const run of pipeline.ports.jobs.listRuns({ jobId: config.DATABRICKS_JOB_ID })) runs.push(run);
    const latencies: number[] = [];
    for (const run of runs) {
      const manifestPath = run.job_parameters!.find((p) => p.name === 'manifest_path')!.value!;
      const manifest = parseManifest((await readStoredFile(manifestPath)).toString(), manifestPath);
      for (const file of manifest.files) latencies.push(run.start_time! - created.get(file.url)!);
    }
    latencies.sort((a, b) => a - b);
    const beyondWait = latencies.map((ms) => ms - waitSeconds * 1000);
    console.log(
      JSON.stringify({
        files,
        arrivalSeconds: seconds,
        partitions,
        batchWaitSeconds: waitSeconds,
        runs: runs.length,
        runsPer1000Files: +((runs.length * 1000) / files).toFixed(1),
        // Target: at most one run per batching wait of arrivals.
        runsAllowed: Math.ceil(seconds / Math.max(1, waitSeconds)),
        blobCreatedToRunNowMs: {
          p50: percentile(latencies, 50),
          p99: percentile(latencies, 99),
          max: latencies[latencies.length - 1],
        },
        p99BeyondBatchWaitMs: percentile(beyondWait, 99),
      }),
    );
  } finally {
    await pipeline.close();
    await bench.close();
  }
}

/** Cold import of every built functions/ entry point, each time in a fresh Node process. */
function importTime(repeats: number): void {
  const sample = JSON.parse(fs.readFileSync(path.join(ROOT, 'local.settings.sample.json'), 'utf8')).Values;
  const script = `
    const t = performance.now();
    for (const f of require('fs').readdirSync(${JSON.stringify(path.join(ROOT, 'dist', 'functions'))}))
      if (f.endsWith('.js')) require(${JSON.stringify(path.join(ROOT, 'dist', 'functions'))} + '/' + f);
    const entry = performance.now() - t;
    const u = performance.now();
    require(${JSON.stringify(path.join(ROOT, 'dist', 'lib', 'pipeline', 'pipelineConfig.js'))});
    console.log(JSON.stringify({ entry, firstInvocationModules: performance.now() - u }));`;
  const entry: number[] = [];
  const first: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const result = spawnSync(process.execPath, ['-e', script], {
      env: { ...process.env, ...sample },
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`import failed: ${result.stderr}`);
    const measured = JSON.parse(result.stdout.trim().split('\n').pop()!) as Record<string, number>;
    entry.push(measured.entry);
    first.push(measured.firstInvocationModules);
  }
  entry.sort((a, b) => a - b);
  first.sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      functionsEntryImportMs: {
        median: Math.round(percentile(entry, 50)),
        max: Math.round(entry[entry.length - 1]),
      },
      storageAndIdentityModulesOnFirstInvocationMs: Math.round(percentile(first, 50)),
      repeats,
    }),
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      files: { type: 'string' },
      seconds: { type: 'string' },
      partitions: { type: 'string' },
      wait: { type: 'string' },
    },
  });
  importTime(7);
  await latency(
    Number(values.files ?? 1000),
    Number(values.seconds ?? 60),
    Number(values.partitions ?? 8),
    Number(values.wait ?? 30),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
