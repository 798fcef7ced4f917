import https from 'node:https';
import { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { generate } from 'selfsigned';
import thrift from 'thrift';
import Int64 from 'node-int64';
// The Thrift service (HiveServer2's TCLIService, as Databricks SQL warehouses speak it) that the
// driver itself ships: the fake answers the same binary messages a warehouse does.
import * as TCLIService from '@databricks/sql/thrift/TCLIService';
import {
  TProtocolVersion,
  TSparkRowSetType,
  TStatusCode,
  TOperationState,
  TTypeId,
} from '@databricks/sql/thrift/TCLIService_types';
import { errorMessage } from '../../lib/errorMessage';

/** What the fake warehouse runs: column names and DuckDB type names, and rows as JSON values. */
export interface FakeWarehouseEngine {
  describe(sql: string): Promise<{ column_name: unknown; column_type: unknown }[]>;
  query(sql: string): Promise<Record<string, unknown>[]>;
}

export interface FakeSqlWarehouse {
  url: string;
  httpPath: string;
  caCert: string;
  /** Every Authorization header, OpenSession namespace and statement seen, in order. */
  seen: { authorization: string[]; sessions: { catalog?: string; schema?: string }[]; statements: string[] };
  close(): Promise<void>;
}

const OK = { statusCode: TStatusCode.SUCCESS_STATUS };

/**
 * A Databricks SQL warehouse stand-in over HTTPS (self-signed; trust `caCert`): Thrift binary protocol
 * on the warehouse's HTTP path, bearer-token check, sessions with an initial namespace, statements
 * run on DuckDB and answered as column-based row sets (the Hive wire types a warehouse declares for
 * STRING, BIGINT, DECIMAL, DOUBLE, DATE, TIMESTAMP). A wrong token gets 403 as a warehouse answers.
 */
export async function startFakeSqlWarehouse(
  engine: FakeWarehouseEngine,
  options: { token: string; httpPath?: string },
): Promise<FakeSqlWarehouse> {
  const httpPath = options.httpPath ?? '/sql/1.0/warehouses/fake0123456789';
  const seen: FakeSqlWarehouse['seen'] = { authorization: [], sessions: [], statements: [] };
  const operations = new Map<string, { columns: Column[]; rows: Record<string, unknown>[]; next: number }>();
  // Handles are UUIDs on the wire (the driver prints them as such).
  const handle = () => ({
    guid: Buffer.from(randomUUID().replace(/-/g, ''), 'hex'),
    secret: randomBytes(16),
  });

  // Every handler takes its request: Thrift's processor calls a zero-argument handler callback-style.
  const handler = {
    OpenSession: async (req: { initialNamespace?: { catalogName?: string; schemaName?: string } }) => {
      seen.sessions.push({
        catalog: req.initialNamespace?.catalogName,
        schema: req.initialNamespace?.schemaName,
      });
      return {
        status: OK,
        // Protocol V1 of Databricks' Spark CLI service: column-based results, no Arrow, no cloud fetch.
        serverProtocolVersion: TProtocolVersion.SPARK_CLI_SERVICE_PROTOCOL_V1,
        sessionHandle: { sessionId: handle() },
      };
    },
    CloseSession: async (_req: unknown) => ({ status: OK }),
    ExecuteStatement: async (req: { statement: string }) => {
      seen.statements.push(req.statement);
      const id = handle();
      try {
        const columns = (await engine.describe(req.statement)).map((c, i) =>
          columnOf(String(c.column_name), String(c.column_type), i),
        );
        operations.set(id.guid.toString('hex'), {
          columns,
          rows: await engine.query(req.statement),
          next: 0,
        });
      } catch (error) {
        return {
          status: {
            statusCode: TStatusCode.ERROR_STATUS,
            sqlState: '42000',
            errorMessage: `[PARSE_SYNTAX_ERROR] ${errorMessage(error)}`,
          },
        };
      }
      return { status: OK, operationHandle: { operationId: id, operationType: 0, hasResultSet: true } };
    },
    GetOperationStatus: async (_req: unknown) => ({
      status: OK,
      operationState: TOperationState.FINISHED_STATE,
    }),
    GetResultSetMetadata: async (req: { operationHandle: OperationHandle }) => ({
      status: OK,
      resultFormat: TSparkRowSetType.COLUMN_BASED_SET,
      schema: {
        columns: operation(req.operationHandle).columns.map((c) => ({
          columnName: c.name,
          position: c.position,
          typeDesc: { types: [{ primitiveEntry: { type: c.type } }] },
        })),
      },
    }),
    FetchResults: async (req: { operationHandle: OperationHandle; maxRows: Int64 | number }) => {
      const op = operation(req.operationHandle);
      const rows = op.rows.slice(op.next, op.next + Number(req.maxRows));
      op.next += rows.length;
      return {
        status: OK,
        hasMoreRows: op.next < op.rows.length,
        results: { startRowOffset: new Int64(0), rows: [], columns: op.columns.map((c) => c.encode(rows)) },
      };
    },
    CloseOperation: async (req: { operationHandle: OperationHandle }) => {
      operations.delete(req.operationHandle.operationId.guid.toString('hex'));
      return { status: OK };
    },
    CancelOperation: async (_req: unknown) => ({ status: OK }),
  };
  function operation(h: OperationHandle) {
    const op = operations.get(h.operationId.guid.toString('hex'));
    if (!op) throw new Error('invalid operation handle');
    return op;
  }

  const thriftServer = thrift.createWebServer({
    services: {
      // Thrift's defaults are what the driver speaks: buffered transport, binary protocol.
      [httpPath]: {
        processor: TCLIService,
        handler,
      },
    },
  });
  const [onThrift] = thriftServer.listeners('request') as ((
    req: import('node:http').IncomingMessage,
    res: import('node:http').ServerResponse,
  ) => void)[];

  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  const server = https.createServer({ key: pems.private, cert: pems.cert }, (req, res) => {
    seen.authorization.push(String(req.headers.authorization ?? ''));
    if (req.headers.authorization !== `Bearer ${options.token}`) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('Invalid access token.');
      return;
    }
    onThrift(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    httpPath,
    caCert: pems.cert,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface OperationHandle {
  operationId: { guid: Buffer };
}

interface Column {
  name: string;
  position: number;
  type: number;
  encode(rows: Record<string, unknown>[]): Record<string, unknown>;
}

/** A DuckDB result column as the Hive type a warehouse declares and the TColumn it fills. */
function columnOf(name: string, duckType: string, index: number): Column {
  const nulls = (values: unknown[]) => {
    const bits = Buffer.alloc(Math.ceil(values.length / 8));
    values.forEach((v, i) => {
      if (v == null) bits[i >> 3] |= 1 << (i & 7);
    });
    return bits;
  };
  const values = (rows: Record<string, unknown>[]) => rows.map((r) => r[name]);
  const of = (type: number, field: string, convert: (v: unknown) => unknown): Column => ({
    name,
    position: index + 1,
    type,
    encode: (rows) => {
      const raw = values(rows);
      return {
        [field]: { values: raw.map((v) => (v == null ? convert(null) : convert(v))), nulls: nulls(raw) },
      };
    },
  });
  if (/^(BIGINT|INTEGER|HUGEINT|UBIGINT|SMALLINT|TINYINT)$/.test(duckType))
    return of(TTypeId.BIGINT_TYPE, 'i64Val', (v) => new Int64(v == null ? 0 : Number(v)));
  if (/^(DOUBLE|FLOAT)$/.test(duckType)) return of(TTypeId.DOUBLE_TYPE, 'doubleVal', (v) => Number(v ?? 0));
  if (duckType.startsWith('DECIMAL')) return of(TTypeId.DECIMAL_TYPE, 'stringVal', (v) => String(v ?? ''));
  if (duckType === 'DATE') return of(TTypeId.DATE_TYPE, 'stringVal', (v) => String(v ?? ''));
  if (duckType.startsWith('TIMESTAMP'))
    return of(TTypeId.TIMESTAMP_TYPE, 'stringVal', (v) => String(v ?? ''));
  if (duckType === 'BOOLEAN') return of(TTypeId.BOOLEAN_TYPE, 'boolVal', (v) => v === true);
  return of(TTypeId.STRING_TYPE, 'stringVal', (v) => String(v ?? ''));
}
