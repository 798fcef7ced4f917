import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  CaptureFileError,
  CaptureFileErrorKind,
  readCaptureBlocksWithoutProperties,
} from '../capture/captureFileReader';
import { BronzeColumns, toBronzeColumns } from './bronzeRows';

export type DecoderRequest =
  { type: 'start'; file: string } | { type: 'chunk'; data: ArrayBuffer } | { type: 'end' };

export type DecoderReply =
  | { type: 'ack' }
  | { type: 'block'; columns: BronzeColumns }
  | { type: 'done'; records: number }
  | {
      type: 'error';
      message: string;
      capture?: { kind: CaptureFileErrorKind; offset: number; detail: string };
    };

/** Chunks of a file the main thread may have handed the worker before it consumed them. */
const MAX_CHUNKS_IN_FLIGHT = 8;

/**
 * Decodes Capture files into bronze columns, in a worker thread when the compiled worker is there
 * (the build, which `npm install` and `npm test` make), else on this thread with the same code.
 * One file at a time. A worker that dies (it threw, ran out of memory, or was terminated) fails the
 * file in flight at once, naming it, and is replaced by a fresh one on the next decode; an aborted
 * decode terminates its worker rather than wait for it to finish the file.
 */
export class BronzeDecoder {
  private readonly script?: string;
  private worker?: Worker;

  constructor(options: { worker?: boolean } = {}) {
    if (options.worker === false) return;
    // Next to this file in the build; from the source tree (jest), the build's copy.
    const script = __filename.endsWith('.js')
      ? path.join(__dirname, 'bronzeDecodeWorker.js')
      : path.resolve(__dirname, '..', '..', 'dist', 'lib', 'lakehouse', 'bronzeDecodeWorker.js');
    if (!fs.existsSync(script)) return;
    this.script = script;
    this.worker = this.spawn();
  }

  get inWorker(): boolean {
    return this.script !== undefined;
  }

  /** Decodes one file, calling onColumns per block in file order; resolves with its record count. */
  async decode(
    file: string,
    source: AsyncIterable<Buffer>,
    onColumns: (columns: BronzeColumns) => void,
    signal?: AbortSignal,
  ): Promise<number> {
    if (!this.script) {
      let records = 0;
      for await (const block of readCaptureBlocksWithoutProperties(source, { file, signal })) {
        onColumns(toBronzeColumns(block.records));
        records += block.records.length;
      }
      return records;
    }
    signal?.throwIfAborted();
    this.worker ??= this.spawn();
    return this.decodeInWorker(this.worker, file, source, onColumns, signal);
  }

  private spawn(): Worker {
    const worker = new Worker(this.script!);
    // Between files nobody else listens: a worker that dies then is dropped here, not thrown as an
    // unhandled 'error' event.
    worker.on('error', () => this.drop(worker));
    worker.on('exit', () => this.drop(worker));
    return worker;
  }

  /** Forgets a worker that died or failed (stopping it if it still runs); the next decode spawns anew. */
  private drop(worker: Worker): void {
    if (this.worker === worker) this.worker = undefined;
    void worker.terminate();
  }

  private async decodeInWorker(
    worker: Worker,
    file: string,
    source: AsyncIterable<Buffer>,
    onColumns: (columns: BronzeColumns) => void,
    signal?: AbortSignal,
  ): Promise<number> {
    let inFlight = 0;
    let acked: (() => void) | undefined;
    let failure: Error | undefined;
    let settled = false;
    const wake = (): void => {
      acked?.();
      acked = undefined;
    };
    const finished = new Promise<number>((resolve, reject) => {
      const settle = (records?: number): void => {
        if (settled) return;
        settled = true;
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        signal?.removeEventListener('abort', onAbort);
        if (failure) reject(failure);
        else resolve(records!);
        wake();
      };
      const onMessage = (reply: DecoderReply): void => {
        if (reply.type === 'ack') {
          inFlight--;
          wake();
          return;
        }
        if (reply.type === 'block') {
          try {
            onColumns(reply.columns);
          } catch (error) {
            failure ??= error as Error;
          }
          return;
        }
        if (reply.type === 'error') {
          failure ??= reply.capture
            ? new CaptureFileError(reply.capture.kind, file, reply.capture.offset, reply.capture.detail)
            : new Error(reply.message);
        }
        settle(reply.type === 'done' ? reply.records : undefined);
      };
      const onError = (error: Error): void => {
        failure ??= new Error(
          `${file}: the bronze decode worker failed while decoding it: ${error.message}`,
          {
            cause: error,
          },
        );
        this.drop(worker);
        settle();
      };
      const onExit = (code: number): void => {
        failure ??= new Error(
          `${file}: the bronze decode worker stopped (exit code ${code}) while decoding it; the next file gets a new worker`,
        );
        settle();
      };
      const onAbort = (): void => {
        failure ??= (signal!.reason as Error) ?? new Error('aborted');
        this.drop(worker);
        settle();
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    // Returned below, and settled by the worker or its death, whatever the source is doing.
    finished.catch(() => undefined);

    worker.postMessage({ type: 'start', file } satisfies DecoderRequest);
    const pump = async (): Promise<void> => {
      try {
        for await (const chunk of source) {
          signal?.throwIfAborted();
          if (failure || settled) break;
          // A copy: a stream's Buffer may share its memory with others, which a transfer would detach.
          const data = new Uint8Array(chunk).buffer;
          worker.postMessage({ type: 'chunk', data } satisfies DecoderRequest, [data]);
          inFlight++;
          while (inFlight >= MAX_CHUNKS_IN_FLIGHT && !failure && !settled)
            await new Promise<void>((resolve) => (acked = resolve));
        }
      } catch (error) {
        // The source failed: that is the error, once the worker has finished this file, so the next
        // file starts clean.
        failure ??= error as Error;
      }
      if (!settled) worker.postMessage({ type: 'end' } satisfies DecoderRequest);
    };
    void pump();
    return finished;
  }

  /**
   * Stops the worker (shutdown): a decode in flight rejects at once, naming its file. A later decode
   * would start a new worker.
   */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}
