import type { DBSQLClient } from '@databricks/sql';
import type IDBSQLSession from '@databricks/sql/dist/contracts/IDBSQLSession';
import { DATABRICKS_SCOPE, DatabricksAuth } from './jobsClient';
import { errorMessage } from '../errorMessage';

export interface SqlWarehouseOptions {
  /** Workspace URL (`https://adb-….azuredatabricks.net`); the driver always speaks HTTPS. */
  workspaceUrl: string;
  /** The warehouse's HTTP path, `/sql/1.0/warehouses/<id>` (its Connection details tab). */
  httpPath: string;
  catalog: string;
  schema: string;
  auth: DatabricksAuth;
  /** An extra trusted CA (PEM), for a TLS-inspecting proxy; the public roots stay trusted. */
  caCert?: string;
}

/** A read on the SQL warehouse failed: which step, with the driver's message. */
export class SqlWarehouseError extends Error {
  constructor(
    readonly step: 'connect' | 'query',
    readonly httpPath: string,
    cause: unknown,
  ) {
    super(`SQL warehouse ${httpPath}: ${step} failed: ${errorMessage(cause)}`, { cause });
    this.name = 'SqlWarehouseError';
  }
}

/**
 * Gold on the Databricks SQL warehouse through `@databricks/sql` (Thrift over HTTPS). One session per
 * instance, opened on the first query, with the lakehouse's catalog and schema as its defaults, so the
 * shared SELECTs keep their table names unqualified. Use it for one read and close it: the product reads
 * the warehouse only when a person asks (it would never auto-stop otherwise).
 */
export class SqlWarehouse {
  private opened?: Promise<{ client: DBSQLClient; session: IDBSQLSession }>;

  constructor(private readonly options: SqlWarehouseOptions) {}

  async query(sql: string): Promise<Record<string, unknown>[]> {
    const { session } = await this.open();
    try {
      const operation = await session.executeStatement(sql, { runAsync: true });
      try {
        return (await operation.fetchAll()) as Record<string, unknown>[];
      } finally {
        await operation.close();
      }
    } catch (error) {
      throw new SqlWarehouseError('query', this.options.httpPath, error);
    }
  }

  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    if (!opened) return;
    const { client, session } = await opened.catch(() => ({ client: undefined, session: undefined }));
    await session?.close();
    await client?.close();
  }

  private open(): Promise<{ client: DBSQLClient; session: IDBSQLSession }> {
    this.opened ??= this.connect().catch((error: unknown) => {
      this.opened = undefined;
      throw new SqlWarehouseError('connect', this.options.httpPath, error);
    });
    return this.opened;
  }

  private async connect(): Promise<{ client: DBSQLClient; session: IDBSQLSession }> {
    const { workspaceUrl, httpPath, catalog, schema, auth, caCert } = this.options;
    // Loaded on first use: the driver (Thrift, Arrow) would otherwise add to every cold start.
    const { DBSQLClient, LogLevel } = await import('@databricks/sql');
    const url = new URL(workspaceUrl);
    const client = new DBSQLClient({
      logger: {
        log: (level, message) => {
          if (level === LogLevel.error) console.error(JSON.stringify({ event: 'sqlWarehouse', message }));
        },
      },
    });
    await client.connect({
      host: url.hostname,
      port: url.port ? Number(url.port) : 443,
      path: httpPath,
      ...('token' in auth
        ? { authType: 'access-token' as const, token: auth.token }
        : {
            authType: 'external-token' as const,
            getToken: async () => {
              const token = await auth.credential.getToken(DATABRICKS_SCOPE);
              if (!token) throw new Error(`no Entra ID token for ${DATABRICKS_SCOPE}`);
              return token.token;
            },
          }),
      customCaCert: caCert,
      // A page load is waiting: a few quick retries, not the driver's 15 minutes.
      retryMaxAttempts: 3,
      retriesTimeout: 30_000,
      telemetryEnabled: false,
    });
    try {
      const session = await client.openSession({ initialCatalog: catalog, initialSchema: schema });
      return { client, session };
    } catch (error) {
      await client.close();
      throw error;
    }
  }
}
