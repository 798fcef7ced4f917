import fs from 'node:fs';
import path from 'node:path';

/** Shared fixtures live beside the project's root: ../shared/fixtures. */
export const SHARED_FIXTURES = path.resolve(__dirname, '..', '..', 'shared', 'fixtures');
export const CAPTURE_FIXTURES = path.join(SHARED_FIXTURES, 'capture');

export interface ExpectedCaptureRecord {
  file: string;
  record_index: number;
  SequenceNumber: number;
  Offset: string;
  EnqueuedTimeUtc: string;
  SystemProperties: Record<string, unknown>;
  Properties: Record<string, unknown>;
  Body: string;
}

export function expectedCaptureRecords(): ExpectedCaptureRecord[] {
  return fs
    .readFileSync(path.join(CAPTURE_FIXTURES, 'expected.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ExpectedCaptureRecord);
}
