import { SqlWarehouse, SqlWarehouseError } from '../databricks/sqlWarehouse';
import { GoldKpis, GoldSource, goldKpis } from '../lakehouse/goldSummary';
import type { DatabricksAuth } from '../databricks/jobsClient';

/** Which engine answered: DuckDB costs nothing to ask again; the warehouse is asked on demand only. */
export type GoldEngine = 'duckdb' | 'sql-warehouse';

export type GoldAnswer =
  | { status: 200; body: GoldKpis & { engine: GoldEngine; at: string } }
  | { status: 502 | 503; body: { error: string } };

export const GOLD_NOT_CONFIGURED =
  'gold KPIs are read from the Databricks SQL warehouse: set DATABRICKS_SQL_HTTP_PATH (and DATABRICKS_CATALOG, DATABRICKS_SCHEMA)';

/** `GET /api/gold`: the KPIs, 503 when no warehouse is configured, 502 when the warehouse fails. */
export async function goldAnswer(
  source: GoldSource | undefined,
  engine: GoldEngine,
  now = new Date(),
): Promise<GoldAnswer> {
  if (!source) return { status: 503, body: { error: GOLD_NOT_CONFIGURED } };
  try {
    return { status: 200, body: { engine, at: now.toISOString(), ...(await goldKpis(source)) } };
  } catch (error) {
    if (error instanceof SqlWarehouseError) return { status: 502, body: { error: error.message } };
    throw error;
  }
}

/** The warehouse that serves gold: its HTTP path, and the lakehouse's catalog and schema. */
export interface WarehouseSettings {
  httpPath: string;
  catalog: string;
  schema: string;
}

/** The SQL warehouse of the workspace at `workspaceUrl`, or undefined when none is configured. */
export function configuredWarehouse(
  warehouse: WarehouseSettings | undefined,
  workspaceUrl: string,
  auth: DatabricksAuth,
): SqlWarehouse | undefined {
  return warehouse && new SqlWarehouse({ workspaceUrl, ...warehouse, auth });
}

/** The gold API's answer from the configured SQL warehouse, one session for the read. */
export async function warehouseGold(
  settings: WarehouseSettings | undefined,
  workspaceUrl: string,
  auth: DatabricksAuth,
): Promise<GoldAnswer> {
  const warehouse = configuredWarehouse(settings, workspaceUrl, auth);
  try {
    return await goldAnswer(warehouse, 'sql-warehouse');
  } finally {
    await warehouse?.close();
  }
}

/**
 * Reuses a successful gold answer for `maxAgeMs`, so several people opening the dashboard wake the
 * warehouse once; failures are not kept. `fresh` (the dashboard's refresh button) reads again.
 */
export class GoldCache {
  private kept?: { answer: GoldAnswer; at: number };
  private reading?: Promise<GoldAnswer>;

  constructor(private readonly maxAgeMs: number) {}

  async get(
    read: () => Promise<GoldAnswer>,
    options: { fresh?: boolean; now?: number } = {},
  ): Promise<GoldAnswer> {
    const now = options.now ?? Date.now();
    if (!options.fresh && this.kept && now - this.kept.at < this.maxAgeMs) return this.kept.answer;
    // Viewers arriving during a read share it rather than open sessions of their own.
    this.reading ??= read().finally(() => (this.reading = undefined));
    const answer = await this.reading;
    if (answer.status === 200 && this.maxAgeMs > 0) this.kept = { answer, at: now };
    return answer;
  }
}
