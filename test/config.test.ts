import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, SETTINGS, loadConfig } from '../lib/config';
import { REPO_ROOT } from './support/paths';

/** Read by the Functions host itself, not by the app. */
const HOST_SETTINGS = ['FUNCTIONS_WORKER_RUNTIME'];

function sampleValues(): Record<string, string> {
  const sample = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'local.settings.sample.json'), 'utf8')) as {
    Values: Record<string, string>;
  };
  return sample.Values;
}

function problems(env: Record<string, string>, local = false): string[] {
  try {
    loadConfig(env, { local });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map((p) => p.setting);
  }
  return [];
}

describe('configuration', () => {
  it('local.settings.sample.json lists exactly the settings the app reads, with values that parse', () => {
    const values = sampleValues();
    expect(Object.keys(values).sort()).toEqual([...Object.keys(SETTINGS), ...HOST_SETTINGS].sort());
    const config = loadConfig(values);
    expect(config.CaptureStorage).toEqual({ connectionString: 'UseDevelopmentStorage=true' });
    expect(config.EVENTHUB_PARTITIONS).toBe(4);
    expect(config.CAPTURE_SKIP_EMPTY_ARCHIVES).toBe(true);
    expect(
      config.CAPTURE_PATH_FORMAT.build({
        namespace: 'n',
        eventHub: 'h',
        partitionId: '0',
        windowStart: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)),
      }),
    ).toBe('n/h/0/2026/01/02/03/04/05.avro');
  });

  it('fails at start naming every missing connection, outside the local stack', () => {
    expect(problems({})).toEqual([
      'AzureWebJobsStorage or AzureWebJobsStorage__blobServiceUri',
      'CaptureStorage or CaptureStorage__blobServiceUri',
      'DATABRICKS_HOST',
      'DATABRICKS_JOB_ID',
    ]);
    const error = (() => {
      try {
        loadConfig({});
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error?.message).toMatch(
      /CaptureStorage or CaptureStorage__blobServiceUri is not set: Storage account/,
    );
  });

  it('fills connections with local Azurite for the local stack', () => {
    expect(problems({}, true)).toEqual([]);
  });

  it('prefers the local stack’s faster timings locally, and leaves the PAT unset unless given', () => {
    const local = loadConfig({}, { local: true });
    expect(local.DATABRICKS_HOST).toEqual({ kind: 'embedded' });
    expect(local.BATCH_WAIT_SECONDS).toBe(5);
    expect(local.DATABRICKS_TOKEN).toBeUndefined();
    const azure = loadConfig({
      ...sampleValues(),
      BATCH_WAIT_SECONDS: undefined,
      DATABRICKS_TOKEN: undefined,
    });
    expect(azure.BATCH_WAIT_SECONDS).toBe(300);
    expect(azure.DATABRICKS_TOKEN).toBeUndefined();
    expect(azure.DATABRICKS_HOST).toEqual({ kind: 'url', url: 'http://127.0.0.1:8090' });
    for (const loopback of ['http://localhost:8090', 'http://[::1]:8090']) {
      expect(loadConfig({ ...sampleValues(), DATABRICKS_HOST: loopback }).DATABRICKS_HOST).toEqual({
        kind: 'url',
        url: loopback,
      });
    }
    expect(
      loadConfig({ ...sampleValues(), DATABRICKS_HOST: 'adb-1.2.azuredatabricks.net' }).DATABRICKS_HOST,
    ).toEqual({
      kind: 'url',
      url: 'https://adb-1.2.azuredatabricks.net',
    });
  });

  it('accepts identity-based connections as service URIs', () => {
    const config = loadConfig({
      AzureWebJobsStorage__blobServiceUri: 'https://host.blob.core.windows.net',
      CaptureStorage__blobServiceUri: 'https://capture.blob.core.windows.net/',
      DATABRICKS_HOST: 'https://adb-1.2.azuredatabricks.net',
      DATABRICKS_JOB_ID: '42',
    });
    expect(config.CaptureStorage).toEqual({ serviceUri: 'https://capture.blob.core.windows.net' });
  });

  it.each([
    ['EVENTHUB_PARTITIONS', '0', /EVENTHUB_PARTITIONS must be from 1 to 1024, not 0/],
    ['EVENTHUB_PARTITIONS', 'four', /EVENTHUB_PARTITIONS must be a whole number/],
    ['CAPTURE_WINDOW_SECONDS', '901', /CAPTURE_WINDOW_SECONDS must be from 1 to 900/],
    ['CAPTURE_SKIP_EMPTY_ARCHIVES', 'yes', /CAPTURE_SKIP_EMPTY_ARCHIVES must be true or false/],
    ['CAPTURE_CODEC', 'snappy', /CAPTURE_CODEC must be one of null, deflate/],
    [
      'CAPTURE_PATH_FORMAT',
      '{Namespace}/{EventHub}',
      /CAPTURE_PATH_FORMAT capture path format lacks \{PartitionId\}/,
    ],
    [
      'CaptureStorage',
      'not a connection',
      /CaptureStorage must be a storage connection string or a service URI/,
    ],
    ['CAPTURE_CONTAINER', ' ', /CAPTURE_CONTAINER must be 3 to 63 lowercase letters/],
    [
      'DATABRICKS_HOST',
      'https://adb-1.azuredatabricks.net/api',
      /DATABRICKS_HOST must be a workspace URL without a path/,
    ],
    ['BATCH_MAX_FILES', '1001', /BATCH_MAX_FILES must be from 1 to 1000/],
    // A token must not travel in clear: plain http only for this machine.
    [
      'DATABRICKS_HOST',
      'http://adb-1.2.azuredatabricks.net',
      /DATABRICKS_HOST must be https: http:\/\/adb-1\.2\.azuredatabricks\.net is not HTTPS: the token would travel unencrypted/,
    ],
    ['DATABRICKS_HOST', 'http://10.0.0.5:8080', /DATABRICKS_HOST must be https/],
    // Names Azure would refuse later are refused at start, saying what is allowed.
    [
      'CAPTURE_CONTAINER',
      'My Capture',
      /CAPTURE_CONTAINER must be 3 to 63 lowercase letters, digits and single hyphens/,
    ],
    ['MANIFEST_CONTAINER', 'ma--nifests', /MANIFEST_CONTAINER must be 3 to 63 lowercase letters/],
    ['MANIFEST_CONTAINER', 'capture', /MANIFEST_CONTAINER must differ from CAPTURE_CONTAINER \("capture"\)/],
    [
      'LEDGER_TABLE',
      'capture-ledger',
      /LEDGER_TABLE must be 3 to 52 letters and digits starting with a letter/,
    ],
    ['LEDGER_TABLE', `l${'x'.repeat(52)}`, /LEDGER_TABLE must be 3 to 52/],
    ['EVENTHUB_NAMESPACE', 'ns', /EVENTHUB_NAMESPACE must be 6 to 50 letters, digits and hyphens/],
    ['EVENTHUB_NAME', 'orders/x', /EVENTHUB_NAME must be 1 to 256 letters/],
    ['COST_PRICE_PER_DBU', `1${'0'.repeat(400)}`, /COST_PRICE_PER_DBU must be at most 10\^12/],
  ])('rejects %s=%p with a message naming it', (name, value, message) => {
    expect(() => loadConfig({ ...sampleValues(), [name]: value })).toThrow(message);
  });
});
