/**
 * Azurite's development account. Its key is public and fixed, documented by Microsoft for the
 * storage emulators (https://learn.microsoft.com/azure/storage/common/storage-use-azurite), so it
 * is no secret; it authenticates only against a local emulator.
 */
export const DEV_ACCOUNT_NAME = 'devstoreaccount1';
export const DEV_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface DevStorageEndpoints {
  blobEndpoint: string;
  queueEndpoint: string;
  tableEndpoint: string;
}

export function devStorageConnectionString(endpoints: DevStorageEndpoints): string {
  return [
    'DefaultEndpointsProtocol=http',
    `AccountName=${DEV_ACCOUNT_NAME}`,
    `AccountKey=${DEV_ACCOUNT_KEY}`,
    `BlobEndpoint=${endpoints.blobEndpoint}`,
    `QueueEndpoint=${endpoints.queueEndpoint}`,
    `TableEndpoint=${endpoints.tableEndpoint}`,
  ].join(';');
}

/** True for an Azurite-style URL: loopback host, account name as the first path segment. */
export function isDevStorageUrl(url: URL): boolean {
  return (
    ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) &&
    url.pathname.startsWith(`/${DEV_ACCOUNT_NAME}`)
  );
}
