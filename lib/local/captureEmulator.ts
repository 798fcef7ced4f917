import { CaptureFileEncoder } from '../capture/captureFileWriter';
import type { CaptureSettings } from '../capture/captureSettings';
import { readCaptureRecords } from '../capture/captureFileReader';
import { formatEnqueuedTimeUtc } from '../capture/enqueuedTime';
import { CapturePropertyValue } from '../capture/schema';
import { CaptureStore, CaptureUpload } from '../storage/captureStore';
import { partitionForKey } from '../eventHubs/partitionKey';
import { errorMessage } from '../errorMessage';
import type { OrderEvent, OrderEventSink } from '../publish/orderPublisher';

export interface EmulatedEvent {
  body: Buffer | string;
  /** Events with the same key land in the same partition, in order. */
  partitionKey?: string;
  properties?: Record<string, CapturePropertyValue>;
}

export interface PublishedEvent {
  partitionId: string;
  sequenceNumber: number;
}

export interface CapturedFile {
  path: string;
  partitionId: string;
  windowStart: Date;
  records: number;
  bytes: number;
}

export interface EmulatorStats {
  events: number;
  bodyBytes: number;
  files: number;
  emptyFiles: number;
  fileBytes: number;
}

export interface EmulatorOptions {
  /** Milliseconds since the epoch; the wall clock by default. */
  clock?: () => number;
  onFileCaptured?: (file: CapturedFile) => void;
  /** Records are grouped into Avro blocks of about this many bytes before compression. */
  blockBytes?: number;
}

/** Event Hubs caps an event at 1 MB (Standard tier). */
export const MAX_EVENT_BYTES = 1024 * 1024;

export class EventTooLargeError extends Error {
  constructor(readonly bytes: number) {
    super(`event of ${bytes} bytes exceeds the Event Hubs limit of ${MAX_EVENT_BYTES} bytes`);
    this.name = 'EventTooLargeError';
  }
}

interface OpenFile {
  path: string;
  upload: CaptureUpload;
  records: number;
  bytes: number;
}

interface Partition {
  id: string;
  nextSequenceNumber: number;
  nextOffset: number;
  lastEnqueuedMs: number;
  windowStartMs: number;
  file: OpenFile | null;
  pending: Buffer[];
  pendingBytes: number;
  pendingRecords: number;
  /** Blocks being compressed and appended while new events are encoded (at most MAX_IN_FLIGHT). */
  writing: Promise<void>;
  inFlight: number;
  inFlightBytes: number;
}

const MAX_IN_FLIGHT = 4;

/**
 * A local Event Hub with Capture: partitions events by key like Event Hubs, numbers them per
 * partition, and writes each partition's capture windows as Capture files into a CaptureStore,
 * closing a file when its time window elapses or its size limit is reached, whichever comes first.
 * Files appear only when committed, as Capture's block blobs do. `close()` flushes everything.
 */
export class EventHubEmulator {
  readonly stats: EmulatorStats = { events: 0, bodyBytes: 0, files: 0, emptyFiles: 0, fileBytes: 0 };
  private readonly partitions: Partition[];
  private readonly encoder: CaptureFileEncoder;
  private readonly clock: () => number;
  private readonly blockBytes: number;
  private readonly windowMs: number;
  private queue: Promise<unknown> = Promise.resolve();
  private roundRobin = 0;
  private timer?: NodeJS.Timeout;
  private closed = false;

  private constructor(
    readonly settings: CaptureSettings,
    readonly store: CaptureStore,
    private readonly options: EmulatorOptions,
    resumeFrom: Map<string, { nextSequenceNumber: number; nextOffset: number; lastWindowStartMs: number }>,
  ) {
    if (!Number.isInteger(settings.partitionCount) || settings.partitionCount < 1) {
      throw new RangeError(`partition count must be a positive integer, not ${settings.partitionCount}`);
    }
    if (!Number.isInteger(settings.windowSeconds) || settings.windowSeconds < 1) {
      throw new RangeError(
        `capture window must be a whole number of seconds ≥ 1, not ${settings.windowSeconds}`,
      );
    }
    this.clock = options.clock ?? Date.now;
    this.blockBytes = options.blockBytes ?? 256 * 1024;
    this.windowMs = settings.windowSeconds * 1000;
    this.encoder = new CaptureFileEncoder(settings.codec);
    const now = wholeSecond(this.clock());
    this.partitions = Array.from({ length: settings.partitionCount }, (_, index) => {
      const resumed = resumeFrom.get(String(index));
      return {
        id: String(index),
        nextSequenceNumber: resumed?.nextSequenceNumber ?? 0,
        nextOffset: resumed?.nextOffset ?? 0,
        lastEnqueuedMs: 0,
        windowStartMs: resumed ? Math.max(now, resumed.lastWindowStartMs + 1000) : now,
        file: null,
        pending: [],
        pendingBytes: 0,
        pendingRecords: 0,
        writing: Promise.resolve(),
        inFlight: 0,
        inFlightBytes: 0,
      };
    });
  }

