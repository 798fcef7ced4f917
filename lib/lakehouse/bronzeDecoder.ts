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
 */
export class BronzeDecoder {
  private worker?: Worker;

  constructor(options: { worker?: boolean } = {}) {
    if (options.worker === false) return;
    // Next to this file in the build; from the source tree (jest), the build's copy.
    const script = __filename.endsWith('.js')
      ? path.join(__dirname, 'bronzeDecodeWorker.js')
      : path.resolve(__dirname, '..', '..', 'dist', 'lib', 'lakehouse', 'bronzeDecodeWorker.js');
    if (fs.existsSync(script)) this.worker = new Worker(script);
  }

  get inWorker(): boolean {
    return this.worker !== undefined;
  }

  /** Decodes one file, calling onColumns per block in file order; resolves with its record count. */
  async decode(
    file: string,
    source: AsyncIterable<Buffer>,
    onColumns: (columns: BronzeColumns) => void,
    signal?: AbortSignal,
  ): Promise<number> {
    if (!this.worker) {
      let records = 0;
      for await (const block of readCaptureBlocksWithoutProperties(source, { file, signal })) {
        onColumns(toBronzeColumns(block.records));
        records += block.records.length;
      }
      return records;
    }
    return this.decodeInWorker(this.worker, file, source, onColumns, signal);
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
    const finished = new Promise<number>((resolve, reject) => {
      const onMessage = (reply: DecoderReply): void => {
        if (reply.type === 'ack') {
          inFlight--;
          acked?.();
          acked = undefined;
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
        worker.off('message', onMessage);
        worker.off('error', onError);
        if (reply.type === 'error') {
          failure ??= reply.capture
            ? new CaptureFileError(reply.capture.kind, file, reply.capture.offset, reply.capture.detail)
            : new Error(reply.message);
        }
        if (failure) reject(failure);
        else resolve((reply as { records: number }).records);
        acked?.();
      };
      const onError = (error: Error): void => {
        worker.off('message', onMessage);
        reject(error);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
    });
    // Awaited below; meanwhile its rejection must not count as unhandled.
    finished.catch(() => undefined);

    worker.postMessage({ type: 'start', file } satisfies DecoderRequest);
    try {
      for await (const chunk of source) {
        signal?.throwIfAborted();
        if (failure) break;
        // A copy: a stream's Buffer may share its memory with others, which a transfer would detach.
        const data = new Uint8Array(chunk).buffer;
        worker.postMessage({ type: 'chunk', data } satisfies DecoderRequest, [data]);
        inFlight++;
        while (inFlight >= MAX_CHUNKS_IN_FLIGHT && !failure)
          await new Promise<void>((resolve) => (acked = resolve));
      }
    } catch (error) {
      // Let the worker finish this file before the error leaves, so the next file starts clean.
      worker.postMessage({ type: 'end' } satisfies DecoderRequest);
      await finished.catch(() => undefined);
      throw error;
    }
    worker.postMessage({ type: 'end' } satisfies DecoderRequest);
    return finished;
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
  }
}
