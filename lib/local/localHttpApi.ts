import http from 'node:http';
import { AddressInfo } from 'node:net';
import { DASHBOARD_HEADERS, DASHBOARD_HTML } from '../operate/dashboardPage';
import type { GoldAnswer } from '../operate/goldReport';
import { PipelineStatus } from '../operate/status';
import { OrderEventSink, publishRequest } from '../publish/orderPublisher';
import { errorMessage } from '../errorMessage';

export interface LocalHttpApiOptions {
  sink: OrderEventSink;
  maxBodyBytes: number;
  status: () => Promise<PipelineStatus>;
  gold: () => Promise<GoldAnswer>;
  host?: string;
  port?: number;
}

/**
 * The Functions app's HTTP endpoints for the local stack, at the paths the host serves them
 * (`/api/orders`, `/api/status`, `/api/gold`, `/api/dashboard`). Locally there are no function
 * keys, so it listens on 127.0.0.1 only and keeps web pages from driving it: a request must name
 * a loopback host (421 otherwise, which defeats DNS rebinding), may carry no other site's Origin
 * (403), and may publish only `application/json` (415), which no page of another origin can send
 * without a CORS preflight, which nothing here answers.
 */
export class LocalHttpApi {
  private constructor(private readonly server: http.Server) {}

  static async start(options: LocalHttpApiOptions): Promise<LocalHttpApi> {
    const server = http.createServer((request, response) => {
      const port = (server.address() as AddressInfo).port;
      route(request, port, options)
        .then(({ status, type, body, headers }) => {
          response.writeHead(status, { ...BASE_HEADERS, 'content-type': type, ...headers });
          response.end(body);
        })
        .catch((error: unknown) => {
          response.writeHead(500, { ...BASE_HEADERS, 'content-type': JSON_TYPE });
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
const BASE_HEADERS = { 'x-content-type-options': 'nosniff' };
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

interface Reply {
  status: number;
  type: string;
  body: string;
  headers?: Readonly<Record<string, string>>;
}

const jsonReply = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({
  status,
  type: JSON_TYPE,
  body: JSON.stringify(body),
  headers,
});

/** `host:port` naming this server by a loopback name (the port may be left out only for 80). */
function isLoopbackAuthority(authority: string, port: number): boolean {
  const value = authority.toLowerCase();
  return LOOPBACK_NAMES.some((name) => value === `${name}:${port}` || (port === 80 && value === name));
}

/** Why a request is refused before routing: a foreign Host or Origin. */
function refusal(request: http.IncomingMessage, port: number): Reply | undefined {
  const host = request.headers.host;
  if (host === undefined || !isLoopbackAuthority(host, port)) {
    return jsonReply(421, {
      error: `Host ${JSON.stringify((host ?? 'missing').slice(0, 64))} is not this server; use http://127.0.0.1:${port}`,
    });
  }
  // No Origin: not a browser's cross-origin request (curl, scripts, a link followed).
  const origin = request.headers.origin;
  if (origin !== undefined && !(origin.startsWith('http://') && isLoopbackAuthority(origin.slice(7), port))) {
    return jsonReply(403, {
      error: `requests from origin ${JSON.stringify(origin.slice(0, 64))} are refused; only this server's own pages may call it`,
    });
  }
  return undefined;
}

async function route(
  request: http.IncomingMessage,
  port: number,
  options: LocalHttpApiOptions,
): Promise<Reply> {
  const refused = refusal(request, port);
  if (refused) return refused;
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  const methods: Record<string, string> = {
    '/api/orders': 'POST',
    '/api/status': 'GET',
    '/api/gold': 'GET',
    '/api/dashboard': 'GET',
  };
  if (!methods[path]) return jsonReply(404, { error: `no endpoint ${path}` });
  if (request.method !== methods[path]) {
    return jsonReply(405, { error: `${path} takes ${methods[path]}` }, { allow: methods[path] });
  }
  if (path === '/api/dashboard') {
    return {
      status: 200,
      type: DASHBOARD_HEADERS['content-type'],
      body: DASHBOARD_HTML,
      headers: DASHBOARD_HEADERS,
    };
  }
  if (path === '/api/status') return jsonReply(200, await options.status());
  if (path === '/api/gold') {
    const answer = await options.gold();
    return jsonReply(answer.status, answer.body);
  }
  const answer = await publishRequest(
    {
      contentType: request.headers['content-type'],
      contentLength: request.headers['content-length'],
      body: request,
    },
    options.sink,
    { maxBytes: options.maxBodyBytes },
  );
  return jsonReply(answer.status, answer.body);
}
