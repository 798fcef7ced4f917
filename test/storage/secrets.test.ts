import { loadConfig } from '../../lib/config';
import { errorMessage } from '../../lib/errorMessage';
import { jobLocations } from '../../lib/host/pipelinePorts';
import { captureStoreForConnection, containerUrl, openCaptureStore } from '../../lib/storage/captureStore';
import { parseLocation, redactedUrl } from '../../lib/storage/location';
import { useAzurite } from '../support/azurite';

/**
 * No secret in an error, a log line, the ledger or the dashboard: a SAS signature and a PAT set in
 * the configuration must not appear in any description of an endpoint or in the errors a failed
 * read gives (a port nothing listens on makes every read fail).
 */
const SIG = 'sig=T0PS3CRETsignatureVALUE%3D';
const SAS_CONNECTION = `BlobEndpoint=http://127.0.0.1:1/devstoreaccount9;TableEndpoint=http://127.0.0.1:1/devstoreaccount9;SharedAccessSignature=sv=2024-11-04&ss=bt&srt=sco&sp=rl&${SIG}`;
/** The same signature against a real Azurite, which refuses it at once (403, no retries). */
const sasOn = (connectionString: string) =>
  `BlobEndpoint=${/BlobEndpoint=([^;]+)/.exec(connectionString)![1]};SharedAccessSignature=sv=2024-11-04&ss=b&srt=sco&sp=rl&${SIG}`;
// Built at run time: a PAT-shaped literal in the repository would itself look like a leaked secret.
const PAT = ['dapi', '0123456789abcdef'.repeat(2)].join('');

function expectNoSecret(text: string): void {
  expect(text).not.toContain('T0PS3CRET');
  expect(text).not.toContain(PAT);
}

describe('secrets stay out of what is shown', () => {
  const azurite = useAzurite();

  it('redacts query strings and user info from endpoint URLs', () => {
    expect(redactedUrl(`https://acct.blob.core.windows.net/capture?sv=1&${SIG}`)).toBe(
      'https://acct.blob.core.windows.net/capture',
    );
    expect(redactedUrl('https://user:pass@host/x')).toBe('https://host/x');
    expect(redactedUrl('dir:/tmp/capture')).toBe('dir:/tmp/capture');
  });

  it('describes a SAS connection’s containers without the signature, and fails reads without it', async () => {
    const store = captureStoreForConnection(
      { connectionString: sasOn(azurite().connectionString) },
      'capture',
    );
    expectNoSecret(store.description);
    expectNoSecret(store.fileUrl('a/b.avro'));
    expectNoSecret(containerUrl({ connectionString: SAS_CONNECTION }, 'manifests'));
    let failure = '';
    try {
      for await (const chunk of store.read('a/b.avro')) void chunk;
    } catch (error) {
      failure = `${errorMessage(error)} ${JSON.stringify(error)}`;
    }
    expect(failure).toMatch(/cannot read a\/b\.avro in http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/capture/);
    expectNoSecret(failure);
  });

  it('describes a location given with a SAS without the SAS', () => {
    const store = openCaptureStore(
      parseLocation(`https://acct.blob.core.windows.net/capture/ordersns?sv=2024&${SIG}`),
    );
    expectNoSecret(store.description);
    expectNoSecret(store.fileUrl('x.avro'));
  });

  it('keeps the PAT and the SAS out of the job locations and of configuration errors', () => {
    const config = loadConfig(
      {
        CaptureStorage: SAS_CONNECTION,
        DATABRICKS_HOST: 'https://adb-1.2.azuredatabricks.net',
        DATABRICKS_TOKEN: PAT,
      },
      { local: true },
    );
    expectNoSecret(JSON.stringify(jobLocations(config)));
    let failure = '';
    try {
      loadConfig(
        { CaptureStorage: `${SAS_CONNECTION}x`, DATABRICKS_TOKEN: PAT, BATCH_MAX_FILES: 'many' },
        { local: true },
      );
    } catch (error) {
      failure = errorMessage(error);
    }
    expect(failure).toMatch(/BATCH_MAX_FILES/);
    expectNoSecret(failure);
  });
});
