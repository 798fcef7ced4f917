/**
 * Throughput of `orders-pipeline simulate` as users run it, to a folder and to Azurite.
 *   npm run bench:simulate -- [--events 1000000]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startAzurite } from '../lib/local/azurite';

const CLI = path.join(__dirname, '..', 'lib', 'cli', 'main.js');

function simulate(events: number, out: string): void {
  const result = spawnSync(
    process.execPath,
    [CLI, 'simulate', '--events', String(events), '--out', out, '--json'],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  if (result.status !== 0) throw new Error(`simulate exited with ${result.status}`);
  const summary = JSON.parse(result.stdout) as Record<string, number>;
  console.log(
    JSON.stringify({
      out: out.startsWith('dir:') ? 'folder' : 'azurite',
      events: summary.events,
      files: summary.files,
      fileMb: +(summary.fileBytes / 1048576).toFixed(1),
      seconds: +summary.seconds.toFixed(1),
      eventsPerSecond: Math.round(summary.eventsPerSecond),
    }),
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { events: { type: 'string' } } });
  const events = Number(values.events ?? 1_000_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-simulate-'));
  try {
    simulate(events, `dir:${dir}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const azurite = await startAzurite();
  try {
    simulate(events, `${azurite.blobEndpoint}/capture`);
  } finally {
    await azurite.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
