import path from 'node:path';
import { LocationError, formatLocation, parseLocation } from '../../lib/storage/location';

describe('parseLocation', () => {
  it.each([
    ['dir:.local/capture', { kind: 'dir', path: path.resolve('.local/capture') }],
    ['/tmp/capture', { kind: 'dir', path: '/tmp/capture' }],
    ['relative/dir', { kind: 'dir', path: path.resolve('relative/dir') }],
    [
      'http://127.0.0.1:10000/devstoreaccount1/capture',
      {
        kind: 'blob',
        accountUrl: 'http://127.0.0.1:10000/devstoreaccount1',
        container: 'capture',
        prefix: '',
        sas: '',
      },
    ],
    [
      'http://localhost:10000/devstoreaccount1/capture/ordersns/orders/',
      {
        kind: 'blob',
        accountUrl: 'http://localhost:10000/devstoreaccount1',
        container: 'capture',
        prefix: 'ordersns/orders/',
        sas: '',
      },
    ],
    [
      'https://acct.blob.core.windows.net/capture/ordersns?sv=2024&sig=abc',
      {
        kind: 'blob',
        accountUrl: 'https://acct.blob.core.windows.net',
        container: 'capture',
        prefix: 'ordersns/',
        sas: '?sv=2024&sig=abc',
      },
    ],
  ])('parses %s', (text, expected) => {
    expect(parseLocation(text)).toEqual(expected);
  });

  it.each([
    '',
    'dir:',
    'http://127.0.0.1:10000/devstoreaccount1',
    'https://acct.blob.core.windows.net/',
    'http://[bad',
  ])('rejects %p with a LocationError', (text) => expect(() => parseLocation(text)).toThrow(LocationError));

  it('formats back to a location it parses the same', () => {
    for (const text of ['dir:/tmp/x', 'http://127.0.0.1:10000/devstoreaccount1/capture/p/q']) {
      expect(parseLocation(formatLocation(parseLocation(text)))).toEqual(parseLocation(text));
    }
  });
});
