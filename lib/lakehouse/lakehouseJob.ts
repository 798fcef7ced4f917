import { JobRunner, JobTaskError, LocalJobDefinition } from '../databricks/jobRunner';
import { parseManifest } from './manifest';
import { locateStoredFile, readStoredFile } from '../storage/captureStore';
import { BatchError, BatchResult, LocalLakehouse } from './localLakehouse';
import { errorMessage } from '../errorMessage';

/** The tasks of `orders_lakehouse` in infra/databricks/databricks.yml, in order. */
export const LAKEHOUSE_JOB_TASKS = ['bronze', 'silver', 'gold'] as const;

/**
 * The Databricks job's tasks on the local engine: reads the manifest like bronze.py, then runs the
 * tasks bronze, silver and gold in order, each its own commit as on Delta; a failure names its task,
 * and the tasks before it stay committed (each is safe to run again).
 */
export class LakehouseJob implements JobRunner {
  readonly taskKeys = LAKEHOUSE_JOB_TASKS;
  /** The last batch result of each run, for logs and tests. */
  readonly results = new Map<number, BatchResult>();

  /**
   * `locations`: the container URLs the job may read — the manifest container for manifest_path,
   * the capture container for the files a manifest lists — as the workspace's Unity Catalog
   * external locations confine the real job. Anything else is refused before it is opened.
   */
  constructor(
    private readonly lakehouse: LocalLakehouse,
    private readonly locations: { capture: string; manifests: string },
  ) {}

  async run(
    parameters: Record<string, string>,
    options: { runId: number; signal: AbortSignal },
  ): Promise<void> {
    const batchId = parameters.batch_id ?? '';
    const manifestPath = parameters.manifest_path ?? '';
    if (batchId === '' || manifestPath === '') {
      throw new JobTaskError('bronze', 'job parameters batch_id and manifest_path must both be set');
    }
    let files;
    try {
      confine(manifestPath, this.locations.manifests, 'manifest_path');
      const manifest = parseManifest(
        (await readStoredFile(manifestPath, { signal: options.signal })).toString('utf8'),
        manifestPath,
      );
      if (manifest.batch_id !== batchId) {
        throw new Error(`manifest ${manifestPath} is for batch ${manifest.batch_id}, not ${batchId}`);
      }
      files = manifest.files.map((file) => {
        confine(file.url, this.locations.capture, 'a file of the manifest');
        return locateStoredFile(file.url);
      });
    } catch (error) {
      throw new JobTaskError('bronze', errorMessage(error), { cause: error });
    }
    try {
      this.results.set(
        options.runId,
        await this.lakehouse.ingest(files, { batchId, signal: options.signal }),
      );
    } catch (error) {
      throw new JobTaskError(error instanceof BatchError ? error.step : 'bronze', errorMessage(error), {
        cause: error,
      });
    }
  }
}

/** Throws unless `url` is a blob inside the container at `container` (no other scheme, host or path). */
function confine(url: string, container: string, what: string): void {
  const base = new URL(container.endsWith('/') ? container : `${container}/`);
  // URL parsing resolves '..' and percent-encoded dots, so the comparison sees the real path; a
  // local path is no URL at all.
  const target = URL.canParse(url) ? new URL(url) : undefined;
  const inside =
    target !== undefined &&
    target.origin === base.origin &&
    target.pathname.startsWith(base.pathname) &&
    target.pathname.length > base.pathname.length &&
    target.username === '' &&
    target.search === '';
  if (!inside)
    throw new Error(`${what} is outside ${container}: the job reads only its configured locations`);
}

/** `orders_lakehouse` as the local Jobs API serves it: its parameters and one run at a time, queued. */
export function lakehouseJobDefinition(jobId: number): LocalJobDefinition {
  return {
    jobId,
    name: 'orders_lakehouse',
    parameters: { batch_id: '', manifest_path: '' },
    maxConcurrentRuns: 1,
  };
}
