import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { useAzurite } from '../support/azurite';
import { PipelineProcess, cdcChange, eventually } from '../support/pipelineFixtures';
import { REPO_ROOT } from '../support/paths';

jest.setTimeout(180_000);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');

// CI installs Debian's chromium (.ci/run); on a laptop without it this test says so and is skipped.
const browserTest = fs.existsSync(CHROMIUM) || process.env.CI === 'true' ? it : it.skip;
if (!fs.existsSync(CHROMIUM) && process.env.CI !== 'true') {
  console.warn(
    `dashboard test skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`,
  );
}

describe('dashboard in headless Chromium', () => {
  const azurite = useAzurite();

  browserTest('draws non-empty charts after a short local run', async () => {
    const pipeline = PipelineProcess.quick(azurite().connectionString, { BACKLOG_INTERVAL_MINUTES: '1' });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const started = await pipeline.started();
      const events = Array.from({ length: 40 }, (_, i) =>
        cdcChange(i + 1, `P${i % 9}`, {
          TransactionNo: `T${i % 11}`,
          Date: `2019-12-0${(i % 5) + 1}`,
          Country: ['United Kingdom', 'France', 'EIRE'][i % 3],
        }),
      );
      const publish = {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(events),
      };
      expect((await fetch(started.publish, publish)).status).toBe(200);
      await eventually(
        'the events in gold',
        async () => {
          const status = (await (await fetch(started.status)).json()) as {
            records: number;
            files: { succeeded: number };
            backlog: unknown;
          };
          // The backlog timer's first report too: it runs at start, but a busy machine can delay it.
          return status.records === 40 && status.files.succeeded > 0 && status.backlog !== null;
        },
        60_000,
      );

      const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
      await page.goto(started.dashboard);
      const barsDrawn = (chart: string) =>
        page
          .locator(`#${chart} rect.bar`)
          .evaluateAll((bars) => bars.filter((b) => Number(b.getAttribute('height')) > 0).length);
      for (const chart of ['files', 'runs', 'latency', 'byDay', 'byCountry']) {
        await page.locator(`#${chart} rect.bar`).first().waitFor({ state: 'attached', timeout: 15_000 });
        expect({ chart, drawn: (await barsDrawn(chart)) > 0 }).toEqual({ chart, drawn: true });
      }
      expect(await page.locator('#byCountry rect.bar').count()).toBe(3);
      expect(await page.locator('#byDay rect.bar').count()).toBe(5);
      expect(await page.locator('#products tr').count()).toBe(10);
      expect(await page.locator('#kpis').innerText()).toMatch(/40\s*records/);
      // The backlog timer ran at start: its report and its first point of the backlog over time.
      expect(await page.locator('#backlog').innerText()).toMatch(
        /report of \S+ \(\d+ s ago\)[\s\S]*unfinished files/,
      );
      expect(await page.locator('#backlogChart rect.bar').count()).toBeGreaterThan(0);
      // The cost advisor at the observed rate: production's setting (not the local 10 s window), the
      // setting it recommends for COST_FRESHNESS_TARGET_SECONDS (15 min), continuous; and the curve.
      const costCard = await page.locator('#cost').innerText();
      expect(costCard).toMatch(/production default setting[\s\S]*recommended ≤ 15 min[\s\S]*continuous/);
      expect(costCard).toMatch(/60 s · 100 MB · 300 s/);
      expect(costCard).toMatch(
        /Recommended for a worst-case freshness within 15 min at the observed rate: Capture window \d+ s/,
      );
      expect(await page.locator('#costCurve path.curve').count()).toBe(1);
      expect(await page.locator('#costCurve rect.continuous').count()).toBe(1);
      // Every chart shows its scale, and its category labels whole.
      for (const chart of ['runs', 'byDay', 'backlogChart', 'costCurve']) {
        const ticks = await page.locator(`#${chart} text.tick`).count();
        expect({ chart, scale: ticks >= 3 }).toEqual({ chart, scale: true });
      }
      expect(await page.locator('#latency text.label').allTextContents()).toEqual([
        'captured → triggered',
        'triggered → submitted',
        'submitted → run started',
        'run started → run finished',
        'captured → run finished',
      ]);
      expect(await page.locator('#files text.value').count()).toBe(7);
      expect((await page.locator('#byCountry text.label').allTextContents()).sort()).toEqual([
        'EIRE',
        'France',
        'United Kingdom',
      ]);
      expect(await page.locator('#byCountry text.value').count()).toBe(3);
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    } finally {
      await browser.close();
      await pipeline.stop();
    }
  });
});
