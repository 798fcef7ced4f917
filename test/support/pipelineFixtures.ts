import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CapturePathFormat } from '../../lib/capture/capturePath';
import { AppConfig, loadConfig } from '../../lib/config';
import { LedgerFile } from '../../lib/ledger/ledger';
import { LocalJobsApi } from '../../lib/local/localJobsApi';
import { CaptureStore } from '../../lib/storage/captureStore';
import { Body, captureBytes, line } from '../lakehouse/lakehouseFixtures';
import { CLI } from './paths';

let names = 0;

/** A create of one order line (its TransactionNo spread over a few orders), at this lsn. */
export const cdcChange = (lsn: number, productNo: string, overrides = {}): Body => ({
  op: 'c',
  ts_ms: 1,
  source: { db: 'shop', table: 'order_lines', lsn },
  before: null,
  after: line({ ProductNo: productNo, TransactionNo: `T${lsn % 7}`, ...overrides }),
});

/** A local-stack configuration on the given Azurite, with its own container, table and data folder. */
export function pipelineConfig(connectionString: string, overrides: Record<string, string> = {}): AppConfig {
  const n = `${process.pid}x${names++}`;
  return loadConfig(
    {
      AzureWebJobsStorage: connectionString,
      CaptureStorage: connectionString,
      CAPTURE_CONTAINER: `capture${n}`,
      MANIFEST_CONTAINER: `manifests${n}`,
      LEDGER_TABLE: `ledger${n}`,
      LOCAL_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-')),
      BATCH_WAIT_SECONDS: '1',
      RUN_POLL_SECONDS: '1',
      RETRY_BASE_SECONDS: '1',
      RETRY_MAX_SECONDS: '2',
      ...overrides,
    },
    { local: true },
  );
}

/** Writes Capture files (named like Capture's, one second apart) into a store. */
export class CaptureWriter {
  private second = 0;

  constructor(private readonly store: CaptureStore) {}

  async write(bodies: Body[], partitionId = '0'): Promise<string> {
    const windowStart = this.nextWindow();
    return this.writeRaw(await captureBytes(bodies, windowStart), partitionId, windowStart);
  }

  async writeRaw(bytes: Buffer, partitionId = '0', windowStart = this.nextWindow()): Promise<string> {
    const filePath = new CapturePathFormat().build({
      namespace: 'ordersns',
      eventHub: 'orders',
      partitionId,
      windowStart,
    });
    const upload = await this.store.create(filePath);
    await upload.append(bytes);
    await upload.commit();
    return filePath;
  }

  nextWindow(): Date {
    return new Date(Date.UTC(2026, 10, 24, 9, 0, 0) + 1000 * this.second++);
  }
}

/** Polls until the condition holds, or fails after `timeoutMs` naming what it waited for. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  // Generous: a loaded 2-core CI machine can be several times slower than usual.
  timeoutMs = 50_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function ledgerRows(ledger: { list(): AsyncIterable<LedgerFile> }): Promise<LedgerFile[]> {
  const rows: LedgerFile[] = [];
  for await (const row of ledger.list()) rows.push(row);
  return rows.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** The environment of a `pipeline` child process on the same Azurite, container, table and folder. */
export function pipelineEnv(
  connectionString: string,
  config: AppConfig,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    AzureWebJobsStorage: connectionString,
    CaptureStorage: connectionString,
    CAPTURE_CONTAINER: config.CAPTURE_CONTAINER,
    MANIFEST_CONTAINER: config.MANIFEST_CONTAINER,
    LEDGER_TABLE: config.LEDGER_TABLE,
    LOCAL_DATA_DIR: config.LOCAL_DATA_DIR,
    RUN_POLL_SECONDS: '1',
    RETRY_BASE_SECONDS: '1',
    RETRY_MAX_SECONDS: '2',
    ...overrides,
  };
}

/** `orders-pipeline pipeline` as a user runs it (the built CLI), with its HTTP endpoints on a free port. */
export class PipelineProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private stderr = '';

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, [CLI, 'pipeline', '--port', '0', '--watch-interval', '200'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', resolve));
  }

  /**
   * A pipeline on its own container, table and data folder of this Azurite, with one-second Capture
   * windows and batch waits so a test sees files processed within seconds.
   */
  static quick(connectionString: string, overrides: Record<string, string> = {}): PipelineProcess {
    return new PipelineProcess(
      pipelineEnv(connectionString, pipelineConfig(connectionString), {
        CAPTURE_WINDOW_SECONDS: '1',
        BATCH_WAIT_SECONDS: '1',
        ...overrides,
      }),
    );
  }

  /** Its JSON log lines so far. */
  get log(): string {
    return this.stderr;
  }

  /** The URLs from its "started" line. */
  started(): Promise<{ publish: string; status: string; dashboard: string }> {
    return eventually('the started line', async () => {
      const line = this.stderr.split('\n').find((l) => l.includes('"event":"started"'));
      return line ? (JSON.parse(line) as { publish: string; status: string; dashboard: string }) : undefined;
    });
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    this.child.kill(signal);
    return this.exited;
  }
}

/** A local Jobs API whose runs do nothing: for tests of what calls it, not of the job. */
export function idleJobsApi(token: string, jobId = 1): Promise<LocalJobsApi> {
  return LocalJobsApi.start({
    token,
    job: {
      jobId,
      name: 'orders_lakehouse',
      parameters: { batch_id: '', manifest_path: '' },
      maxConcurrentRuns: 1,
    },
    runner: { taskKeys: ['bronze'], run: async () => undefined },
  });
}
