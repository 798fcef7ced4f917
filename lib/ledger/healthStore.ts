import { RestError, TableClient } from '@azure/data-tables';
import type { PipelineHealth } from '../pipeline/pipelineDecision';

/**
 * The pipeline's health as last written by the orchestration, and when; and the last time someone
 * asked paused submissions to resume (`orders-pipeline process`).
 */
export type StoredHealth = PipelineHealth & { writtenAt: string; resumeRequestedAt: string | null };

/** Where the orchestration writes its health and the backlog timer reads it. */
export interface HealthStore {
  write(health: PipelineHealth, at: Date): Promise<void>;
  read(): Promise<StoredHealth | null>;
  /** Asks a paused orchestration to try again now; it reads this at its next ledger sweep. */
  requestResume(at: Date): Promise<void>;
}

/** One row of the ledger's state table (beside the backlog watermark). */
export class TableHealthStore implements HealthStore {
  private ready?: Promise<unknown>;

  constructor(private readonly table: TableClient) {}

  async write(health: PipelineHealth, at: Date): Promise<void> {
    await (this.ready ??= this.table.createTable());
    await this.table.upsertEntity(
      {
        partitionKey: 'pipeline',
        rowKey: 'health',
        // Table Storage has no null: an absent property reads back as null.
        ...(health.pausedUntil !== null ? { pausedUntil: health.pausedUntil } : {}),
        ...(health.pauseReason !== null ? { pauseReason: health.pauseReason } : {}),
        platformFailures: health.platformFailures,
        ...(health.lastPlatformError !== null ? { lastPlatformError: health.lastPlatformError } : {}),
        writtenAt: at.toISOString(),
      },
      'Replace',
    );
  }

  /** A row of its own, so the orchestration's writes never erase a request. */
  async requestResume(at: Date): Promise<void> {
    await (this.ready ??= this.table.createTable());
    await this.table.upsertEntity(
      { partitionKey: 'pipeline', rowKey: 'resume', requestedAt: at.toISOString() },
      'Replace',
    );
  }

  /** Null until either the orchestration wrote its health or someone asked it to resume. */
  async read(): Promise<StoredHealth | null> {
    await (this.ready ??= this.table.createTable());
    const [row, resume] = await Promise.all([this.row('health'), this.row('resume')]);
    if (!row && !resume) return null;
    return {
      pausedUntil: typeof row?.pausedUntil === 'number' ? row.pausedUntil : null,
      pauseReason: typeof row?.pauseReason === 'string' ? row.pauseReason : null,
      platformFailures: typeof row?.platformFailures === 'number' ? row.platformFailures : 0,
      lastPlatformError: typeof row?.lastPlatformError === 'string' ? row.lastPlatformError : null,
      writtenAt: typeof row?.writtenAt === 'string' ? row.writtenAt : '',
      resumeRequestedAt: typeof resume?.requestedAt === 'string' ? resume.requestedAt : null,
    };
  }

  private async row(rowKey: string): Promise<Record<string, unknown> | undefined> {
    try {
      return await this.table.getEntity<Record<string, unknown>>('pipeline', rowKey);
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return undefined;
      throw error;
    }
  }
}
