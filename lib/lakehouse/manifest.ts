import { errorMessage } from '../errorMessage';
/**
 * A batch's manifest: the exact files one run loads, written before run-now and passed to the job as
 * `manifest_path` (docs/architecture.md; read by infra/databricks/python/bronze.py and, locally,
 * by the lakehouse job).
 */
export interface BatchManifest {
  batch_id: string;
  files: ManifestFile[];
}

export interface ManifestFile {
  /** The file as the engine names it: `abfss://…` for Databricks, the blob URL locally. */
  url: string;
  bytes: number;
  records: number;
}

export class ManifestError extends Error {
  constructor(
    readonly manifestPath: string,
    message: string,
  ) {
    super(`manifest ${manifestPath}: ${message}`);
    this.name = 'ManifestError';
  }
}

/** The manifest blob of a batch, in the manifest container. */
export function manifestBlobName(batchId: string): string {
  return `batches/${batchId}.json`;
}

export function parseManifest(text: string, manifestPath: string): BatchManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ManifestError(manifestPath, `is not JSON (${errorMessage(error)})`);
  }
  const manifest = value as Partial<BatchManifest>;
  if (typeof manifest !== 'object' || manifest === null || typeof manifest.batch_id !== 'string') {
    throw new ManifestError(manifestPath, 'has no batch_id');
  }
  if (!Array.isArray(manifest.files)) throw new ManifestError(manifestPath, 'has no files list');
  manifest.files.forEach((file, i) => {
    if (typeof file?.url !== 'string' || file.url === '') {
      throw new ManifestError(manifestPath, `file ${i} has no url`);
    }
    if (!Number.isSafeInteger(file.bytes) || !Number.isSafeInteger(file.records)) {
      throw new ManifestError(manifestPath, `file ${i} (${file.url}) lacks whole bytes and records`);
    }
  });
  return manifest as BatchManifest;
}

/**
 * The URL Spark reports as `_metadata.file_path` for a blob: `abfss://container@account.dfs…/path`
 * for Azure Storage; any other URL (Azurite, a local path) is the engine's own name already.
 */
export function toLakehouseUrl(blobUrl: string): string {
  const url = new URL(blobUrl);
  const match =
    /^([a-z0-9]+)\.blob\.(core\.windows\.net|core\.chinacloudapi\.cn|core\.usgovcloudapi\.net)$/.exec(
      url.hostname,
    );
  if (!match) return blobUrl;
  const [container, ...rest] = url.pathname.slice(1).split('/');
  const blobPath = rest.map(decodeURIComponent).join('/');
  return `abfss://${decodeURIComponent(container)}@${match[1]}.dfs.${match[2]}/${blobPath}`;
}
