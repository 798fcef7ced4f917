import { createHash } from 'node:crypto';
import http from 'node:http';
import { ReadableStream } from 'node:stream/web';
import type { EventHubProducerClient } from '@azure/event-hubs';
import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { LocalHttpApi } from '../../lib/local/localHttpApi';
import type { GoldAnswer } from '../../lib/operate/goldReport';
import type { PipelineStatus } from '../../lib/operate/status';
import {
  EventHubsSink,
  MAX_EVENT_BYTES,
  MAX_EVENTS_PER_REQUEST,
  MAX_LISTED_REJECTIONS,
  OrderEvent,
  publishOrders,
} from '../../lib/publish/orderPublisher';
import { cdcChange } from '../support/pipelineFixtures';

/** A sink that keeps what it was sent. */
class KeptEvents {
  readonly sent: OrderEvent[] = [];
  async send(events: OrderEvent[]) {
    this.sent.push(...events);
  }
}

const LIMIT = 1024 * 1024;
const JSON_HEADERS = { 'content-type': 'application/json' };

/** `1` and 200,000 zeros, scaled back to 1: one number that held the event loop for 12 s. */
const HUGE_ONE = `1${'0'.repeat(200_000)}e-200000`;

// The Azure function, registered with a stand-in for `app.http` and the Functions runtime's ports.
const mockHandlers = new Map<string, HttpHandler>();
const mockAzureSink = new KeptEvents();
jest.mock('@azure/functions', () => ({
  ...jest.requireActual<typeof import('@azure/functions')>('@azure/functions'),
  app: { http: (name: string, options: { handler: HttpHandler }) => mockHandlers.set(name, options.handler) },
}));
jest.mock('../../lib/host/functionsRuntime', () => ({
  functionsConfig: () => ({ PUBLISH_MAX_BODY_BYTES: 64 * 1024 }),
  functionsSink: async () => mockAzureSink,
}));

