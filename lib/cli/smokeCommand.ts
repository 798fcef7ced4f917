import { checkDeployment } from '../operate/deploymentCheck';
import { integerOption, parseCommandArgs, UsageError } from './args';

export const SMOKE_HELP = `orders-pipeline smoke <app-url> [--key K] [--lines N] [--timeout S] [--json]

The deployment's end-to-end check through its API: publishes N order lines (default 3), each a
create and its delete (gold's figures stay as they were; silver keeps tombstones), waits until the
ledger has recorded them and a run has succeeded, then reads gold afresh.
  <app-url>     https://<app>.azurewebsites.net, or http://127.0.0.1:7071 for npm start
  --key K       a function key (az functionapp keys list … --query functionKeys.default)
  --timeout S   give up after S seconds (default 1200: a Capture window plus the batch wait, and more)
  --json        the result as JSON on stdout
`;

export async function smokeCommand(args: string[], _config: unknown, signal: AbortSignal): Promise<void> {
  const { values, positionals } = parseCommandArgs(args, {
    key: { type: 'string' },
    lines: { type: 'string' },
    timeout: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (positionals.length !== 1) throw new UsageError('smoke takes the app URL');
  let baseUrl: URL;
  try {
    baseUrl = new URL(positionals[0]);
  } catch {
    throw new UsageError(`not a URL: "${positionals[0]}"`);
  }
  const result = await checkDeployment({
    baseUrl: baseUrl.toString(),
    key: values.key,
    lines: integerOption(values.lines, 'lines', 3, 1),
    timeoutMs: integerOption(values.timeout, 'timeout', 1200, 1) * 1000,
    progress: (message) => process.stderr.write(`smoke: ${message}\n`),
    abortSignal: signal,
  });
  process.stdout.write(
    values.json
      ? `${JSON.stringify(result)}\n`
      : `Smoke test passed: ${result.published} events recorded in ${result.seconds.recorded} s, processed in ${result.seconds.processed} s` +
          `${result.run ? ` (run ${result.run.runId})` : ''}; gold readable from the ${result.gold.engine} (last change ${result.gold.lastChange ?? 'none'})\n`,
  );
}
