import { CapturePathFormat, DEFAULT_CAPTURE_PATH_FORMAT } from './capture/capturePath';
import { CAPTURE_CODECS, CaptureCodec } from './capture/schema';
import type { StorageConnection } from './storage/storageConnection';
import { insecureTokenEndpoint } from './databricks/jobsClient';
import { errorMessage } from './errorMessage';

/**
 * Every setting the app reads, parsed and validated here and nowhere else. In Azure they are app
 * settings (set by infra/), locally `local.settings.json` or the environment. A setting without a
 * default must be set; `localDefault` fills it only for the local stack (`npm start`, the CLI).
 */
interface Setting<T> {
  description: string;
  parse: (raw: string) => T;
  default?: string;
  localDefault?: string;
  /** Further names read when the setting itself is unset (identity-based connections). */
  alternatives?: string[];
  /** May stay unset: the app then reads it as undefined. */
  optional?: true;
}

class SettingError extends Error {}

const text = (spec: Omit<Setting<string>, 'parse'>): Setting<string> => ({
  ...spec,
  parse: (raw) => {
    if (raw.trim() === '') throw new SettingError('is empty');
    return raw;
  },
});

const integer = (spec: Omit<Setting<number>, 'parse'>, min: number, max: number): Setting<number> => ({
  ...spec,
  parse: (raw) => {
    if (!/^\d+$/.test(raw.trim())) throw new SettingError(`must be a whole number, not "${raw}"`);
    const value = Number(raw);
    if (value < min || value > max) throw new SettingError(`must be from ${min} to ${max}, not ${value}`);
    return value;
  },
});

const connection = (spec: Omit<Setting<StorageConnection>, 'parse'>): Setting<StorageConnection> => ({
  ...spec,
  parse: (raw) => {
    const value = raw.trim();
    if (/^https?:\/\//i.test(value)) {
      try {
        return { serviceUri: new URL(value).toString().replace(/\/$/, '') };
      } catch {
        throw new SettingError(`is not a valid URI: "${raw}"`);
      }
    }
    if (value === 'UseDevelopmentStorage=true' || /(^|;)(AccountName|BlobEndpoint)=/i.test(value)) {
      return { connectionString: value };
    }
    throw new SettingError('must be a storage connection string or a service URI');
  },
});

const decimal = (spec: Omit<Setting<number>, 'parse'>, min: number): Setting<number> => ({
  ...spec,
  parse: (raw) => {
    if (!/^\d+(\.\d+)?$/.test(raw.trim())) throw new SettingError(`must be a number, not "${raw}"`);
    const value = Number(raw);
    // Hundreds of digits parse to Infinity, which every later sum would carry.
    if (!Number.isFinite(value) || value > 1e12)
      throw new SettingError(`must be at most 10^12, not "${raw}"`);
    if (value < min) throw new SettingError(`must be at least ${min}, not ${value}`);
    return value;
  },
});

/** A resource name Azure would refuse later (at deployment or first use) is refused at start. */
const named = (spec: Omit<Setting<string>, 'parse'>, rule: RegExp, allowed: string): Setting<string> => ({
  ...spec,
  parse: (raw) => {
    if (!rule.test(raw)) throw new SettingError(`must be ${allowed}, not "${raw}"`);
    return raw;
  },
});

// Blob containers: 3–63 of a-z, 0-9 and single hyphens, starting and ending with a letter or digit.
const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;
const CONTAINER_RULE =
  '3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit';
// Tables: 3–63 letters and digits, starting with a letter; the ledger adds up to 11 characters
// (`…DeadLetters`), so its own name is at most 52.
const LEDGER_TABLE_NAME = /^[A-Za-z][A-Za-z0-9]{2,51}$/;
// Event Hubs: a namespace is 6–50 letters, digits and hyphens, from a letter to a letter or digit;
// a hub is 1–256 letters, digits, '.', '-' and '_', from a letter or digit to a letter or digit.
const NAMESPACE_NAME = /^[A-Za-z][A-Za-z0-9-]{4,48}[A-Za-z0-9]$/;
const EVENT_HUB_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,254}[A-Za-z0-9])?$/;

const flag = (spec: Omit<Setting<boolean>, 'parse'>): Setting<boolean> => ({
  ...spec,
  parse: (raw) => {
    const value = raw.trim().toLowerCase();
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    throw new SettingError(`must be true or false, not "${raw}"`);
  },
});

const oneOf = <T extends string>(spec: Omit<Setting<T>, 'parse'>, values: readonly T[]): Setting<T> => ({
  ...spec,
  parse: (raw) => {
    if (!(values as readonly string[]).includes(raw))
      throw new SettingError(`must be one of ${values.join(', ')}, not "${raw}"`);
    return raw as T;
  },
});

