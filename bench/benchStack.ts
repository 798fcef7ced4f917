import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppConfig, loadConfig } from '../lib/config';
import { Azurite, startAzurite } from '../lib/local/azurite';

/** What the benches that drive the local stack share: a fresh Azurite, a temp data dir, the config. */
export interface BenchStack {
  azurite: Azurite;
  config: AppConfig;
  /** Stops Azurite and removes the data dir. */
  close(): Promise<void>;
}

export interface BenchStackOptions {
  /** Azurite keeps its data in the temp data dir instead of in memory (removed by `close`). */
  azuriteOnDisk?: boolean;
  /** With `azuriteOnDisk`: fills Azurite's data folder before Azurite starts on it. */
  beforeAzurite?: (azuriteDir: string) => Promise<void>;
}

/** `settings` override the local defaults (Storage already points at the new Azurite). */
export async function openBenchStack(
  name: string,
  settings: Record<string, string> = {},
  options: BenchStackOptions = {},
): Promise<BenchStack> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-${name}-`));
  let azurite: Azurite;
  try {
    const location = path.join(dataDir, 'azurite');
    if (options.azuriteOnDisk) {
      fs.mkdirSync(location);
      await options.beforeAzurite?.(location);
    }
    azurite = await startAzurite(options.azuriteOnDisk ? { location } : {});
  } catch (error) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const config = loadConfig(
    {
      AzureWebJobsStorage: azurite.connectionString,
      CaptureStorage: azurite.connectionString,
      LOCAL_DATA_DIR: dataDir,
      ...settings,
    },
    { local: true },
  );
  return {
    azurite,
    config,
    close: async () => {
      await azurite.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