describe('the local API against other web pages and hostile requests', () => {
  let api: LocalHttpApi;
  let sink: KeptEvents;
  let port: number;

  beforeAll(async () => {
    sink = new KeptEvents();
    api = await LocalHttpApi.start({
      sink,
      maxBodyBytes: LIMIT,
      status: async () => ({ at: 'now' }) as unknown as PipelineStatus,
      gold: async () => ({ status: 200, body: { engine: 'duckdb' } }) as unknown as GoldAnswer,
      port: 0,
    });
    port = Number(new URL(api.url).port);
  });
  afterAll(() => api.close());

  /** A request with exactly these headers (fetch would not let a test set Host). */
  function raw(options: {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
  }): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          host: '127.0.0.1',
          port,
          method: options.method ?? 'GET',
          path: options.path ?? '/api/status',
          headers: { host: `127.0.0.1:${port}`, ...options.headers },
          setHost: false,
        },
        (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () =>
            resolve({ status: response.statusCode!, headers: response.headers, body }),
          );
        },
      );
      request.on('error', reject);
      request.end(options.body);
    });
  }

  const publish = (body: string, headers: Record<string, string> = JSON_HEADERS) =>
    fetch(`${api.url}/api/orders`, { method: 'POST', headers, body });

  it('publishes only application/json: a form or text/plain post (no CORS preflight) gets 415', async () => {
    const event = JSON.stringify(cdcChange(1, 'A'));
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const response = await publish(event, { 'content-type': type });
      expect({ type, status: response.status }).toEqual({ type, status: 415 });
      expect(await response.json()).toMatchObject({ error: expect.stringMatching(/send application\/json/) });
    }
    expect((await raw({ method: 'POST', path: '/api/orders', body: event })).status).toBe(415);
    expect(sink.sent).toEqual([]);
    expect((await publish(event, { 'content-type': 'Application/JSON; charset=utf-8' })).status).toBe(200);
    expect(sink.sent).toHaveLength(1);
  });

  it('answers only to its loopback names: another Host (DNS rebinding) gets 421', async () => {
    for (const host of [
      'evil.example',
      `evil.example:${port}`,
      `127.0.0.1:${port + 1}`,
      `10.0.0.1:${port}`,
    ]) {
      const response = await raw({ headers: { host } });
      expect({ host, status: response.status }).toEqual({ host, status: 421 });
    }
    const noHost = await raw({ headers: { host: '' } });
    expect([400, 421]).toContain(noHost.status);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
      expect({ host, status: (await raw({ headers: { host } })).status }).toEqual({ host, status: 200 });
    }
  });

  it('refuses requests from another origin with 403, and takes its own pages’ and Origin-less ones', async () => {
    const event = JSON.stringify(cdcChange(2, 'B'));
    for (const origin of [
      'https://evil.example',
      'null',
      `http://127.0.0.1:${port + 1}`,
      `https://127.0.0.1:${port}`,
      `http://127.0.0.1.evil.example:${port}`,
    ]) {
      const get = await raw({ headers: { origin } });
      const post = await raw({
        method: 'POST',
        path: '/api/orders',
        headers: { origin, ...JSON_HEADERS },
        body: event,
      });
      expect({ origin, get: get.status, post: post.status }).toEqual({ origin, get: 403, post: 403 });
    }
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
      const post = await raw({
        method: 'POST',
        path: '/api/orders',
        headers: { origin, ...JSON_HEADERS },
        body: event,
      });
      expect({ origin, status: post.status }).toEqual({ origin, status: 200 });
    }
  });

  it('serves the dashboard under a CSP that runs only its own hashed script and style, with no referrer', async () => {
    const response = await fetch(`${api.url}/api/dashboard`);
    expect(response.status).toBe(200);
    const page = await response.text();
    const csp = response.headers.get('content-security-policy') ?? '';
    const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    const scripts = [...page.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
    const styles = [...page.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]);
    expect(scripts).toHaveLength(1);
    expect(styles).toHaveLength(1);
    const directives = Object.fromEntries(
      csp.split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name, values.join(' ')];
      }),
    );
    expect(directives).toMatchObject({
      'default-src': "'none'",
      'script-src': hash(scripts[0]),
      'style-src': hash(styles[0]),
      'connect-src': "'self'",
      'frame-ancestors': "'none'",
    });
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    // Nothing inline the CSP would block: no style attributes, no event-handler attributes.
    expect(page).not.toMatch(/\sstyle=|\son[a-z]+=/);
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('the dashboard sends the function key as x-functions-key, read once from ?code= and dropped from the address', async () => {
    const page = await (await fetch(`${api.url}/api/dashboard`)).text();
    expect(page).toContain("query.get('code')");
    expect(page).toContain("query.delete('code')");
    expect(page).toContain('history.replaceState(');
    expect(page).toContain("'x-functions-key': functionKey");
    expect(page).not.toMatch(/fetch\([^)]*location\.search/);
  });

  it('answers a megabyte of [1,1,…] with a short 413, not a list of 524,288 rejections', async () => {
    const body = `[${Array(LIMIT / 2 - 1)
      .fill('1')
      .join(',')}]`;
    expect(body.length).toBeLessThanOrEqual(LIMIT);
    const response = await publish(body);
    const text = await response.text();
    expect(response.status).toBe(413);
    expect(JSON.parse(text)).toMatchObject({
      error: `the request holds more than ${MAX_EVENTS_PER_REQUEST} events; the limit is ${MAX_EVENTS_PER_REQUEST} per request`,
    });
    expect(text.length).toBeLessThan(1000);
  });

  it('lists the first rejections only, with the count of all, and cuts long values in reasons', async () => {
    const response = await publish(`[${Array(MAX_EVENTS_PER_REQUEST).fill('1').join(',')}]`);
    const text = await response.text();
    const answer = JSON.parse(text) as { rejected: { index: number }[]; rejectedCount: number };
    expect(response.status).toBe(400);
    expect(answer.rejected.map((r) => r.index)).toEqual([...Array(MAX_LISTED_REJECTIONS).keys()]);
    expect(answer.rejectedCount).toBe(MAX_EVENTS_PER_REQUEST);
    expect(text.length).toBeLessThan(20_000);

    const long = `9${'1'.repeat(100_000)}`;
    const echoed = await publish(JSON.stringify(cdcChange(3, 'C')).replace('"lsn":3', `"lsn":${long}`));
    const reason = ((await echoed.json()) as { rejected: { reason: string }[] }).rejected[0].reason;
    expect(reason).toBe(`source.lsn is ${long.slice(0, 64)}…; expected an integer from 0 to 2^63-1`);
  });

  it('answers a 200 KB number well within a second', async () => {
    const body = JSON.stringify(cdcChange(4, 'D')).replace('"lsn":4', `"lsn":${HUGE_ONE}`);
    const started = Date.now();
    const response = await publish(body);
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('cuts a chunked body without Content-Length off at the limit with 413', async () => {
    let pulled = 0;
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= 64 * LIMIT) return controller.close();
        pulled += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const response = await fetch(`${api.url}/api/orders`, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: body as unknown as NonNullable<RequestInit['body']>,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({
      error: `request body is over ${LIMIT} bytes; the limit is ${LIMIT}`,
    });
    expect(pulled).toBeLessThan(64 * LIMIT);
  });
});

