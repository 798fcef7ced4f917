import http from 'node:http';
import { AddressInfo } from 'node:net';
import { DASHBOARD_HTML } from '../operate/dashboardPage';
import type { GoldAnswer } from '../operate/goldReport';
import { PipelineStatus } from '../operate/status';
import { OrderEventSink, payloadTooLarge, publishOrders } from '../publish/orderPublisher';
import { errorMessage } from '../errorMessage';

export interface LocalHttpApiOptions {
  sink: OrderEventSink;
  maxBodyBytes: number;
  status: () => Promise<PipelineStatus & { backlogHistory?: { at: string; files: number }[] }>;
  gold: () => Promise<GoldAnswer>;
  host?: string;
  port?: number;
}

/**
 * The Functions app's HTTP endpoints for the local stack, at the paths the host serves them
 * (`/api/orders`, `/api/status`, `/api/gold`, `/api/dashboard`). Locally there are no function
 * keys: it listens on 127.0.0.1 only.
 */
export class LocalHttpApi {
  private constructor(private readonly server: http.Server) {}

  static async start(options: LocalHttpApiOptions): Promise<LocalHttpApi> {
    const server = http.createServer((request, response) => {
      route(request, options)
        .then(({ status, type, body }) => {
          response.writeHead(status, { 'content-type': type });
          response.end(body);
        })
        .catch((error: unknown) => {
          response.writeHead(500, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ error: errorMessage(error) }));
        });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 7071, options.host ?? '127.0.0.1', () => resolve());
    });
    return new LocalHttpApi(server);
  }

  get url(): string {
    const address = this.server.address() as AddressInfo;
    return `http://${address.address}:${address.port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

const JSON_TYPE = 'application/json';

async function route(
  request: http.IncomingMessage,
  options: LocalHttpApiOptions,
): Promise<{ status: number; type: string; body: string }> {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  const methods: Record<string, string> = {
    '/api/orders': 'POST',
    '/api/status': 'GET',
    '/api/gold': 'GET',
    '/api/dashboard': 'GET',
  };
  if (!methods[path])
    return { status: 404, type: JSON_TYPE, body: JSON.stringify({ error: `no endpoint ${path}` }) };
  if (request.method !== methods[path]) {
    return {
      status: 405,
      type: JSON_TYPE,
      body: JSON.stringify({ error: `${path} takes ${methods[path]}` }),
    };
  }
  if (path === '/api/dashboard')
    return { status: 200, type: 'text/html; charset=utf-8', body: DASHBOARD_HTML };
  if (path === '/api/status')
    return { status: 200, type: JSON_TYPE, body: JSON.stringify(await options.status()) };
  if (path === '/api/gold') {
    const answer = await options.gold();
    return { status: answer.status, type: JSON_TYPE, body: JSON.stringify(answer.body) };
  }
  const declared = Number(request.headers['content-length'] ?? 0);
  const chunks: Buffer[] = [];
  let size = 0;
  if (declared <= options.maxBodyBytes) {
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > options.maxBodyBytes) break;
      chunks.push(chunk as Buffer);
    }
  }
  const answer =
    declared > options.maxBodyBytes || size > options.maxBodyBytes
      ? payloadTooLarge(Math.max(declared, size), options.maxBodyBytes)
      : await publishOrders(Buffer.concat(chunks), options.sink, { maxBytes: options.maxBodyBytes });
  return { status: answer.status, type: JSON_TYPE, body: JSON.stringify(answer.body) };
}
