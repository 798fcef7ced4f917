import type { FileRef, OpenFile } from '../pipeline/pipelineDecision';
import type { LedgerFile } from './ledger';

/** A ledger row as the orchestration carries it. */
export function fileRefOf(row: LedgerFile): FileRef {
  const { path, url, bytes, records, triggeredAt, attempts } = row;
  return { path, url, bytes, records, triggeredAt: Date.parse(triggeredAt), attempts: attempts ?? 0 };
}

/** A row of the ledger's open set (pending, batched or submitted) as the orchestration carries it. */
export function toOpenFile(row: LedgerFile): OpenFile {
  return {
    ...fileRefOf(row),
    state: row.state as OpenFile['state'],
    batchId: row.batchId,
    attempt: row.batchAttempt,
    depth: row.batchDepth,
    runId: row.runId ? Number(row.runId) : undefined,
  };
}
