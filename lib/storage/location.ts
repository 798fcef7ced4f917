import path from 'node:path';

/**
 * Where Capture files are read or written: a local folder (`PATH` or `dir:PATH`) or a blob
 * container URL with an optional prefix (`http(s)://…/container[/prefix]`), Azurite or Azure.
 */
export type Location =
  | { kind: 'dir'; path: string }
  | {
      kind: 'blob';
      /** Account URL without container, e.g. `http://127.0.0.1:10000/devstoreaccount1`. */
      accountUrl: string;
      container: string;
      /** Blob name prefix inside the container, '' or ending in '/'. */
      prefix: string;
      /** SAS query string including '?', or ''. */
      sas: string;
    };

export class LocationError extends Error {
  constructor(
    message: string,
    readonly location: string,
  ) {
    super(message);
    this.name = 'LocationError';
  }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function parseLocation(text: string): Location {
  if (text.trim() === '') throw new LocationError('a location is empty', text);
  if (text.startsWith('dir:')) {
    const dir = text.slice('dir:'.length);
    if (dir === '') throw new LocationError('dir: needs a path, as in dir:.local/capture', text);
    return { kind: 'dir', path: path.resolve(dir) };
  }
  if (!/^https?:\/\//i.test(text)) return { kind: 'dir', path: path.resolve(text) };

  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new LocationError(`"${text}" is not a valid URL`, text);
  }
  const segments = url.pathname.split('/').filter((s) => s !== '');
  // Azurite and other emulators put the account in the path; Azure puts it in the host name.
  const accountSegments = LOOPBACK.has(url.hostname) ? 1 : 0;
  if (segments.length <= accountSegments) {
    throw new LocationError(`"${text}" names no container (expected …/container[/prefix])`, text);
  }
  const account = segments.slice(0, accountSegments);
  const container = decodeURIComponent(segments[accountSegments]);
  const prefix = segments
    .slice(accountSegments + 1)
    .map(decodeURIComponent)
    .join('/');
  return {
    kind: 'blob',
    accountUrl: `${url.protocol}//${url.host}${account.length ? `/${account.join('/')}` : ''}`,
    container,
    prefix: prefix === '' ? '' : `${prefix}/`,
    sas: url.search,
  };
}

/**
 * An endpoint as it may be shown: without its query (a SAS token's `sig=`) or user info. Every
 * description of a storage endpoint that reaches an error, a log line, the ledger or the dashboard
 * goes through this.
 */
export function redactedUrl(url: string): string {
  if (!URL.canParse(url)) return url;
  const shown = new URL(url);
  shown.search = '';
  shown.username = '';
  shown.password = '';
  return shown.toString().replace(/\/$/, '');
}

export function formatLocation(location: Location): string {
  return location.kind === 'dir'
    ? `dir:${location.path}`
    : `${location.accountUrl}/${location.container}${location.prefix ? `/${location.prefix.replace(/\/$/, '')}` : ''}`;
}
