import fs from 'node:fs';
import { CaptureStore, locateStoredFile, openCaptureStore } from '../storage/captureStore';
import { parseLocation } from '../storage/location';
import { BatchFile } from './localLakehouse';

/**
 * The Capture files that arguments name — a file, a folder (walked for *.avro), or a container URL
 * with an optional prefix, or one blob — in sorted path order, as one batch takes them.
 */
export async function resolveBatchFiles(args: string[], signal?: AbortSignal): Promise<BatchFile[]> {
  const files: BatchFile[] = [];
  for (const arg of args) {
    const location = parseLocation(arg);
    const isFile =
      location.kind === 'dir'
        ? fs.existsSync(location.path) && fs.statSync(location.path).isFile()
        : location.prefix.endsWith('.avro/');
    if (isFile) {
      files.push(locateStoredFile(arg));
      continue;
    }
    if (location.kind === 'dir' && !fs.existsSync(location.path)) {
      throw new Error(`${arg}: no such file or folder`);
    }
    files.push(...(await listBatchFiles(openCaptureStore(location), signal)));
  }
  return files.sort((a, b) => compare(a.store.fileUrl(a.path), b.store.fileUrl(b.path)));
}

/** Every Capture file of a store, as a batch takes them. */
export async function listBatchFiles(store: CaptureStore, signal?: AbortSignal): Promise<BatchFile[]> {
  const files: BatchFile[] = [];
  for await (const file of store.list({ signal })) files.push({ store, path: file.path });
  return files;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
