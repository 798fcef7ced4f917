import { BlobServiceClient } from '@azure/storage-blob';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import { AppConfig } from '../../lib/config';
import { JobsClient } from '../../lib/databricks/jobsClient';
import { JobRunner, JobTaskError } from '../../lib/databricks/jobRunner';
import { LocalJobsApi } from '../../lib/local/localJobsApi';
import { LakehouseJob, lakehouseJobDefinition } from '../../lib/lakehouse/lakehouseJob';
import { LocalLakehouse } from '../../lib/lakehouse/localLakehouse';
import { LedgerFile, TableLedger } from '../../lib/ledger/ledger';
import { blobCreatedEvent } from '../../lib/local/captureWatcher';
import { LocalPipeline } from '../../lib/local/localPipeline';
import { CaptureStore, captureStoreForConnection } from '../../lib/storage/captureStore';
import { useAzurite } from '../support/azurite';
import { captureBytes } from '../lakehouse/lakehouseFixtures';
import {
  CaptureWriter,
  PipelineProcess,
  cdcChange,
  eventually,
  ledgerRows,
  pipelineConfig,
  pipelineEnv,
} from '../support/pipelineFixtures';
import { errorMessage } from '../../lib/errorMessage';

jest.setTimeout(120_000);

function captureOf(config: AppConfig): CaptureStore {
  return captureStoreForConnection(config.CaptureStorage, config.CAPTURE_CONTAINER);
}

async function allFinal(ledger: TableLedger | LocalPipeline['ports']['ledger'], count: number) {
  return eventually(`${count} files finished`, async () => {
    const rows = await ledgerRows(ledger);
    return (
      rows.length === count &&
      rows.every((r) => ['succeeded', 'deadLettered', 'skipped'].includes(r.state)) &&
      rows
    );
  });
}

/** The tables a batch changes, comparable across databases (no times, no batch ids). */
async function tables(lakehouse: LocalLakehouse) {
  return {
    bronze: await lakehouse.rows(
      `SELECT file_path, sequence_number, raw_body FROM bronze_order_events ORDER BY file_path, sequence_number`,
    ),
    silver: await lakehouse.rows(
      `SELECT * EXCLUDE (_updated_at) FROM silver_order_lines ORDER BY transaction_no, product_no`,
    ),
    quarantine: await lakehouse.rows(
      `SELECT file_path, sequence_number, rule FROM quarantine_order_events ORDER BY ALL`,
    ),
    daily: await lakehouse.rows(`SELECT * FROM gold_daily_sales ORDER BY ALL`),
    customers: await lakehouse.rows(`SELECT * FROM gold_customer_sales ORDER BY ALL`),
  };
}