/** Where the Databricks job runs: a workspace (or a local Jobs API) by URL, or one the CLI embeds. */
export type DatabricksHost = { kind: 'url'; url: string } | { kind: 'embedded' };

const databricksHost = (spec: Omit<Setting<DatabricksHost>, 'parse'>): Setting<DatabricksHost> => ({
  ...spec,
  parse: (raw) => {
    const value = raw.trim();
    if (value === 'embedded') return { kind: 'embedded' };
    let url: URL;
    try {
      url = new URL(/^https?:\/\//i.test(value) ? value : `https://${value}`);
    } catch {
      throw new SettingError(`must be a workspace URL or "embedded", not "${raw}"`);
    }
    if (url.pathname !== '/' || url.search)
      throw new SettingError(`must be a workspace URL without a path, not "${raw}"`);
    const insecure = insecureTokenEndpoint(url);
    if (insecure) throw new SettingError(`must be https: ${insecure}`);
    return { kind: 'url', url: url.origin };
  },
});

export const SETTINGS = {
  AzureWebJobsStorage: connection({
    description: 'Storage of the Functions host and the Durable Functions task hub.',
    localDefault: 'UseDevelopmentStorage=true',
    alternatives: ['AzureWebJobsStorage__blobServiceUri'],
  }),
  CaptureStorage: connection({
    description:
      'Storage account Event Hubs Capture writes to (in Azure: CaptureStorage__blobServiceUri, with identity).',
    localDefault: 'UseDevelopmentStorage=true',
    alternatives: ['CaptureStorage__blobServiceUri'],
  }),
  CAPTURE_CONTAINER: named(
    { description: 'Container Capture writes its Avro files to.', default: 'capture' },
    CONTAINER_NAME,
    CONTAINER_RULE,
  ),
  CAPTURE_PATH_FORMAT: {
    description: "Capture's file name format (without .avro); every token must appear.",
    default: DEFAULT_CAPTURE_PATH_FORMAT,
    parse: (raw: string): CapturePathFormat => {
      try {
        return new CapturePathFormat(raw);
      } catch (error) {
        throw new SettingError(errorMessage(error));
      }
    },
  },
  EVENTHUB_NAMESPACE: named(
    { description: 'Event Hubs namespace name (the first path token).', default: 'ordersns' },
    NAMESPACE_NAME,
    '6 to 50 letters, digits and hyphens, starting with a letter and ending with a letter or digit',
  ),
  EVENTHUB_NAME: named(
    { description: 'Event hub carrying the order CDC events.', default: 'orders' },
    EVENT_HUB_NAME,
    "1 to 256 letters, digits, '.', '-' and '_', starting and ending with a letter or digit",
  ),
  EVENTHUB_PARTITIONS: integer(
    {
      description: 'Partitions of the event hub (the emulator’s, and those the backlog timer lists).',
      default: '4',
    },
    1,
    1024,
  ),
  CAPTURE_WINDOW_SECONDS: integer(
    {
      description: "Capture's time window, in seconds (Azure allows 60-900; the emulator 1 and up).",
      default: '60',
      localDefault: '10',
    },
    1,
    900,
  ),
  CAPTURE_SIZE_LIMIT_BYTES: integer(
    {
      description: "Capture's size window in bytes (Azure allows 10-500 MB).",
      default: String(100 * 1024 * 1024),
    },
    1024,
    524_288_000,
  ),
  CAPTURE_SKIP_EMPTY_ARCHIVES: flag({
    description: 'Whether Capture skips writing files for windows without events.',
    default: 'true',
  }),
  CAPTURE_CODEC: oneOf<CaptureCodec>(
    {
      description: 'Avro codec of the local Capture emulator (Azure Capture writes deflate).',
      default: 'deflate',
    },
    CAPTURE_CODECS,
  ),
  MANIFEST_CONTAINER: named(
    {
      description:
        'Container (on the CaptureStorage account) for batch manifests; never the capture container.',
      default: 'manifests',
    },
    CONTAINER_NAME,
    CONTAINER_RULE,
  ),
  LEDGER_TABLE: named(
    {
      description: 'Table (on AzureWebJobsStorage) holding one ledger row per Capture file.',
      default: 'captureLedger',
    },
    LEDGER_TABLE_NAME,
    '3 to 52 letters and digits starting with a letter (the ledger adds up to 11 for its other tables)',
  ),
  DATABRICKS_HOST: databricksHost({
    description:
      'Workspace URL of the Databricks job (or a local Jobs API); "embedded" lets the CLI start its own local one.',
    localDefault: 'embedded',
  }),
  DATABRICKS_JOB_ID: integer(
    { description: 'Job id of orders_lakehouse (from `databricks bundle deploy`).', localDefault: '1' },
    1,
    Number.MAX_SAFE_INTEGER,
  ),
  DATABRICKS_TOKEN: {
    ...text({
      description:
        'Personal access token, only as a fallback (a Key Vault reference); unset = Entra ID token of the managed identity.',
    }),
    optional: true,
  },
  DATABRICKS_SQL_HTTP_PATH: {
    ...text({
      description:
        'HTTP path of the SQL warehouse the dashboard reads gold from (/sql/1.0/warehouses/<id>); unset = no gold KPIs in Azure.',
    }),
    optional: true,
  },
  DATABRICKS_CATALOG: text({
    description: 'Unity Catalog catalog of the lakehouse tables (the bundle variable `catalog`).',
    default: 'main',
  }),
  DATABRICKS_SCHEMA: text({
    description: 'Schema of the lakehouse tables (the bundle variable `schema`).',
    default: 'orders',
  }),
  BATCH_WAIT_SECONDS: integer(
    {
      description: 'A batch closes this long after its first file (or at BATCH_MAX_FILES / BATCH_MAX_BYTES).',
      default: '300',
      localDefault: '5',
    },
    0,
    86_400,
  ),
  BATCH_MAX_FILES: integer(
    { description: 'Files per batch, at most (COPY INTO takes 1,000).', default: '1000' },
    1,
    1000,
  ),
  BATCH_MAX_BYTES: integer(
    {
      description: 'Bytes of Capture files per batch, at most (a larger single file runs alone).',
      default: String(10 * 1024 ** 3),
    },
    1,
    Number.MAX_SAFE_INTEGER,
  ),
  RUN_POLL_SECONDS: integer(
    { description: 'How often an active run is polled with runs/get.', default: '30', localDefault: '1' },
    1,
    3600,
  ),
  RUN_MAX_ATTEMPTS: integer(
    {
      description:
        'Failed runs of a batch before it is split in halves (and of one file before it is dead-lettered).',
      default: '3',
    },
    1,
    20,
  ),
  RETRY_BASE_SECONDS: integer(
    {
      description: 'First delay of the exponential backoff after a failed run or API call.',
      default: '15',
      localDefault: '1',
    },
    1,
    3600,
  ),
  RETRY_MAX_SECONDS: integer(
    {
      description: 'Cap of the backoff delay (a longer Retry-After is still honoured).',
      default: '900',
      localDefault: '30',
    },
    1,
    86_400,
  ),
  PLATFORM_ALERT_AFTER: integer(
    {
      description:
        'Consecutive failures that are not the batch’s fault (platform errors, cancelled or skipped runs, lost runs, 429/5xx) before the pipeline raises an alert; it keeps retrying with backoff.',
      default: '5',
    },
    1,
    1000,
  ),
  PERMANENT_ERROR_PAUSE_MINUTES: integer(
    {
      description:
        'How long submissions pause after a permanent Jobs API error (401, 403, job not found, invalid parameters) before trying again; `orders-pipeline process` tries at once.',
      default: '30',
      localDefault: '1',
    },
    1,
    1440,
  ),
  LEDGER_SWEEP_SECONDS: integer(
    {
      description: 'How often the orchestration reads pending files from the ledger even without a signal.',
      default: '300',
      localDefault: '10',
    },
    1,
    86_400,
  ),
  BACKLOG_INTERVAL_MINUTES: {
    description: 'How often the backlog timer runs, in minutes (a divisor of 60).',
    default: '5',
    localDefault: '1',
    parse: (raw: string): number => {
      const value = integer({ description: '' }, 1, 60).parse(raw);
      if (60 % value !== 0)
        throw new SettingError(`must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30), not ${value}`);
      return value;
    },
  },
  BACKLOG_GRACE_MINUTES: integer(
    {
      description:
        'A capture file the ledger has not seen this long after its window closed counts as a lost event.',
      default: '15',
      localDefault: '1',
    },
    0,
    1440,
  ),
  RETENTION_DAYS: integer(
    {
      description: 'Days the capture container keeps raw files; the timer alerts at half of it.',
      default: '7',
    },
    1,
    365,
  ),
  GOLD_CACHE_SECONDS: integer(
    {
      description:
        'The gold API answers from the SQL warehouse are reused this long, so several viewers wake it once (0 = never reuse).',
      default: '300',
    },
    0,
    86_400,
  ),
  PUBLISH_MAX_BODY_BYTES: integer(
    { description: 'Largest request the publish API takes (413 past it).', default: String(1024 * 1024) },
    1024,
    100 * 1024 * 1024,
  ),
  // The cost model's rates and prices: the README ("Which mode?") names each default's source and date.
  COST_JOB_DBU_PER_HOUR: decimal(
    {
      description:
        'Cost model: DBUs an hour of a serverless job run consumes (not published: measure it in system.billing.usage).',
      default: '4',
    },
    0,
  ),
  COST_JOB_STARTUP_SECONDS: decimal(
    {
      description:
        'Cost model: start-up of a serverless job run, seconds (billed with the run and part of freshness).',
      default: '60',
    },
    0,
  ),
  COST_PRICE_PER_DBU: decimal(
    {
      description:
        'Cost model: price of one DBU of serverless jobs compute (Azure "Premium Automated Serverless Compute"), in your currency.',
      default: '0.45',
    },
    0,
  ),
  COST_CONTINUOUS_DBU_PER_HOUR: decimal(
    {
      description:
        'Cost model: DBUs an hour of the continuous serverless (Lakeflow) pipeline consumes (measure it in system.billing.usage).',
      default: '4',
    },
    0,
  ),
  COST_CONTINUOUS_PRICE_PER_DBU: decimal(
    {
      description: 'Cost model: price of one DBU of serverless pipeline compute, in your currency.',
      default: '0.45',
    },
    0,
  ),
  COST_CONTINUOUS_TRIGGER_SECONDS: decimal(
    {
      description:
        "Cost model: the continuous pipeline's trigger interval (pipelines.trigger.interval), seconds.",
      default: '10',
    },
    0,
  ),
  COST_CONTINUOUS_LATENCY_SECONDS: decimal(
    {
      description:
        'Cost model: what the continuous pipeline takes from picking up a Capture file to gold, seconds.',
      default: '30',
    },
    0,
  ),
  COST_RUN_FIXED_SECONDS: decimal(
    {
      description:
        'Cost model: fixed execution seconds of a job run, until the ledger has measured runs to fit.',
      default: '60',
    },
    0,
  ),
  COST_RUN_SECONDS_PER_MILLION_EVENTS: decimal(
    {
      description:
        'Cost model: execution seconds per million events of a job run, until the ledger has measured runs to fit.',
      default: '30',
    },
    0,
  ),
  COST_FRESHNESS_TARGET_SECONDS: decimal(
    {
      description:
        'Cost advisor: the worst-case freshness (event to gold) the dashboard recommends the cheapest setting for, seconds.',
      default: '900',
    },
    1,
  ),
  LOCAL_DATA_DIR: text({
    description: 'Folder for the local stack’s data (Azurite, the DuckDB lakehouse).',
    default: '.local',
  }),
  LOCAL_RUN_TIMEOUT_MINUTES: integer(
    {
      description:
        'A run of the local Jobs API still running after this many minutes ends TIMEDOUT, as a workspace ends a run past the job’s timeout_seconds (the bundle’s is 3600 s).',
      default: '60',
    },
    1,
    1440,
  ),
} satisfies Record<string, Setting<unknown>>;

export type SettingName = keyof typeof SETTINGS;
export type AppConfig = {
  [K in SettingName]: (typeof SETTINGS)[K] extends { optional: true }
    ? ReturnType<(typeof SETTINGS)[K]['parse']> | undefined
    : ReturnType<(typeof SETTINGS)[K]['parse']>;
};

export class ConfigError extends Error {
  constructor(readonly problems: { setting: string; message: string }[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p.setting} ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** Fill connection settings with the local stack's defaults (Azurite) where unset. */
  local?: boolean;
}

/** Reads and validates every setting at once, reporting all problems, each by name. */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  options: LoadConfigOptions = {},
) {
  const problems: { setting: string; message: string }[] = [];
  const config: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(SETTINGS) as [string, Setting<unknown>][]) {
    const names = [name, ...(setting.alternatives ?? [])];
    const given = names.find((n) => env[n] !== undefined);
    const raw = given ? env[given] : ((options.local ? setting.localDefault : undefined) ?? setting.default);
    // An optional setting left empty (a template's blank parameter) is unset, not an error.
    if (raw === undefined || (setting.optional && raw.trim() === '')) {
      if (setting.optional) continue;
      problems.push({ setting: names.join(' or '), message: `is not set: ${setting.description}` });
      continue;
    }
    try {
      config[name] = setting.parse(raw);
    } catch (error) {
      if (!(error instanceof SettingError)) throw error;
      problems.push({ setting: given ?? name, message: error.message });
    }
  }
  // Manifests written into the capture container would start work of their own (BlobCreated).
  if (config.MANIFEST_CONTAINER !== undefined && config.MANIFEST_CONTAINER === config.CAPTURE_CONTAINER) {
    problems.push({
      setting: 'MANIFEST_CONTAINER',
      message: `must differ from CAPTURE_CONTAINER ("${String(config.CAPTURE_CONTAINER)}"): a manifest there would be taken for a Capture file`,
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config as AppConfig;
}
