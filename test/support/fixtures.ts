import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './paths';

/** Real-form Capture files (see their README), kept in the repository. */
export const CAPTURE_FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'capture');

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

/**
 * EventData as another Avro writer declares it: maps of plain strings and a plain bytes Body, no
 * unions. Real Capture files use unions (lib/capture/schema.ts); readers must take both.
 */
export const OTHER_WRITER_SCHEMA = {
  type: 'record',
  name: 'EventData',
  namespace: 'Microsoft.ServiceBus.Messaging',
  fields: [
    { name: 'SequenceNumber', type: 'long' },
    { name: 'Offset', type: 'string' },
    { name: 'EnqueuedTimeUtc', type: 'string' },
    { name: 'SystemProperties', type: { type: 'map', values: 'string' } },
    { name: 'Properties', type: { type: 'map', values: 'string' } },
    { name: 'Body', type: 'bytes' },
  ] as object[],
};
