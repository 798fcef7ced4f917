import { CaptureFileError, summarizeCaptureFile } from '../capture/captureFileReader';
import { CapturePathFormat } from '../capture/capturePath';
import { Ledger, LedgerFile } from '../ledger/ledger';
import { fileRefOf } from '../ledger/fileRefs';
import { FileRef } from './pipelineDecision';

/**
 * Event Grid's Microsoft.Storage.BlobCreated event (Event Grid schema), the fields this app reads.
 * Source: https://learn.microsoft.com/azure/event-grid/event-schema-blob-storage
 */
export interface BlobCreatedEvent {
  id: string;
  topic?: string;
  subject: string;
  eventType: string;
  eventTime: string;
  dataVersion?: string;
  metadataVersion?: string;
  data: {
    api: string;
    clientRequestId?: string;
    requestId?: string;
    eTag?: string;
    contentType?: string;
    contentLength: number;
    blobType?: string;
    url: string;
    sequencer?: string;
    storageDiagnostics?: { batchId?: string };
  };
}

export const BLOB_CREATED = 'Microsoft.Storage.BlobCreated';
/** The APIs that finish a blob (an ADLS Gen2 file also fires CreateFile, with length 0). */
export const COMPLETING_APIS = ['PutBlob', 'PutBlockList', 'FlushWithClose'] as const;

/** An event that is not a well-formed BlobCreated event. */
export class BlobEventError extends Error {
  constructor(
    message: string,
    readonly eventId: string | undefined,
  ) {
    super(message);
    this.name = 'BlobEventError';
  }
}

/** A Capture blob as a trigger sees it: its name and properties, and a way to read it. */
export interface CapturedBlob {
  /** Path inside the capture container. */
  path: string;
  url: string;
  bytes: number;
  /** When Storage created it (the Capture stage's time). */
  createdAt: Date;
  content: () => AsyncIterable<Uint8Array>;
}

export interface CaptureTriggerDeps {
  ledger: Ledger;
  pathFormat: CapturePathFormat;
  /** Wakes the orchestration; the ledger row is already written, so a lost signal only delays. */
  signal: (file: FileRef) => Promise<void>;
  now?: () => number;
}

export type TriggerOutcome = 'recorded' | 'known' | 'skipped' | 'deadLettered' | 'rejected' | 'ignored';

/**
 * Records one Capture file in the ledger, create-only, and signals the orchestration. A file seen
 * before does nothing new; a file without records is recorded as skipped; a file that is not a
 * readable Capture file is dead-lettered with the reader's error, before any run is spent on it.
 */
export async function recordCaptureFile(
  blob: CapturedBlob,
  deps: CaptureTriggerDeps,
): Promise<TriggerOutcome> {
  if (blob.bytes === 0) return 'ignored';
  const known = await deps.ledger.get(blob.path);
  if (known) {
    // Nothing new; but a crash of an earlier delivery may have left its work undone.
    await deps.ledger.restoreOpen(known.path);
    if (known.state === 'pending') await deps.signal(fileRefOf(known));
    return 'known';
  }
  const triggeredAt = new Date((deps.now ?? Date.now)()).toISOString();
  const row: LedgerFile = {
    path: blob.path,
    url: blob.url,
    state: 'pending',
    bytes: blob.bytes,
    records: 0,
    capturedAt: blob.createdAt.toISOString(),
    triggeredAt,
    attempts: 0,
  };
  if (!deps.pathFormat.matches(blob.path)) {
    Object.assign(row, { state: 'rejected', error: `not a Capture path (${deps.pathFormat.format}.avro)` });
  } else {
    try {
      row.records = (await summarizeCaptureFile(blob.content(), { file: blob.path })).records;
      if (row.records === 0) row.state = 'skipped';
    } catch (error) {
      if (!(error instanceof CaptureFileError)) throw error;
      Object.assign(row, { state: 'deadLettered', error: error.message });
    }
  }
  if ((await deps.ledger.insert(row)) === 'exists') return 'known';
  if (row.state !== 'pending') return row.state as TriggerOutcome;
  await deps.signal(fileRefOf(row));
  return 'recorded';
}

/** The blob a BlobCreated event names, or undefined when the event is not for a finished blob. */
export function capturedBlobOf(
  event: unknown,
  captureContainer: string,
): { path: string; url: string; bytes: number; createdAt: Date } | undefined {
  const e = event as Partial<BlobCreatedEvent>;
  const id = typeof e?.id === 'string' ? e.id : undefined;
  if (typeof e !== 'object' || e === null || typeof e.eventType !== 'string' || typeof e.data !== 'object') {
    throw new BlobEventError('not an Event Grid event (eventType and data are required)', id);
  }
  if (e.eventType !== BLOB_CREATED) return undefined;
  const data = e.data;
  if (
    typeof data.url !== 'string' ||
    typeof data.contentLength !== 'number' ||
    typeof data.api !== 'string'
  ) {
    throw new BlobEventError('BlobCreated event lacks data.url, data.contentLength or data.api', id);
  }
  if (!(COMPLETING_APIS as readonly string[]).includes(data.api) || data.contentLength === 0)
    return undefined;
  const subject = /^\/blobServices\/default\/containers\/([^/]+)\/blobs\/(.+)$/.exec(e.subject ?? '');
  if (!subject) throw new BlobEventError(`subject "${e.subject}" does not name a blob`, id);
  if (subject[1] !== captureContainer) return undefined;
  const createdAt = new Date(e.eventTime ?? '');
  if (Number.isNaN(createdAt.getTime()))
    throw new BlobEventError(`eventTime "${e.eventTime}" is not a time`, id);
  return { path: subject[2], url: data.url, bytes: data.contentLength, createdAt };
}
