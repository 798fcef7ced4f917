import path from 'node:path';
import fc from 'fast-check';
import { partitionForKey } from '../../lib/eventHubs/partitionKey';

// The SDK's own mapping, read from its build (not part of its public exports), as the reference.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sdk = require(
  path.join(
    path.dirname(require.resolve('@azure/event-hubs/package.json')),
    'dist/commonjs/impl/partitionKeyToIdMapper.js',
  ),
) as { mapPartitionKeyToId(key: string, count: number): number };

describe('partitionForKey', () => {
  it('maps keys exactly as the Event Hubs SDK does', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.integer({ min: 1, max: 64 }),
        (key, count) => {
          expect(partitionForKey(key, count)).toBe(sdk.mapPartitionKeyToId(key, count));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('spreads transaction numbers over the partitions', () => {
    const counts = new Array(8).fill(0);
    for (let t = 536365; t < 536365 + 8000; t++) counts[partitionForKey(String(t), 8)]++;
    for (const count of counts) expect(count).toBeGreaterThan(700);
  });
});