  /**
   * Opens the hub on a store, continuing each partition's sequence numbers and offsets after the
   * newest Capture file already there, as a real hub continues its log across restarts.
   */
  static async open(settings: CaptureSettings, store: CaptureStore, options: EmulatorOptions = {}) {
    const newest = new Map<string, { path: string; windowStartMs: number }>();
    const hubPrefix = settings.pathFormat.format.startsWith('{Namespace}/{EventHub}/')
      ? `${settings.namespace}/${settings.eventHub}/`
      : undefined;
    for await (const file of store.list({ prefix: hubPrefix })) {
      if (!settings.pathFormat.matches(file.path)) continue;
      const name = settings.pathFormat.parse(file.path);
      if (name.namespace !== settings.namespace || name.eventHub !== settings.eventHub) continue;
      const seen = newest.get(name.partitionId);
      if (!seen || name.windowStart.getTime() >= seen.windowStartMs) {
        newest.set(name.partitionId, { path: file.path, windowStartMs: name.windowStart.getTime() });
      }
    }
    const resumeFrom = new Map<
      string,
      { nextSequenceNumber: number; nextOffset: number; lastWindowStartMs: number }
    >();
    for (const [partitionId, file] of newest) {
      let next = { nextSequenceNumber: 0, nextOffset: 0, lastWindowStartMs: file.windowStartMs };
      for await (const record of readCaptureRecords(store.read(file.path), { file: file.path })) {
        next = {
          nextSequenceNumber: record.SequenceNumber + 1,
          nextOffset: Number(record.Offset) + eventLogBytes(record.Body?.length ?? 0),
          lastWindowStartMs: file.windowStartMs,
        };
      }
      resumeFrom.set(partitionId, next);
    }
    return new EventHubEmulator(settings, store, options, resumeFrom);
  }

  /** Appends events to their partitions; resolves when they are buffered for Capture. */
  publish(events: EmulatedEvent[]): Promise<PublishedEvent[]> {
    return this.serially(async () => {
      if (this.closed) throw new Error('the emulated event hub is closed');
      const now = this.clock();
      await this.rollWindows(now);
      const results: PublishedEvent[] = [];
      const touched = new Set<Partition>();
      for (const event of events) {
        const body = typeof event.body === 'string' ? Buffer.from(event.body) : event.body;
        if (body.length > MAX_EVENT_BYTES) throw new EventTooLargeError(body.length);
        const index =
          event.partitionKey !== undefined
            ? partitionForKey(event.partitionKey, this.partitions.length)
            : this.roundRobin++ % this.partitions.length;
        const partition = this.partitions[index];
        const enqueuedMs = Math.max(now, partition.lastEnqueuedMs);
        partition.lastEnqueuedMs = enqueuedMs;
        const sequenceNumber = partition.nextSequenceNumber++;
        const offset = partition.nextOffset;
        partition.nextOffset += eventLogBytes(body.length);
        const systemProperties: Record<string, CapturePropertyValue> = {
          'x-opt-sequence-number': sequenceNumber,
          'x-opt-offset': String(offset),
          'x-opt-enqueued-time': enqueuedMs,
        };
        if (event.partitionKey !== undefined) systemProperties['x-opt-partition-key'] = event.partitionKey;
        const encoded = this.encoder.encodeRecord({
          SequenceNumber: sequenceNumber,
          Offset: String(offset),
          EnqueuedTimeUtc: formatEnqueuedTimeUtc(new Date(enqueuedMs)),
          SystemProperties: systemProperties,
          Properties: event.properties ?? {},
          Body: body,
        });
        partition.pending.push(encoded);
        partition.pendingBytes += encoded.length;
        partition.pendingRecords++;
        this.stats.events++;
        this.stats.bodyBytes += body.length;
        touched.add(partition);
        results.push({ partitionId: partition.id, sequenceNumber });
        if (partition.pendingBytes >= this.blockBytes) await this.writeBlock(partition);
        if (this.fileSize(partition) >= this.settings.sizeLimitBytes) await this.closeWindow(partition, now);
      }
      return results;
    });
  }

  /** Closes every window whose time has passed; a timer calls this between publishes. */
  tick(): Promise<void> {
    return this.serially(() => this.rollWindows(this.clock()));
  }

