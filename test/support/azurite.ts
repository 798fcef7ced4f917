import { Azurite, startAzurite } from '../../lib/local/azurite';

/** A real Azurite, in memory on free ports, for the tests of one file. */
export function useAzurite(): () => Azurite {
  let azurite: Azurite | undefined;
  beforeAll(async () => {
    azurite = await startAzurite();
  }, 60_000);
  afterAll(async () => {
    await azurite?.stop();
  });
  return () => {
    if (!azurite) throw new Error('Azurite has not started');
    return azurite;
  };
}