describe('local pipeline on Azurite + local Jobs API + DuckDB', () => {
  const azurite = useAzurite();

  it('processes N files exactly once, with every stage in the ledger', async () => {
    const config = pipelineConfig(azurite().connectionString);
    const pipeline = await LocalPipeline.open({ config, log: () => undefined, watchIntervalMs: 200 });
    try {
      const writer = new CaptureWriter(captureOf(config));
      const paths: string[] = [];
      for (let i = 0; i < 12; i++) {
        paths.push(
          await writer.write([cdcChange(2 * i + 1, `P${i}`), cdcChange(2 * i + 2, `Q${i}`)], String(i % 4)),
        );
      }
      const rows = await allFinal(pipeline.ports.ledger, 12);
      expect(rows.map((r) => r.path)).toEqual([...paths].sort());
      for (const row of rows) {
        expect(row).toMatchObject({ state: 'succeeded', records: 2, attempts: 1, batchAttempt: 1 });
        const stages = [
          row.capturedAt,
          row.triggeredAt,
          row.batchedAt,
          row.submittedAt,
          row.runStartedAt,
          row.runFinishedAt,
        ];
        expect(stages.every((t) => typeof t === 'string' && !Number.isNaN(Date.parse(t!)))).toBe(true);
        // Each stage at or after the one before it.
        const times = stages.map((t) => Date.parse(t!));
        expect(times).toEqual([...times].sort((a, b) => a - b));
        expect(row.url).toBe(captureOf(config).fileUrl(row.path));
      }
      const lakehouse = pipeline.lakehouse!;
      expect(
        await lakehouse.rows(
          'SELECT count(*) AS n, count(DISTINCT file_path) AS files FROM bronze_order_events',
        ),
      ).toEqual([{ n: '24', files: '12' }]);
      expect(await lakehouse.rows('SELECT count(*) AS n FROM silver_order_lines')).toEqual([{ n: '24' }]);
      // Nothing left open, and batch membership is in batch_files for every file.
      const open: LedgerFile[] = [];
      for await (const row of pipeline.ports.ledger.listOpen()) open.push(row);
      expect(open).toEqual([]);
      expect(await lakehouse.rows('SELECT count(DISTINCT file_path) AS n FROM batch_files')).toEqual([
        { n: '12' },
      ]);
    } finally {
      await pipeline.close();
    }
  });

  it('does nothing new for duplicate BlobCreated events, skips empty files and rejects foreign paths', async () => {
    const config = pipelineConfig(azurite().connectionString);
    const logs: Record<string, unknown>[] = [];
    const pipeline = await LocalPipeline.open({ config, log: (e) => logs.push(e), watchIntervalMs: 0 });
    try {
      const store = captureOf(config);
      const writer = new CaptureWriter(store);
      const file = await writer.write([cdcChange(1, 'A'), cdcChange(2, 'B')]);
      const empty = await writer.write([]);
      const event = blobCreatedEvent(store, config.CAPTURE_CONTAINER, {
        path: file,
        bytes: 1,
        createdAt: new Date(),
      });
      const outcomes = [
        await pipeline.deliver(event),
        await pipeline.deliver(event),
        await pipeline.deliver(event),
      ];
      expect(outcomes).toEqual(['recorded', 'known', 'known']);
      expect(
        await pipeline.deliver(
          blobCreatedEvent(store, config.CAPTURE_CONTAINER, { path: empty, bytes: 1, createdAt: new Date() }),
        ),
      ).toBe('skipped');
      // ADLS Gen2 fires CreateFile with length 0 first: ignored.
      const createFile = blobCreatedEvent(store, config.CAPTURE_CONTAINER, {
        path: file,
        bytes: 0,
        createdAt: new Date(),
      });
      createFile.data.api = 'CreateFile';
      expect(await pipeline.deliver(createFile)).toBe('ignored');
      const upload = await store.create('notes/readme.txt.avro');
      await upload.append(Buffer.from('hello'));
      await upload.commit();
      expect(
        await pipeline.deliver(
          blobCreatedEvent(store, config.CAPTURE_CONTAINER, {
            path: 'notes/readme.txt.avro',
            bytes: 5,
            createdAt: new Date(),
          }),
        ),
      ).toBe('rejected');
      await eventually(
        'the file succeeded',
        async () => (await pipeline.ports.ledger.get(file))?.state === 'succeeded',
      );
      // A full rescan (as after a restart) delivers every file again: all known.
      await pipeline.watcher.scan();
      // Then a new file. The orchestration takes signals in order, so once the new file's run has
      // succeeded, any run the rescan had caused would have been submitted before or with it.
      const later = await writer.write([cdcChange(3, 'C')]);
      expect(
        await pipeline.deliver(
          blobCreatedEvent(store, config.CAPTURE_CONTAINER, { path: later, bytes: 1, createdAt: new Date() }),
        ),
      ).toBe('recorded');
      const laterRow = await eventually('the later file succeeded', async () => {
        const row = await pipeline.ports.ledger.get(later);
        return row?.state === 'succeeded' && row;
      });
      // Two runs: the first file's, and the later file's alone; the rescan added none.
      const runs = logs.filter((e) => e.event === 'runSubmitted');
      expect(runs).toHaveLength(2);
      expect(runs[0]).toMatchObject({ batchId: (await pipeline.ports.ledger.get(file))!.batchId, files: 1 });
      expect(runs[1]).toMatchObject({ batchId: laterRow.batchId, files: 1 });
      expect(await pipeline.ports.ledger.get(file)).toMatchObject({ state: 'succeeded', attempts: 1 });
      // Nothing put back into the open set either (a later ledger sweep would find it).
      const open: LedgerFile[] = [];
      for await (const row of pipeline.ports.ledger.listOpen()) open.push(row);
      expect(open).toEqual([]);
      expect(await pipeline.ports.ledger.get(empty)).toMatchObject({ state: 'skipped', records: 0 });
      expect(await pipeline.ports.ledger.get('notes/readme.txt.avro')).toMatchObject({
        state: 'rejected',
        error: expect.stringMatching(/not a Capture path/),
      });
      expect(
        await pipeline.lakehouse!.rows(
          'SELECT file_path, count(*) AS n FROM bronze_order_events GROUP BY file_path ORDER BY file_path',
        ),
      ).toEqual([
        { file_path: store.fileUrl(file), n: '2' },
        { file_path: store.fileUrl(later), n: '1' },
      ]);
    } finally {
      await pipeline.close();
    }
  });

  it('rides out 429 and 500 answers from the Jobs API, launching one run with one token', async () => {
    const { api, lakehouse, close: closeApi } = await startJobsApi(azurite().connectionString);
    let runNowCalls = 0;
    let getCalls = 0;
    const proxy = await startProxy(api.url, (req) => {
      if (req.url?.startsWith('/api/2.2/jobs/run-now')) {
        runNowCalls++;
        if (runNowCalls === 1)
          return {
            status: 429,
            headers: { 'retry-after': '1' },
            body: { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'Too many requests' },
          };
        if (runNowCalls === 2)
          return { status: 500, body: { error_code: 'INTERNAL_ERROR', message: 'boom' } };
        // The third call reaches the API but its answer is lost: the retry must find the same run.
        if (runNowCalls === 3) return 'forward-then-fail';
      }
      if (req.url?.startsWith('/api/2.2/jobs/runs/get') && ++getCalls === 1) {
        return { status: 503, body: { error_code: 'TEMPORARILY_UNAVAILABLE', message: 'try later' } };
      }
      return undefined;
    });
    const config = pipelineConfig(azurite().connectionString, {
      DATABRICKS_HOST: proxy.url,
      DATABRICKS_TOKEN: TOKEN,
    });
    const pipeline = await LocalPipeline.open({ config, log: () => undefined, watchIntervalMs: 200 });
    try {
      const writer = new CaptureWriter(captureOf(config));
      for (let i = 0; i < 3; i++) await writer.write([cdcChange(i + 1, `P${i}`)]);
      const rows = await allFinal(pipeline.ports.ledger, 3);
      expect(rows.map((r) => [r.state, r.attempts])).toEqual([
        ['succeeded', 1],
        ['succeeded', 1],
        ['succeeded', 1],
      ]);
      expect(runNowCalls).toBe(4);
      const runs = [];
      for await (const run of new JobsClient(api.url, { auth: { token: TOKEN } }).listRuns()) runs.push(run);
      expect(runs).toHaveLength(1);
      expect(await lakehouse.rows('SELECT count(*) AS n FROM bronze_order_events')).toEqual([{ n: '3' }]);
    } finally {
      await pipeline.close();
      await proxy.close();
      await closeApi();
    }
  });

  it('retries a run that fails once, with a new attempt', async () => {
    let failures = 1;
    const {
      api,
      lakehouse,
      close: closeApi,
    } = await startJobsApi(azurite().connectionString, (inner) => ({
      taskKeys: inner.taskKeys,
      run: async (parameters, options) => {
        if (failures-- > 0) throw new JobTaskError('silver', 'injected failure');
        return inner.run(parameters, options);
      },
    }));
    const config = pipelineConfig(azurite().connectionString, {
      DATABRICKS_HOST: api.url,
      DATABRICKS_TOKEN: TOKEN,
    });
    const pipeline = await LocalPipeline.open({ config, log: () => undefined, watchIntervalMs: 200 });
    try {
      const writer = new CaptureWriter(captureOf(config));
      await writer.write([cdcChange(1, 'A')]);
      await writer.write([cdcChange(2, 'B')]);
      const rows = await allFinal(pipeline.ports.ledger, 2);
      expect(rows.map((r) => [r.state, r.attempts, r.batchAttempt])).toEqual([
        ['succeeded', 2, 2],
        ['succeeded', 2, 2],
      ]);
      const runs = [];
      for await (const run of new JobsClient(api.url, { auth: { token: TOKEN } }).listRuns()) runs.push(run);
      expect(runs.map((r) => r.state.result_state)).toEqual(['SUCCESS', 'FAILED']);
      expect(await lakehouse.rows('SELECT count(*) AS n FROM silver_order_lines')).toEqual([{ n: '2' }]);
    } finally {
      await pipeline.close();
      await closeApi();
    }
  });

  it('isolates a corrupt file and dead-letters it while the rest of its batch lands in gold', async () => {
    const config = pipelineConfig(azurite().connectionString, {
      RUN_MAX_ATTEMPTS: '2',
      BATCH_WAIT_SECONDS: '2',
    });
    const pipeline = await LocalPipeline.open({ config, log: () => undefined, watchIntervalMs: 100 });
    try {
      const writer = new CaptureWriter(captureOf(config));
      const good: string[] = [];
      for (let i = 0; i < 4; i++) good.push(await writer.write([cdcChange(10 + i, `G${i}`)], String(i)));
      // Structure intact (the trigger accepts it), compressed data damaged (the run fails on it).
      const bytes = await captureBytes([cdcChange(20, 'X'), cdcChange(21, 'Y')]);
      const damaged = Buffer.from(bytes);
      for (let i = bytes.length - 40; i < bytes.length - 20; i++) damaged[i] ^= 0x5a;
      const bad = await writer.writeRaw(damaged, '5');
      // Truncated: the trigger itself dead-letters it, no run is spent.
      const truncated = await writer.writeRaw(bytes.subarray(0, bytes.length - 10), '6');
      const rows = await allFinal(pipeline.ports.ledger, 6);
      const byPath = new Map(rows.map((r) => [r.path, r]));
      for (const p of good) expect(byPath.get(p)!.state).toBe('succeeded');
      expect(byPath.get(bad)).toMatchObject({
        state: 'deadLettered',
        error: expect.stringMatching(/Task bronze failed with message: .*corrupt Capture file at byte \d+/),
      });
      expect(byPath.get(truncated)).toMatchObject({
        state: 'deadLettered',
        attempts: 0,
        error: expect.stringMatching(/truncated Capture file/),
      });
      const lakehouse = pipeline.lakehouse!;
      expect(await lakehouse.rows('SELECT DISTINCT product_no FROM silver_order_lines ORDER BY 1')).toEqual(
        ['G0', 'G1', 'G2', 'G3'].map((p) => ({ product_no: p })),
      );
      expect(await lakehouse.rows('SELECT sum(order_lines) AS n FROM gold_daily_sales')).toEqual([
        { n: '4' },
      ]);
    } finally {
      await pipeline.close();
    }
  });
});

