#!/usr/bin/env node
import { ConfigError, loadConfig } from '../config';
import { AZURITE_HELP, azuriteCommand } from './azuriteCommand';
import { UsageError } from './args';
import {
  EXPORT_HELP,
  GOLD_HELP,
  INGEST_HELP,
  QUERY_HELP,
  exportCommand,
  goldCommand,
  ingestCommand,
  queryCommand,
} from './lakehouseCommands';
import {
  JOBS_API_HELP,
  PIPELINE_HELP,
  PROCESS_HELP,
  jobsApiCommand,
  pipelineCommand,
  processCommand,
} from './pipelineCommands';
import { SIMULATE_HELP, simulateCommand } from './simulateCommand';
import { COST_HELP, costCommand } from './costCommand';
import { POWERBI_HELP, powerBiCommand } from './powerBiCommand';
import { PACKAGE_HELP, packageCommand } from './packageCommand';
import { SMOKE_HELP, smokeCommand } from './smokeCommand';
import { START_HELP, startCommand } from './startCommand';
import { LEDGER_MIGRATE_HELP, ledgerMigrateCommand } from './ledgerCommand';
import { errorMessage } from '../errorMessage';

const COMMANDS = {
  start: {
    help: START_HELP,
    run: startCommand,
    summary: 'run the local loop on the embedded defaults (npm start)',
  },
  simulate: {
    help: SIMULATE_HELP,
    run: simulateCommand,
    summary: 'replay orders as CDC events into Capture files (local Event Hubs + Capture emulator)',
  },
  ingest: {
    help: INGEST_HELP,
    run: ingestCommand,
    summary: 'run Capture files through bronze, silver and gold on the local lakehouse (DuckDB)',
  },
  export: {
    help: EXPORT_HELP,
    run: exportCommand,
    summary: 'write a lakehouse table to stdout (jsonl or csv)',
  },
  query: { help: QUERY_HELP, run: queryCommand, summary: 'run SQL on the local lakehouse' },
  gold: {
    help: GOLD_HELP,
    run: goldCommand,
    summary: 'read the gold KPIs now (local DuckDB, or the SQL warehouse)',
  },
  pipeline: {
    help: PIPELINE_HELP,
    run: pipelineCommand,
    summary: 'run the event-driven loop (trigger, orchestration, local Jobs API) until Ctrl+C',
  },
  process: {
    help: PROCESS_HELP,
    run: processCommand,
    summary: 'backfill or reprocess Capture files through the same workflow',
  },
  cost: {
    help: COST_HELP,
    run: costCommand,
    summary:
      'recommend the cheapest Capture window, size and batch wait for a freshness target, next to continuous mode',
  },
  package: {
    help: PACKAGE_HELP,
    run: packageCommand,
    summary: "write the Functions app's deployment zip (dist/app.zip)",
  },
  smoke: {
    help: SMOKE_HELP,
    run: smokeCommand,
    summary: 'check a deployment end to end through its API (publish, process, read gold)',
  },
  powerbi: {
    help: POWERBI_HELP,
    run: powerBiCommand,
    summary: 'write the Power BI connection file (.pbids) from the deployment outputs',
  },
  'jobs-api': {
    help: JOBS_API_HELP,
    run: jobsApiCommand,
    summary: 'run the local Jobs API (Databricks Jobs 2.2 on DuckDB) in the foreground',
  },
  'ledger-migrate': {
    help: LEDGER_MIGRATE_HELP,
    run: ledgerMigrateCommand,
    summary: 'move a ledger written before hashed row keys to them (once, app stopped)',
  },
  azurite: {
    help: AZURITE_HELP,
    run: azuriteCommand,
    summary: 'run Azurite in the foreground for the local stack',
  },
} as const;

const USAGE = `orders-pipeline <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(10)} ${command.summary}`)
  .join('\n')}

Run orders-pipeline <command> --help for a command's options. Settings come from the
environment (see local.settings.sample.json); unset connection settings point at local Azurite.
`;

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name as keyof typeof COMMANDS];
  if (!command) {
    process.stderr.write(`orders-pipeline: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(command.help);
    return 0;
  }
  const config = loadConfig(process.env, { local: true });
  const controller = new AbortController();
  const stop = (): void => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('\nStopping: flushing what was published (Ctrl+C again to quit at once)…\n');
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await command.run(args, config, controller.signal);
  return 0;
}

// A reader that stops early (`| head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`orders-pipeline: ${error.message}\n`);
      process.exitCode = 2;
    } else if (error instanceof ConfigError) {
      process.stderr.write(`orders-pipeline: ${error.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`orders-pipeline: ${errorMessage(error)}\n`);
      process.exitCode = 1;
    }
  },
);
