import { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readCaptureRecords } from '../../lib/capture/captureFileReader';
import { validateCdcBody } from '../../lib/cdc/validate';
import { ReplaySummary } from '../../lib/orders/replay';
import { CaptureStore, openCaptureStore } from '../../lib/storage/captureStore';
import { parseLocation } from '../../lib/storage/location';
import { useAzurite } from '../support/azurite';
import { CAPTURE_FIXTURES } from '../support/fixtures';
import { CliRun, runCli } from '../support/cli';

// The CLI as users run it: the build that `npm install` / `npm test` makes.

function run(
  args: string[],
  env: Record<string, string> = {},
  onStart?: (child: ChildProcess) => void,
): Promise<CliRun> {
  return runCli(args, { ...process.env, ...env }, onStart);
}

async function capturedBodies(store: CaptureStore): Promise<{ files: number; bodies: Buffer[] }> {
  let files = 0;
  const bodies: Buffer[] = [];
  for await (const file of store.list()) {
    files++;
    for await (const record of readCaptureRecords(store.read(file.path), { file: file.path }))
      bodies.push(record.Body!);
  }
  return { files, bodies };
}

const tempDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'orders-cli-'));

describe('orders-pipeline CLI', () => {
  it('lists its commands', async () => {
    const result = await run(['--help']);
    expect(result.code).toBe(0);
    for (const command of ['start', 'simulate', 'azurite']) expect(result.stdout).toContain(`  ${command} `);
    const simulateHelp = await run(['simulate', '--help']);
    for (const flag of ['--events', '--rate', '--partitions', '--window', '--out']) {
      expect(simulateHelp.stdout).toContain(flag);
    }
  });

  it('answers a wrong command or flag with exit code 2 and a message', async () => {
    expect(await run(['replay'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown command "replay"'),
    });
    expect(await run(['simulate', '--events', 'many'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--events must be a number'),
    });
    expect(await run(['simulate', '--bogus'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--bogus'),
    });
  });

  it('fails with exit code 1 naming a malformed setting', async () => {
    const result = await run(['simulate'], { EVENTHUB_PARTITIONS: 'lots' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('EVENTHUB_PARTITIONS must be a whole number');
  });

  it('simulate writes Capture files to a folder holding every event, and prints a summary', async () => {
    const dir = tempDir();
    const result = await run([
      'simulate',
      '--events',
      '3000',
      '--partitions',
      '3',
      '--out',
      `dir:${dir}`,
      '--json',
    ]);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as ReplaySummary;
    expect(summary).toMatchObject({ events: 3000, interrupted: false });
    const { files, bodies } = await capturedBodies(openCaptureStore(parseLocation(`dir:${dir}`)));
    expect(files).toBe(summary.files);
    expect(fs.readdirSync(path.join(dir, 'ordersns', 'orders')).sort()).toEqual(['0', '1', '2']);
    expect(bodies).toHaveLength(3000);
    expect(bodies.every((body) => validateCdcBody(body).ok)).toBe(true);
    expect(result.stderr).toContain('simulate: 100% 3000/3000');
  });

  describe('on Azurite', () => {
    const azurite = useAzurite();

    it('simulate writes to a container URL', async () => {
      const url = `${azurite().blobEndpoint}/landing/raw`;
      const result = await run(['simulate', '--events', '2000', '--out', url, '--codec', 'null', '--json']);
      expect(result.code).toBe(0);
      const { bodies } = await capturedBodies(openCaptureStore(parseLocation(url)));
      expect(bodies).toHaveLength(2000);
    });

    it('ingest reads Capture files straight from a container URL', async () => {
      const url = `${azurite().blobEndpoint}/ingest-me`;
      expect((await run(['simulate', '--events', '1200', '--out', url, '--json'])).code).toBe(0);
      const db = path.join(tempDir(), 'lakehouse.duckdb');
      const result = await run(['ingest', url, '--db', db, '--json']);
      expect(result.code).toBe(0);
      const batch = JSON.parse(result.stdout) as { loaded: number; files: { file: string }[] };
      expect(batch.loaded).toBe(1200);
      expect(batch.files[0].file).toMatch(new RegExp(`^${url}/ordersns/orders/\\d+/`));
    });

    it('Ctrl+C stops a replay early and flushes everything published', async () => {
      const url = `${azurite().blobEndpoint}/interrupted`;
      const result = await run(
        ['simulate', '--events', '100000', '--rate', '2000', '--out', url, '--json'],
        {},
        (child) => {
          // Ctrl+C once, as soon as the replay has published events: its first progress line counts them.
          let stderr = '';
          let interrupted = false;
          child.stderr!.on('data', (chunk: Buffer) => {
            stderr += chunk.toString();
            if (!interrupted && /^simulate: \d+% [1-9]\d*\/100000 /m.test(stderr)) {
              interrupted = true;
              child.kill('SIGINT');
            }
          });
        },
      );
      expect(result.code).toBe(0);
      const summary = JSON.parse(result.stdout) as ReplaySummary;
      expect(summary.interrupted).toBe(true);
      expect(summary.events).toBeGreaterThan(0);
      expect(summary.events).toBeLessThan(100000);
      const { bodies } = await capturedBodies(openCaptureStore(parseLocation(url)));
      expect(bodies).toHaveLength(summary.events);
    });
  });

  it('start brings up Azurite and the event-driven loop, replays, processes into gold and stops', async () => {
    const dataDir = tempDir();
    const result = await run(['start', '--once', '--events', '1500', '--json'], { LOCAL_DATA_DIR: dataDir });
    expect(result.stderr).toContain('start: Azurite on 127.0.0.1:10000-10002');
    expect(result.code).toBe(0);
    const [replay, processed, gold] = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(replay).toMatchObject({ events: 1500 });
    expect(processed).toMatchObject({ loaded: 1500, checked: 1500, deadLettered: 0 });
    expect(processed.runs).toBeGreaterThanOrEqual(1);
    expect(processed.files).toBe(processed.succeeded);
    expect(gold.orders).toBeGreaterThan(0);
    expect(fs.readdirSync(path.join(dataDir, 'azurite')).length).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(dataDir, 'lakehouse.duckdb'))).toBe(true);

    // A second start processes only its own files; those of the first are known to the ledger.
    const again = await run(
      ['start', '--once', '--events', '500', '--seed', '2', '--first-lsn', '100000', '--json'],
      {
        LOCAL_DATA_DIR: dataDir,
      },
    );
    expect(again.code).toBe(0);
    const second = JSON.parse(again.stdout.trim().split('\n')[1]) as { loaded: number; checked: number };
    expect(second).toMatchObject({ loaded: 500, checked: 500 });
  });

  it('start keeps the loop running with its HTTP endpoints until Ctrl+C, then processes everything and stops', async () => {
    const dataDir = tempDir();
    let status: { records: number } | undefined;
    const result = await run(
      ['start', '--events', '400', '--rate', '400', '--port', '0', '--json'],
      { LOCAL_DATA_DIR: dataDir, BATCH_WAIT_SECONDS: '1', CAPTURE_WINDOW_SECONDS: '1' },
      (child) => {
        let stderr = '';
        child.stderr!.on('data', async (chunk: Buffer) => {
          stderr += chunk.toString();
          const url = /status (http:\/\/\S+)/.exec(stderr)?.[1];
          if (!url || !stderr.includes('the loop keeps running') || status) return;
          // Wait for the replay to reach gold through the running loop, then press Ctrl+C.
          for (let i = 0; i < 200 && !(status && status.records === 400); i++) {
            status = (await (await fetch(url)).json()) as { records: number };
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          child.kill('SIGINT');
        });
      },
    );
    expect(result.code).toBe(0);
    expect(status?.records).toBe(400);
    const [, processed, gold] = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(processed).toMatchObject({ loaded: 400, checked: 400, deadLettered: 0 });
    expect(gold.orders).toBeGreaterThan(0);
    expect(result.stderr).toMatch(/dashboard http:\/\/127\.0\.0\.1:\d+\/api\/dashboard/);
  });

  it('ingest, export and query work on the lakehouse from the command line', async () => {
    const db = path.join(tempDir(), 'lakehouse.duckdb');
    const fixtures = CAPTURE_FIXTURES;
    const ingest = await run(['ingest', fixtures, '--db', db]);
    expect(ingest.code).toBe(0);
    expect(ingest.stdout).toMatch(/bronze: +80 records loaded from 3 files/);
    const exported = await run(['export', 'gold_daily_sales', '--db', db]);
    expect(exported.code).toBe(0);
    const rows = exported.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows.length).toBeGreaterThan(0);
    expect(Object.keys(rows[0])).toEqual([
      'order_date',
      'country',
      'orders',
      'order_lines',
      'units',
      'revenue',
      'cancelled_orders',
      'cancelled_units',
      'cancelled_revenue',
      'customers',
    ]);
    const csv = await run(['export', 'silver_order_lines', '--db', db, '--format', 'csv']);
    expect(csv.stdout.split('\r\n')[0]).toBe(
      'transaction_no,product_no,product_name,price,quantity,customer_no,country,order_date,is_cancellation,_lsn,_deleted,_updated_at',
    );
    const query = await run(['query', 'SELECT count(*) AS n FROM silver_order_lines', '--db', db]);
    expect(JSON.parse(query.stdout)).toEqual({ n: 64 });
    // Read-only, and nothing beside the lakehouse: no writes, no files read or written.
    const outside = path.join(tempDir(), 'leak.csv');
    for (const sql of [
      'DELETE FROM silver_order_lines',
      `COPY silver_order_lines TO '${outside}'`,
      `SELECT * FROM read_text('${path.join(path.dirname(db), '..', 'etc', 'passwd')}')`,
      "SELECT * FROM read_csv('/etc/passwd')",
    ]) {
      const refused = await run(['query', sql, '--db', db, '--format', 'csv']);
      expect({ sql, code: refused.code }).toEqual({ sql, code: 1 });
      expect(refused.stderr).toMatch(/read-only|external access|disabled/i);
    }
    expect(fs.existsSync(outside)).toBe(false);
    expect(
      JSON.parse((await run(['query', 'SELECT count(*) AS n FROM silver_order_lines', '--db', db])).stdout),
    ).toEqual({ n: 64 });
    const gold = await run(['gold', '--db', db]);
    expect(gold.code).toBe(0);
    expect(gold.stdout).toMatch(/^Gold: \d+ orders over \d+ days in \d+ countries/);
    expect(gold.stdout).toMatch(/last change in gold: \d{4}-\d\d-\d\d/);
    const goldJson = JSON.parse((await run(['gold', '--db', db, '--json'])).stdout) as {
      engine: string;
      byDay: unknown[];
    };
    expect(goldJson.engine).toBe('duckdb');
    expect(goldJson.byDay.length).toBeGreaterThan(0);
    expect(await run(['export', 'nope', '--db', db])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown table'),
    });
  });

  it('ingest exits 1 naming the file when a Capture file is corrupt', async () => {
    const dir = tempDir();
    const bad = path.join(dir, 'ordersns', 'orders', '0', '2026', '11', '24', '09', '16', '48.avro');
    fs.mkdirSync(path.dirname(bad), { recursive: true });
    fs.writeFileSync(bad, 'not avro at all');
    const result = await run(['ingest', dir, '--db', path.join(dir, 'db.duckdb')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `file ${bad}: corrupt Capture file at byte 0: not an Avro object container file`,
    );
  });
});
