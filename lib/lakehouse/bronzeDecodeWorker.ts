import { parentPort } from 'node:worker_threads';
import { CaptureFileError, readCaptureBlocksWithoutProperties } from '../capture/captureFileReader';
import { toBronzeColumns } from './bronzeRows';
import { DecoderReply, DecoderRequest } from './bronzeDecoder';

/**
 * Decodes Capture files into bronze columns off the main thread, which meanwhile appends the
 * previous block to DuckDB. One file at a time; chunks arrive by message and are acknowledged as
 * they are consumed, so the main thread keeps only a few in flight.
 */
const port = parentPort!;
let chunks: Uint8Array[] = [];
let ended = false;
let wake: (() => void) | undefined;

async function* source(): AsyncGenerator<Uint8Array> {
  for (;;) {
    if (chunks.length > 0) {
      const chunk = chunks.shift()!;
      port.postMessage({ type: 'ack' } satisfies DecoderReply);
      yield chunk;
    } else if (ended) {
      return;
    } else {
      await new Promise<void>((resolve) => (wake = resolve));
    }
  }
}

async function decode(file: string): Promise<void> {
  let records = 0;
  try {
    for await (const block of readCaptureBlocksWithoutProperties(source(), { file })) {
      records += block.records.length;
      port.postMessage({ type: 'block', columns: toBronzeColumns(block.records) } satisfies DecoderReply);
    }
    port.postMessage({ type: 'done', records } satisfies DecoderReply);
  } catch (error) {
    const e = error as Error;
    port.postMessage({
      type: 'error',
      message: e.message,
      capture:
        error instanceof CaptureFileError
          ? { kind: error.kind, offset: error.offset, detail: error.detail }
          : undefined,
    } satisfies DecoderReply);
  }
}

port.on('message', (message: DecoderRequest) => {
  if (message.type === 'start') {
    chunks = [];
    ended = false;
    void decode(message.file);
    return;
  }
  if (message.type === 'chunk') chunks.push(new Uint8Array(message.data));
  else ended = true;
  wake?.();
  wake = undefined;
});
