import http from 'node:http';
import { AddressInfo } from 'node:net';

/** One orchestration instance as the extension's status API describes it. */
interface Instance {
  name: string;
  instanceId: string;
  runtimeStatus: string;
  input: unknown;
  createdTime: string;
  lastUpdatedTime: string;
}

/**
 * The Durable Functions extension's HTTP API as durable-functions' DurableClient calls it through
 * `rpcBaseUrl` (lib/src/durableClient/DurableClient.js): `GET instances/{id}` (404 when unknown),
 * `POST orchestrators/{name}/{id}` (202 with the id), `POST instances/{id}/raiseEvent/{event}`
 * (202, 410 when the instance is not running). It keeps instances in memory and records each call.
 */
export class FakeDurableExtension {
  readonly calls: string[] = [];
  readonly instances = new Map<string, Instance>();
  readonly events: { instanceId: string; name: string; data: unknown }[] = [];
  private server?: http.Server;

  static async start(): Promise<FakeDurableExtension> {
    const extension = new FakeDurableExtension();
    extension.server = http.createServer((req, res) => void extension.handle(req, res));
    await new Promise<void>((resolve) => extension.server!.listen(0, '127.0.0.1', resolve));
    return extension;
  }

  get rpcBaseUrl(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/durabletask/`;
  }

  /** The durable client input binding's value, as the host passes it to a function. */
  clientInput(): Record<string, unknown> {
    return {
      taskHubName: 'OrdersPipeline',
      creationUrls: {},
      managementUrls: {},
      baseUrl: this.rpcBaseUrl,
      requiredQueryStringParameters: '',
      rpcBaseUrl: this.rpcBaseUrl,
      httpBaseUrl: this.rpcBaseUrl,
    };
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server!.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/durabletask\//, '');
    this.calls.push(`${req.method} ${path}`);
    const reply = (status: number, value?: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(value === undefined ? '' : JSON.stringify(value));
    };
    const parts = path.split('/').map(decodeURIComponent);
    const now = new Date().toISOString();
    if (req.method === 'GET' && parts[0] === 'instances' && parts.length === 2) {
      const instance = this.instances.get(parts[1]);
      return instance ? reply(200, { ...instance, output: null, customStatus: null }) : reply(404);
    }
    if (req.method === 'POST' && parts[0] === 'orchestrators' && parts.length === 3) {
      const [, name, instanceId] = parts;
      this.instances.set(instanceId, {
        name,
        instanceId,
        runtimeStatus: 'Running',
        input: body ? JSON.parse(body) : null,
        createdTime: now,
        lastUpdatedTime: now,
      });
      return reply(202, { id: instanceId });
    }
    if (req.method === 'POST' && parts[0] === 'instances' && parts[2] === 'raiseEvent') {
      const instance = this.instances.get(parts[1]);
      if (!instance) return reply(404);
      if (instance.runtimeStatus !== 'Running') return reply(410);
      this.events.push({ instanceId: parts[1], name: parts[3], data: body ? JSON.parse(body) : null });
      return reply(202);
    }
    reply(400, { error: `not an operation this fake knows: ${req.method} ${path}` });
  }
}
