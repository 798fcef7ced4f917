import { randomUUID } from 'node:crypto';
import { CaptureStore, StoredCaptureFile } from '../storage/captureStore';
import { BLOB_CREATED, BlobCreatedEvent } from '../pipeline/captureRecording';

/** Hands one event to the capture trigger: in process, or through the Functions host's webhook. */
export type BlobCreatedDelivery = (event: BlobCreatedEvent) => Promise<void>;

/** The event Event Grid would send for a committed block blob (Event Grid schema). */
export function blobCreatedEvent(
  store: CaptureStore,
  container: string,
  file: { path: string; bytes: number; createdAt: Date },
): BlobCreatedEvent {
  // Event Grid stamps the event with the blob's creation, however late it is delivered.
  const now = file.createdAt;
  const url = store.fileUrl(file.path);
  const account = new URL(url).hostname.split('.')[0];
  return {
    id: randomUUID(),
    topic: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/Microsoft.Storage/storageAccounts/${account}`,
    subject: `/blobServices/default/containers/${container}/blobs/${file.path}`,
    eventType: BLOB_CREATED,
    eventTime: now.toISOString(),
    dataVersion: '',
    metadataVersion: '1',
    data: {
      api: 'PutBlockList',
      clientRequestId: randomUUID(),
      requestId: randomUUID(),
      contentType: 'application/octet-stream',
      contentLength: file.bytes,
      blobType: 'BlockBlob',
      url,
      sequencer: now.getTime().toString(16).padStart(32, '0'),
    },
  };
}

/**
 * Delivery to a running Functions host (`func start`): the blob extension's Event Grid webhook, as
 * an Event Grid subscription would call it.
 */
export function webhookDelivery(hostUrl: string, functionName: string, key?: string): BlobCreatedDelivery {
  const url = new URL('/runtime/webhooks/blobs', hostUrl);
  url.searchParams.set('functionName', `Host.Functions.${functionName}`);
  if (key) url.searchParams.set('code', key);
  return async (event) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'aeg-event-type': 'Notification' },
      body: JSON.stringify([event]),
    });
    if (!response.ok) {
      throw new Error(
        `webhook ${url.pathname} answered ${response.status}: ${(await response.text()).slice(0, 200)}`,
      );
    }
  };
}

export interface CaptureWatcherOptions {
  intervalMs: number;
  onError: (error: unknown) => void;
}

/**
 * Event Grid for the local stack: lists the capture container every interval and delivers a
 * BlobCreated event for each file it has not seen (after a restart: every file once more, which the
 * trigger's ledger turns into no-ops). `notify` delivers a file at once, for writers in this process.
 */
export class CaptureWatcher {
  private readonly seen = new Set<string>();
  private timer?: NodeJS.Timeout;
  private scanning?: Promise<void>;

  constructor(
    private readonly store: CaptureStore,
    private readonly container: string,
    private readonly deliver: BlobCreatedDelivery,
    private readonly options: CaptureWatcherOptions,
  ) {}

  start(): void {
    const tick = () => {
      this.scanning = this.scan()
        .then(() => undefined, this.options.onError)
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, this.options.intervalMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.scanning;
  }

  /** Lists the container once and delivers what is new. */
  async scan(): Promise<number> {
    let delivered = 0;
    for await (const file of this.store.list()) {
      if (await this.notify(file)) delivered++;
    }
    return delivered;
  }

  async notify(file: StoredCaptureFile): Promise<boolean> {
    if (this.seen.has(file.path)) return false;
    this.seen.add(file.path);
    try {
      await this.deliver(blobCreatedEvent(this.store, this.container, file));
    } catch (error) {
      // Not delivered: forget it, so the next scan tries again (as Event Grid retries).
      this.seen.delete(file.path);
      throw error;
    }
    return true;
  }
}