describe('local pipeline killed mid-run and restarted', () => {
  const azurite = useAzurite();

  it('finishes the work without loading anything twice (tables equal a clean run)', async () => {
    const overrides = { BATCH_WAIT_SECONDS: '1', BATCH_MAX_FILES: '4' };
    const config = pipelineConfig(azurite().connectionString, overrides);
    const writer = new CaptureWriter(captureOf(config));
    const paths: string[] = [];
    for (let i = 0; i < 12; i++) {
      const bodies = Array.from({ length: 3000 }, (_, j) =>
        cdcChange(i * 3000 + j + 1, `P${(i * 3000 + j) % 500}`),
      );
      paths.push(await writer.write(bodies, String(i % 4)));
    }
    const ledger = await TableLedger.open(
      config.AzureWebJobsStorage,
      config.LEDGER_TABLE,
      config.CAPTURE_PATH_FORMAT,
    );
    const env = pipelineEnv(azurite().connectionString, config, overrides);

    let child = new PipelineProcess(env);
    await eventually(
      'a submitted batch',
      async () => (await ledgerRows(ledger)).some((r) => r.state === 'submitted' || r.state === 'batched'),
      60_000,
    );
    await child.stop('SIGKILL');
    const atKill = await ledgerRows(ledger);
    expect(atKill.some((r) => r.state !== 'succeeded')).toBe(true);

    child = new PipelineProcess(env);
    try {
      await allFinal(ledger, 12);
    } catch (error) {
      throw new Error(`${errorMessage(error)}; the pipeline's log:\n${child.log.slice(-3000)}`);
    } finally {
      await child.stop();
    }
    const rows = await ledgerRows(ledger);
    expect(rows.every((r) => r.state === 'succeeded')).toBe(true);

    // A clean run of the same files, in one batch straight through the job.
    const clean = await LocalLakehouse.open(':memory:');
    const killed = await LocalLakehouse.open(path.join(config.LOCAL_DATA_DIR, 'lakehouse.duckdb'));
    try {
      await clean.ingest(paths.map((p) => ({ store: captureOf(config), path: p })));
      const expected = await tables(clean);
      expect(expected.bronze).toHaveLength(36_000);
      expect(await tables(killed)).toEqual(expected);
    } finally {
      await clean.close();
      await killed.close();
    }
  });
});