  startTimer(intervalMs = 1000): void {
    this.timer ??= setInterval(() => {
      this.tick().catch((error: unknown) => {
        this.stopTimer();
        process.emitWarning(`Capture emulator stopped its window timer: ${errorMessage(error)}`);
      });
    }, intervalMs);
    this.timer.unref();
  }

  /** Flushes every partition's open window (nothing published is lost) and stops. */
  close(): Promise<void> {
    this.stopTimer();
    return this.serially(async () => {
      if (this.closed) return;
      const now = this.clock();
      await this.rollWindows(now);
      for (const partition of this.partitions) {
        if (partition.file || partition.pendingRecords > 0) await this.closeWindow(partition, now);
      }
      this.closed = true;
    });
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Bytes written plus those still pending, counted uncompressed: the size window never overshoots. */
  private fileSize(partition: Partition): number {
    return (partition.file?.bytes ?? 0) + partition.inFlightBytes + partition.pendingBytes;
  }

  private async rollWindows(now: number): Promise<void> {
    for (const partition of this.partitions) {
      while (now >= partition.windowStartMs + this.windowMs) {
        const hasRecords = partition.file !== null || partition.pendingRecords > 0;
        if (hasRecords || !this.settings.skipEmptyArchives) {
          await this.closeWindow(partition, partition.windowStartMs + this.windowMs);
        } else {
          const elapsed = Math.floor((now - partition.windowStartMs) / this.windowMs);
          partition.windowStartMs += elapsed * this.windowMs;
        }
      }
    }
  }

  private async openFile(partition: Partition): Promise<OpenFile> {
    if (partition.file) return partition.file;
    const path = this.settings.pathFormat.build({
      namespace: this.settings.namespace,
      eventHub: this.settings.eventHub,
      partitionId: partition.id,
      windowStart: new Date(partition.windowStartMs),
    });
    const upload = await this.store.create(path);
    const header = this.encoder.header();
    await upload.append(header);
    partition.file = { path, upload, records: 0, bytes: header.length };
    this.stats.fileBytes += header.length;
    return partition.file;
  }

  /**
   * Hands the pending records to the partition's writer as one block. Compression and the append
   * run while the caller encodes more events; a partition has at most MAX_IN_FLIGHT blocks queued.
   */
  private async writeBlock(partition: Partition): Promise<void> {
    const file = await this.openFile(partition);
    if (partition.pendingRecords === 0) return;
    const records = partition.pending;
    const count = partition.pendingRecords;
    const rawBytes = partition.pendingBytes;
    partition.pending = [];
    partition.pendingBytes = 0;
    partition.pendingRecords = 0;
    const block = this.encoder.block(records);
    partition.inFlight++;
    partition.inFlightBytes += rawBytes;
    partition.writing = partition.writing.then(async () => {
      const data = await block;
      await file.upload.append(data);
      file.records += count;
      file.bytes += data.length;
      this.stats.fileBytes += data.length;
      partition.inFlight--;
      partition.inFlightBytes -= rawBytes;
    });
    // A failed append surfaces where the chain is awaited (next block, or the window's commit).
    partition.writing.catch(() => undefined);
    if (partition.inFlight >= MAX_IN_FLIGHT) await partition.writing;
  }

  /** Commits the partition's current file (header-only if it saw no events) and opens the next window. */
  private async closeWindow(partition: Partition, nextWindowStartMs: number): Promise<void> {
    await this.writeBlock(partition);
    await partition.writing;
    const file = partition.file!;
    await file.upload.commit();
    partition.file = null;
    this.stats.files++;
    if (file.records === 0) this.stats.emptyFiles++;
    this.options.onFileCaptured?.({
      path: file.path,
      partitionId: partition.id,
      windowStart: new Date(partition.windowStartMs),
      records: file.records,
      bytes: file.bytes,
    });
    // A file is named for its window's start second: never reuse one within a partition.
    partition.windowStartMs = Math.max(wholeSecond(nextWindowStartMs), partition.windowStartMs + 1000);
  }
}

/**
 * Bytes an event takes in the partition's log, which advances the next event's Offset. The real
 * figure is the AMQP-encoded size; body plus a fixed envelope is a faithful stand-in.
 */
function eventLogBytes(bodyBytes: number): number {
  return bodyBytes + 128;
}

function wholeSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

/** The local hub: the Capture emulator writes the events into Capture files. */
export class EmulatorSink implements OrderEventSink {
  constructor(private readonly emulator: EventHubEmulator) {}

  async send(events: OrderEvent[]): Promise<void> {
    await this.emulator.publish(events.map((e) => ({ body: e.body, partitionKey: e.partitionKey })));
  }
}
