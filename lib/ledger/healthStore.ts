import { RestError, TableClient } from '@azure/data-tables';
import type { PipelineHealth } from '../pipeline/pipelineDecision';

/** The pipeline's health as last written by the orchestration, and when. */
export type StoredHealth = PipelineHealth & { writtenAt: string };

/** Where the orchestration writes its health and the backlog timer reads it. */
export interface HealthStore {
  write(health: PipelineHealth, at: Date): Promise<void>;
  read(): Promise<StoredHealth | null>;
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

  async read(): Promise<StoredHealth | null> {
    await (this.ready ??= this.table.createTable());
    try {
      const row = await this.table.getEntity<Record<string, unknown>>('pipeline', 'health');
      return {
        pausedUntil: typeof row.pausedUntil === 'number' ? row.pausedUntil : null,
        pauseReason: typeof row.pauseReason === 'string' ? row.pauseReason : null,
        platformFailures: typeof row.platformFailures === 'number' ? row.platformFailures : 0,
        lastPlatformError: typeof row.lastPlatformError === 'string' ? row.lastPlatformError : null,
        writtenAt: String(row.writtenAt),
      };
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return null;
      throw error;
    }
  }
}