const TOKEN = 'dapi-pipeline-test';

/** A Jobs API of its own, started before the pipeline's config: it may read its Azurite account. */
async function startJobsApi(
  connectionString: string,
  wrap: (inner: JobRunner) => JobRunner = (inner) => inner,
) {
  const lakehouse = await LocalLakehouse.open(':memory:');
  const account = BlobServiceClient.fromConnectionString(connectionString).url;
  const api = await LocalJobsApi.start({
    token: TOKEN,
    job: lakehouseJobDefinition(1),
    runner: wrap(new LakehouseJob(lakehouse, { capture: account, manifests: account })),
  });
  return {
    api,
    lakehouse,
    close: async () => {
      await api.close();
      await lakehouse.close();
    },
  };
}

type Fault =
  { status: number; headers?: Record<string, string>; body: unknown } | 'forward-then-fail' | undefined;

/** An HTTP proxy in front of the Jobs API that answers some requests with faults. */
async function startProxy(target: string, fault: (req: http.IncomingMessage) => Fault) {
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const planned = fault(req);
    if (planned && planned !== 'forward-then-fail') {
      res.writeHead(planned.status, { 'content-type': 'application/json', ...planned.headers });
      res.end(JSON.stringify(planned.body));
      return;
    }
    const response = await fetch(`${target}${req.url}`, {
      method: req.method,
      headers: { authorization: req.headers.authorization ?? '', 'content-type': 'application/json' },
      body: req.method === 'POST' ? Buffer.concat(chunks) : undefined,
    });
    const text = await response.text();
    if (planned === 'forward-then-fail') {
      res.writeHead(504, { 'content-type': 'text/html' });
      res.end('<html>Gateway Timeout</html>');
      return;
    }
    res.writeHead(response.status, { 'content-type': 'application/json' });
    res.end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
