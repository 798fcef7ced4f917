import { runCli } from '../support/cli';

jest.setTimeout(60_000);

/** `orders-pipeline cost` as a user runs it, on the default settings (no Azurite needed). */
const cost = (...args: string[]) => runCli(['cost', ...args], { PATH: process.env.PATH });
const MB = 1024 * 1024;

describe('orders-pipeline cost', () => {
  it('--freshness recommends the cheapest setting within it, next to continuous mode (--json for scripts)', async () => {
    const result = await cost('--events-per-second', '10', '--freshness', '15m', '--json');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const advice = JSON.parse(result.stdout);
    // Defaults: 60 s start-up, runs of 60 s + 30 s per million events, 4 DBU/h at 0.45 for both modes.
    expect(advice).toMatchObject({
      reachable: true,
      eventsPerSecond: 10,
      targetSeconds: 900,
      recommended: {
        setting: { captureWindowSeconds: 240, captureSizeBytes: 100 * MB, batchWaitSeconds: 480 },
        estimate: { runsPerDay: expect.closeTo(120, 6), costPerDay: expect.closeTo(7.21296, 5) },
      },
      continuous: { computeHoursPerDay: 24, dbusPerDay: 96, costPerDay: expect.closeTo(43.2, 9) },
      continuousMeetsTarget: true,
      cheaper: 'eventDriven',
    });
    expect(advice.recommended.estimate.freshness.worstSeconds).toBeLessThanOrEqual(900);

    const text = await cost('--events-per-second', '10', '--freshness', '15m');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /At 10 events\/s \(864,000 a day\), worst-case freshness within 15 min, per day:/,
    );
    expect(text.stdout).toMatch(
      /Recommended: Capture window 240 s, Capture size limit 100 MB, BATCH_WAIT_SECONDS 480/,
    );
    expect(text.stdout).toMatch(/runs per day\s+120\s+always on/);
    expect(text.stdout).toMatch(/cost\s+7\.21\s+43\.20/);
    expect(text.stdout).toMatch(/Cheaper within 15 min: event-driven \(6\.0× less than continuous\)/);
  });

  it('without --freshness prints the cost-versus-freshness table', async () => {
    const result = await cost('--events-per-second', '10');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe(
      'At 10 events/s (864,000 a day), the cheapest event-driven setting for each worst-case freshness, per day:',
    );
    expect(result.stdout).toMatch(
      /freshness\s+window\s+size\s+batch wait\s+runs\s+compute h\s+DBUs\s+cost\s+worst case/,
    );
    expect(result.stdout).toMatch(/≤ 300 s\s+unreachable \(the best is 301 s\)/);
    expect(result.stdout).toMatch(/≤ 15 min\s+240 s\s+100 MB\s+480 s\s+120\s+4\.01\s+16\.0\s+7\.21\s+14 min/);
    expect(result.stdout).toMatch(
      /Continuous mode, at its own worst case of 100 s: always on, 24\.00 compute hours/,
    );
    const json = JSON.parse((await cost('--events-per-second', '10', '--json')).stdout);
    expect(json.points.map((p: { targetSeconds: number }) => p.targetSeconds)).toEqual([
      300, 600, 900, 1800, 3600, 7200,
    ]);
    expect(json.points[0].recommended).toBeNull();
    expect(json.frontier.length).toBeGreaterThan(1);
  });

  it('an unreachable target gives the best freshness possible and exits non-zero', async () => {
    const text = await cost('--events-per-second', '10', '--freshness', '1s');
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(
      /Unreachable: the best any allowed setting gives is 301 s \(Capture window 60 s/,
    );
    expect(text.stderr).toMatch(
      /a worst-case freshness of 1 s is unreachable; the best any allowed setting gives is 301 s/,
    );
    const json = await cost('--events-per-second', '10', '--freshness', '2m', '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      reachable: false,
      recommended: null,
      fastest: { setting: { captureWindowSeconds: 60, batchWaitSeconds: 0 } },
      // Continuous mode's worst case is 60 s window + 10 s trigger + 30 s: within 2 minutes.
      continuousMeetsTarget: true,
      cheaper: 'continuous',
    });
  });

  it('pins a dimension given on the command line, and refuses settings Capture does not allow', async () => {
    const pinned = await cost(
      '--events-per-second',
      '10',
      '--freshness',
      '15m',
      '--capture-window',
      '60',
      '--batch-wait',
      '300',
      '--json',
    );
    expect(JSON.parse(pinned.stdout).recommended.setting).toEqual({
      captureWindowSeconds: 60,
      captureSizeBytes: 100 * MB,
      batchWaitSeconds: 300,
    });
    const tooShort = await cost('--events-per-second', '10', '--capture-window', '10');
    expect(tooShort.code).toBe(2);
    expect(tooShort.stderr).toMatch(
      /--capture-window must be from 60 to 900 \(what Event Hubs Capture allows\), not 10/,
    );
    const missing = await cost();
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cost needs --events-per-second N/);
    const badTarget = await cost('--events-per-second', '1', '--freshness', 'soon');
    expect(badTarget.code).toBe(2);
    expect(badTarget.stderr).toMatch(/--freshness must be a positive duration/);
  });
});
