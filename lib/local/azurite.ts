import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import { DEV_ACCOUNT_NAME, DevStorageEndpoints, devStorageConnectionString } from '../storage/devStorage';

export interface AzuriteOptions {
  /** Folder for Azurite's data; omit for in-memory storage (tests). */
  location?: string;
  /** Ports; 0 or omitted picks free ones. */
  blobPort?: number;
  queuePort?: number;
  tablePort?: number;
  signal?: AbortSignal;
}

export interface Azurite extends DevStorageEndpoints {
  connectionString: string;
  stop(): Promise<void>;
}

export class AzuriteStartError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AzuriteStartError';
  }
}

const HOST = '127.0.0.1';

/** Azurite is a development dependency: an install with --omit=dev (a deployment) leaves it out. */
function azuriteEntry(): string {
  try {
    return require.resolve('azurite/dist/src/azurite.js');
  } catch (error) {
    throw new AzuriteStartError(
      'Azurite is not installed: it is a development dependency, so run `npm install` (not --omit=dev) for the local stack',
      { cause: error },
    );
  }
}

/**
 * Starts Azurite (blob, queue and table) from the npm package as a child process on loopback.
 * `--skipApiVersionCheck`: Azurite lags the API version of the newest storage SDKs.
 */
export async function startAzurite(options: AzuriteOptions = {}): Promise<Azurite> {
  const [blobPort, queuePort, tablePort] = await Promise.all(
    [options.blobPort, options.queuePort, options.tablePort].map((port) => (port ? port : freePort())),
  );
  const args = [
    azuriteEntry(),
    '--blobHost',
    HOST,
    '--blobPort',
    String(blobPort), // prettier-ignore
    '--queueHost',
    HOST,
    '--queuePort',
    String(queuePort), // prettier-ignore
    '--tableHost',
    HOST,
    '--tablePort',
    String(tablePort), // prettier-ignore
    '--skipApiVersionCheck',
    '--disableTelemetry',
    '--silent',
    '--loose',
  ];
  if (options.location) {
    fs.mkdirSync(options.location, { recursive: true });
    args.push('--location', options.location);
  } else {
    args.push('--inMemoryPersistence');
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await waitForPorts(child, [blobPort, queuePort, tablePort], options.signal, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  const endpoints: DevStorageEndpoints = {
    blobEndpoint: `http://${HOST}:${blobPort}/${DEV_ACCOUNT_NAME}`,
    queueEndpoint: `http://${HOST}:${queuePort}/${DEV_ACCOUNT_NAME}`,
    tableEndpoint: `http://${HOST}:${tablePort}/${DEV_ACCOUNT_NAME}`,
  };
  return { ...endpoints, connectionString: devStorageConnectionString(endpoints), stop };
}

async function waitForPorts(
  child: ChildProcess,
  ports: number[],
  signal: AbortSignal | undefined,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (const port of ports) {
    for (;;) {
      signal?.throwIfAborted();
      if (child.exitCode !== null) {
        throw new AzuriteStartError(`Azurite exited with code ${child.exitCode}: ${output().trim()}`);
      }
      if (await canConnect(port)) break;
      if (Date.now() > deadline) {
        throw new AzuriteStartError(
          `Azurite did not listen on ${HOST}:${port} within 30 s: ${output().trim()}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, HOST);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A port free on loopback now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Fails early with a clear message when a fixed port is taken (e.g. another Azurite). */
export async function assertPortFree(port: number, what: string): Promise<void> {
  if (await canConnect(port)) {
    throw new AzuriteStartError(`${what} port ${HOST}:${port} is already in use; stop what listens there`);
  }
}