describe('the publish API with events Event Hubs cannot take', () => {
  const event = (lsn: number, productNo: string, transactionNo: string, productName = 'x') =>
    cdcChange(lsn, productNo, { TransactionNo: transactionNo, ProductName: productName });

  it('rejects an event past one Event Hubs message under rule size, before anything is sent', async () => {
    const sink = new KeptEvents();
    const big = event(2, 'B', 'T2', 'n'.repeat(MAX_EVENT_BYTES));
    const answer = await publishOrders(
      Buffer.from(JSON.stringify([event(1, 'A', 'T1'), big, event(3, 'C', 'T3')])),
      sink,
      { maxBytes: 4 * MAX_EVENT_BYTES },
    );
    expect(answer).toMatchObject({
      status: 400,
      body: {
        accepted: [0, 2],
        rejected: [{ index: 1, rule: 'size', reason: expect.stringMatching(/at most 1000000$/) }],
        rejectedCount: 1,
      },
    });
    expect(sink.sent.map((e) => e.partitionKey)).toEqual(['T1', 'T3']);
  });

  it('rejects what the hub’s own batch cannot hold under rule size and sends the rest, never half a request then a 500', async () => {
    // A hub whose batches hold 600 bytes: T1's event fits, T2's (a long ProductName) does not.
    const log: string[] = [];
    const client = {
      createBatch: async ({ partitionKey }: { partitionKey: string }) => {
        let bytes = 0;
        let count = 0;
        return {
          partitionKey,
          get count() {
            return count;
          },
          tryAdd: ({ body }: { body: Uint8Array }) => {
            log.push(`tryAdd ${partitionKey}`);
            if (bytes + body.length > 600) return false;
            bytes += body.length;
            count++;
            return true;
          },
        };
      },
      sendBatch: async (batch: { partitionKey: string }) => {
        log.push(`send ${batch.partitionKey}`);
      },
    } as unknown as EventHubProducerClient;
    const answer = await publishOrders(
      Buffer.from(JSON.stringify([event(1, 'A', 'T1'), event(2, 'B', 'T2', 'n'.repeat(1000))])),
      new EventHubsSink(client),
      { maxBytes: LIMIT },
    );
    expect(answer).toMatchObject({
      status: 400,
      body: { accepted: [0], rejected: [{ index: 1, rule: 'size' }], rejectedCount: 1 },
    });
    expect(log.filter((l) => l.startsWith('send'))).toEqual(['send T1']);
    // The first attempt refused before sending: no send comes before T2 was tried.
    expect(log.indexOf('send T1')).toBeGreaterThan(log.indexOf('tryAdd T2'));
  });
});

describe('the Azure publish function against hostile requests', () => {
  const url = 'https://app.example/api/orders';

  async function handler(name: string): Promise<HttpHandler> {
    await import(`../../functions/${name}`);
    return mockHandlers.get(name)!;
  }

  /** A request as the v4 model gives it: headers, and the body as a web stream. */
  function request(headers: Record<string, string>, body: ReadableStream<Uint8Array>): HttpRequest {
    return {
      method: 'POST',
      url,
      headers: new Headers(headers),
      body,
      arrayBuffer: () => new Response(body as unknown as NonNullable<RequestInit['body']>).arrayBuffer(),
    } as unknown as HttpRequest;
  }

  const call = async (name: string, req: HttpRequest) =>
    (await (
      await handler(name)
    )(req, {} as InvocationContext)) as HttpResponseInit & {
      jsonBody: { error?: string; accepted?: number[] };
    };

  it('reads a body without Content-Length only up to the limit, then answers 413', async () => {
    let pulled = 0;
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    // highWaterMark 0: the stream produces a chunk only when the reader asks for one.
    const body = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (pulled >= 32 * 1024 * 1024) return controller.close();
          pulled += chunk.length;
          controller.enqueue(chunk);
        },
      },
      { highWaterMark: 0 },
    );
    const answer = await call('publishOrders', request(JSON_HEADERS, body));
    expect(answer.status).toBe(413);
    expect(answer.jsonBody.error).toBe('request body is over 65536 bytes; the limit is 65536');
    // The limit and at most a chunk or two the stream read ahead: not the 32 MiB on offer.
    expect(pulled).toBeLessThanOrEqual(64 * 1024 + chunk.length);
  });

  it('answers 413 on a declared length over the limit without reading, and 415 for other types', async () => {
    let pulled = 0;
    const body = () =>
      new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            pulled++;
            controller.close();
          },
        },
        { highWaterMark: 0 },
      );
    expect(
      (await call('publishOrders', request({ ...JSON_HEADERS, 'content-length': '70000' }, body()))).status,
    ).toBe(413);
    expect((await call('publishOrders', request({ 'content-type': 'text/plain' }, body()))).status).toBe(415);
    expect(pulled).toBe(0);
  });

  it('sends what passes, through the runtime’s sink', async () => {
    const text = JSON.stringify([cdcChange(1, 'A', { TransactionNo: '581482' })]);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(Buffer.from(text.slice(0, 50)));
        controller.enqueue(Buffer.from(text.slice(50)));
        controller.close();
      },
    });
    const answer = await call('publishOrders', request(JSON_HEADERS, body));
    expect(answer).toMatchObject({ status: 200, jsonBody: { accepted: [0] } });
    expect(mockAzureSink.sent.map((e) => e.partitionKey)).toEqual(['581482']);
  });

  it('serves the dashboard with its CSP and no referrer', async () => {
    const answer = (await (
      await handler('dashboard')
    )({} as HttpRequest, {} as InvocationContext)) as {
      headers: Record<string, string>;
      body: string;
    };
    expect(answer.headers['content-security-policy']).toMatch(/script-src 'sha256-[^']+'/);
    expect(answer.headers['referrer-policy']).toBe('no-referrer');
    expect(answer.body).toContain('x-functions-key');
  });
});
