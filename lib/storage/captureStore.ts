import fs from 'node:fs';
import path from 'node:path';
import { DefaultAzureCredential, TokenCredential } from '@azure/identity';
import {
  BlobServiceClient,
  BlockBlobClient,
  ContainerClient,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import type { StorageConnection } from './storageConnection';
import { DEV_ACCOUNT_KEY, DEV_ACCOUNT_NAME, isDevStorageUrl } from './devStorage';
import { Location, formatLocation, parseLocation, redactedUrl } from './location';
import { errorMessage } from '../errorMessage';

/** A Capture file as listed: its path relative to the location, and its size. */
export interface StoredCaptureFile {
  path: string;
  bytes: number;
  /** When the file was created (the blob's creation time; a folder file's modification time). */
  createdAt: Date;
}

/** A file being written; invisible to readers until `commit`, like a block blob's block list. */
export interface CaptureUpload {
  append(chunk: Buffer, options?: { signal?: AbortSignal }): Promise<void>;
  commit(options?: { signal?: AbortSignal }): Promise<void>;
  abort(): Promise<void>;
}

/** The storage port for Capture files: a blob container (production, Azurite) or a local folder. */
export interface CaptureStore {
  readonly description: string;
  /** The file's identity across locations: an absolute path or the blob's URL (without SAS). */
  fileUrl(filePath: string): string;
  list(options?: { prefix?: string; signal?: AbortSignal }): AsyncIterable<StoredCaptureFile>;
  read(filePath: string, options?: { signal?: AbortSignal }): AsyncIterable<Buffer>;
  create(filePath: string): Promise<CaptureUpload>;
}

export class CaptureStoreError extends Error {
  constructor(
    message: string,
    readonly location: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CaptureStoreError';
  }
}

export interface CaptureStoreOptions {
  /** Credential for Azure URLs without a SAS; DefaultAzureCredential if omitted. */
  credential?: TokenCredential;
}

export function openCaptureStore(location: Location, options: CaptureStoreOptions = {}): CaptureStore {
  if (location.kind === 'dir') return new DirectoryCaptureStore(location.path);
  const containerUrl = `${location.accountUrl}/${encodeURIComponent(location.container)}`;
  let client: ContainerClient;
  if (isDevStorageUrl(new URL(location.accountUrl))) {
    client = new ContainerClient(
      containerUrl,
      new StorageSharedKeyCredential(DEV_ACCOUNT_NAME, DEV_ACCOUNT_KEY),
    );
  } else if (location.sas) {
    client = new ContainerClient(`${containerUrl}${location.sas}`);
  } else {
    client = new ContainerClient(containerUrl, options.credential ?? new DefaultAzureCredential());
  }
  return new BlobCaptureStore(client, location.prefix, formatLocation(location));
}

/** One file named by a local path or a blob URL: the store holding it and its path there. */
export function locateStoredFile(
  text: string,
  options: CaptureStoreOptions = {},
): { store: CaptureStore; path: string } {
  const location = parseLocation(text);
  if (location.kind === 'dir') {
    return {
      store: new DirectoryCaptureStore(path.dirname(location.path)),
      path: path.basename(location.path),
    };
  }
  if (location.prefix === '') throw new CaptureStoreError(`"${text}" names a container, not a file`, text);
  return {
    store: openCaptureStore({ ...location, prefix: '' }, options),
    path: location.prefix.slice(0, -1),
  };
}

/** The whole content of a small file (a manifest), by local path or blob URL. */
export async function readStoredFile(
  text: string,
  options: CaptureStoreOptions & { signal?: AbortSignal } = {},
) {
  const { store, path: filePath } = locateStoredFile(text, options);
  const chunks: Buffer[] = [];
  for await (const chunk of store.read(filePath, { signal: options.signal })) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The URL of a container on a configured storage connection (no request is made). */
export function containerUrl(connection: StorageConnection, container: string): string {
  const service =
    'connectionString' in connection
      ? BlobServiceClient.fromConnectionString(connection.connectionString)
      : new BlobServiceClient(connection.serviceUri);
  return redactedUrl(service.getContainerClient(container).url);
}

/** The capture container of a configured storage connection (`CaptureStorage`). */
export function captureStoreForConnection(
  connection: StorageConnection,
  container: string,
  options: CaptureStoreOptions = {},
): CaptureStore {
  const service =
    'connectionString' in connection
      ? BlobServiceClient.fromConnectionString(connection.connectionString)
      : new BlobServiceClient(connection.serviceUri, options.credential ?? new DefaultAzureCredential());
  const client = service.getContainerClient(container);
  return new BlobCaptureStore(client, '', redactedUrl(client.url));
}

const STAGING_SUFFIX = '.partial';

export class DirectoryCaptureStore implements CaptureStore {
  readonly description: string;

  constructor(readonly root: string) {
    this.description = `dir:${root}`;
  }

  async *list(options: { prefix?: string; signal?: AbortSignal } = {}): AsyncIterable<StoredCaptureFile> {
    const prefix = options.prefix ?? '';
    // Walk in sorted order so listings are in path order, like blob listings.
    const walk = async function* (dir: string, relative: string): AsyncGenerator<StoredCaptureFile> {
      let entries: fs.Dirent[];
      try {
        entries = await fs.promises.readdir(dir, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        options.signal?.throwIfAborted();
        const childPath = relative ? `${relative}/${entry.name}` : entry.name;
        if (!prefix.startsWith(childPath) && !childPath.startsWith(prefix)) continue;
        if (entry.isDirectory()) {
          yield* walk(path.join(dir, entry.name), childPath);
        } else if (entry.isFile() && entry.name.endsWith('.avro') && childPath.startsWith(prefix)) {
          const stat = await fs.promises.stat(path.join(dir, entry.name));
          // A committed file is renamed into place, so its modification time is when it appeared.
          yield { path: childPath, bytes: stat.size, createdAt: stat.mtime };
        }
      }
    };
    yield* walk(this.root, '');
  }

  fileUrl(filePath: string): string {
    return this.resolve(filePath);
  }

  async *read(filePath: string, options: { signal?: AbortSignal } = {}): AsyncIterable<Buffer> {
    const stream = fs.createReadStream(this.resolve(filePath), {
      highWaterMark: 256 * 1024,
      signal: options.signal,
    });
    try {
      for await (const chunk of stream) yield chunk as Buffer;
    } catch (error) {
      throw new CaptureStoreError(
        `cannot read ${filePath} in ${this.description}: ${errorMessage(error)}`,
        this.description,
        {
          cause: error,
        },
      );
    }
  }

  async create(filePath: string): Promise<CaptureUpload> {
    const target = this.resolve(filePath);
    const staging = `${target}${STAGING_SUFFIX}`;
    await fs.promises.mkdir(path.dirname(target), { recursive: true });
    const handle = await fs.promises.open(staging, 'w');
    return {
      append: async (chunk) => {
        await handle.write(chunk);
      },
      commit: async () => {
        await handle.close();
        await fs.promises.rename(staging, target);
      },
      abort: async () => {
        await handle.close();
        await fs.promises.rm(staging, { force: true });
      },
    };
  }

  private resolve(filePath: string): string {
    const resolved = path.resolve(this.root, filePath);
    if (!resolved.startsWith(this.root + path.sep)) {
      throw new CaptureStoreError(`${filePath} is outside ${this.description}`, this.description);
    }
    return resolved;
  }
}

/** Blocks staged at most this large: a block blob holds up to 50,000 blocks. */
const STAGE_BLOCK_BYTES = 4 * 1024 * 1024;

export class BlobCaptureStore implements CaptureStore {
  private containerReady?: Promise<unknown>;

  constructor(
    readonly container: ContainerClient,
    readonly prefix: string,
    readonly description: string,
  ) {}

  async *list(options: { prefix?: string; signal?: AbortSignal } = {}): AsyncIterable<StoredCaptureFile> {
    const listing = this.container.listBlobsFlat({ prefix: this.prefix + (options.prefix ?? '') });
    try {
      for await (const blob of listing) {
        options.signal?.throwIfAborted();
        if (!blob.name.endsWith('.avro')) continue;
        yield {
          path: blob.name.slice(this.prefix.length),
          bytes: blob.properties.contentLength ?? 0,
          createdAt: blob.properties.createdOn ?? blob.properties.lastModified,
        };
      }
    } catch (error) {
      // A container Capture has not written to yet holds no files, as a missing folder does.
      if ((error as { code?: string }).code === 'ContainerNotFound') return;
      throw error;
    }
  }

  fileUrl(filePath: string): string {
    const url = new URL(this.container.getBlobClient(this.prefix + filePath).url);
    url.search = '';
    return url.toString();
  }

  async *read(filePath: string, options: { signal?: AbortSignal } = {}): AsyncIterable<Buffer> {
    const blob = this.container.getBlobClient(this.prefix + filePath);
    let body: NodeJS.ReadableStream | undefined;
    try {
      body = (await blob.download(0, undefined, { abortSignal: options.signal })).readableStreamBody;
    } catch (error) {
      throw new CaptureStoreError(
        `cannot read ${filePath} in ${this.description}: ${errorMessage(error)}`,
        this.description,
        {
          cause: error,
        },
      );
    }
    if (!body)
      throw new CaptureStoreError(`${filePath} in ${this.description} has no body`, this.description);
    for await (const chunk of body) yield chunk as Buffer;
  }

  async create(filePath: string): Promise<CaptureUpload> {
    this.containerReady ??= this.container.createIfNotExists().catch((error: unknown) => {
      this.containerReady = undefined;
      throw error;
    });
    await this.containerReady;
    return new StagedBlobUpload(this.container.getBlockBlobClient(this.prefix + filePath));
  }
}

/** Stages blocks as data comes and commits the block list at the end, as Capture's writer does. */
class StagedBlobUpload implements CaptureUpload {
  private readonly blockIds: string[] = [];
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly blob: BlockBlobClient) {}

  async append(chunk: Buffer, options: { signal?: AbortSignal } = {}): Promise<void> {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= STAGE_BLOCK_BYTES) await this.stage(options.signal);
  }

  async commit(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.pendingBytes > 0 || this.blockIds.length === 0) await this.stage(options.signal);
    await this.blob.commitBlockList(this.blockIds, { abortSignal: options.signal });
  }

  async abort(): Promise<void> {
    this.pending = [];
    this.pendingBytes = 0;
  }

  private async stage(signal?: AbortSignal): Promise<void> {
    const data = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    const id = Buffer.from(String(this.blockIds.length).padStart(6, '0')).toString('base64');
    await this.blob.stageBlock(id, data, data.length, { abortSignal: signal });
    this.blockIds.push(id);
  }
}
