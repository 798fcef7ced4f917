/** A storage connection: a connection string, or a service URI reached with the app's identity. */
export type StorageConnection = { connectionString: string } | { serviceUri: string };
