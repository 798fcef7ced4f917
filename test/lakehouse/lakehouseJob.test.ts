import { BlobServiceClient } from '@azure/storage-blob';
import { JobTaskError } from '../../lib/databricks/jobRunner';
import { LakehouseJob } from '../../lib/lakehouse/lakehouseJob';
import { LocalLakehouse } from '../../lib/lakehouse/localLakehouse';
import { useAzurite } from '../support/azurite';
import { captureBytes } from './lakehouseFixtures';
import { cdcChange } from '../support/pipelineFixtures';

/**
 * The local job reads only the configured capture and manifest containers, as the workspace's
 * external locations confine the real one: a manifest_path or a listed file anywhere else (a local
 * file, another container, another host) is refused before anything is opened or echoed.
 */
describe('the local job reads only its configured locations', () => {
  const azurite = useAzurite();
  let lakehouse: LocalLakehouse;
  let job: LakehouseJob;
  let capture: string;
  let manifests: string;
  const run = (manifestPath: string) =>
    job.run(
      { batch_id: 'b1', manifest_path: manifestPath },
      { runId: 1, signal: new AbortController().signal },
    );

  beforeAll(async () => {
    const service = BlobServiceClient.fromConnectionString(azurite().connectionString);
    const containers = await Promise.all(
      ['jobcapture', 'jobmanifests', 'jobother'].map(async (name) => {
        const container = service.getContainerClient(name);
        await container.createIfNotExists();
        return container;
      }),
    );
    [capture, manifests] = containers.map((c) => c.url);
    const file = 'ordersns/orders/0/2026/11/24/09/00/00.avro';
    const bytes = await captureBytes([cdcChange(1, 'A')]);
    await containers[0].getBlockBlobClient(file).upload(bytes, bytes.length);
    await containers[2].getBlockBlobClient(file).upload(bytes, bytes.length);
    const manifest = (url: string) =>
      JSON.stringify({ batch_id: 'b1', files: [{ url, bytes: bytes.length, records: 1 }] });
    for (const [name, body] of [
      ['good.json', manifest(`${capture}/${file}`)],
      ['elsewhere.json', manifest(`${containers[2].url}/${file}`)],
      ['local.json', manifest('/etc/passwd')],
    ]) {
      await containers[1].getBlockBlobClient(name).upload(body, Buffer.byteLength(body));
    }
    lakehouse = await LocalLakehouse.open(':memory:');
    job = new LakehouseJob(lakehouse, { capture, manifests });
  });
  afterAll(() => lakehouse.close());

  it.each([
    ['a local file', '/etc/passwd'],
    ['a file URL', 'file:///etc/passwd'],
    ['another host', 'https://example.com/manifests/good.json'],
    ['another container', () => `${capture}/../jobother/x.json`],
    ['the container itself', () => manifests],
  ])('refuses a manifest_path in %s', async (_what, where) => {
    const failure = run(typeof where === 'function' ? where() : where);
    await expect(failure).rejects.toThrow(JobTaskError);
    await expect(failure).rejects.toThrow(
      /manifest_path is outside .*jobmanifests: the job reads only its configured locations/,
    );
  });

  it.each([
    ['another container', 'elsewhere.json'],
    ['a local path', 'local.json'],
  ])('refuses a manifest that lists a file in %s, echoing nothing of it', async (_what, name) => {
    const failure = run(`${manifests}/${name}`);
    await expect(failure).rejects.toThrow(/a file of the manifest is outside .*jobcapture/);
    await expect(failure).rejects.not.toThrow(/root:/);
  });

  it('runs a manifest in its container that lists files in the capture container', async () => {
    await run(`${manifests}/good.json`);
    expect(await lakehouse.rows('SELECT count(*) AS n FROM silver_order_lines')).toEqual([{ n: '1' }]);
  });
});
