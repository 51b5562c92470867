/**
 * Screenshots of the web app's main states at 390, 1280 and 1920 px wide, into
 * docs/screenshots/<state>-<width>.jpg: the same tour of a real stack that
 * tests/e2e/browser-webapp.test.ts checks with axe-core and the layout checks
 * (tests/helpers/webapp-tour.ts), in Debian's Chromium. About two minutes on two cores.
 *
 *   npx tsx scripts/screenshots.ts [--all]
 *
 * Without `--all`, only the states docs/web-app.md shows; with it, every stop of the tour.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureClientBuilt } from '@zeus/client/build';
import { REPOSITORY_ROOT } from '../deploy/local-stack.ts';
import { launchChromium } from '../tests/e2e/browser-chromium.ts';
import { settled } from '../tests/helpers/page-checks.ts';
import {
  runTour,
  startTourStack,
  TOUR_VIEWPORTS,
  type TourStopName,
} from '../tests/helpers/webapp-tour.ts';

/** The states docs/web-app.md shows. */
const SHOWN: ReadonlySet<TourStopName> = new Set([
  'model-loading',
  'running',
  'history',
  'job-page',
]);
const OUT = join(REPOSITORY_ROOT, 'docs', 'screenshots');

const all = process.argv.includes('--all');
await ensureClientBuilt();
await mkdir(OUT, { recursive: true });
for (const name of await readdir(OUT)) {
  if (name.endsWith('.jpg')) await rm(join(OUT, name));
}
const tour = await startTourStack();
const browser = await launchChromium(tour.stack.url);
try {
  await runTour(tour, browser, async ({ name, page, subject }) => {
    if (!all && !SHOWN.has(name)) return;
    for (const viewport of TOUR_VIEWPORTS) {
      await page.setViewportSize(viewport);
      await settled(page);
      // The page from its top, unless what the state is about is below the first screen.
      await page.evaluate((selector) => {
        window.scrollTo(0, 0);
        const element = document.querySelector(selector);
        if (element !== null && element.getBoundingClientRect().top > window.innerHeight * 0.6) {
          element.scrollIntoView({ block: 'start' });
        }
      }, subject);
      await settled(page);
      const path = join(OUT, `${name}-${viewport.width}.jpg`);
      await page.screenshot({ path, type: 'jpeg', quality: 70, animations: 'disabled' });
      console.log(`wrote ${path}`);
    }
    await page.setViewportSize(TOUR_VIEWPORTS[1]);
  });
} finally {
  await browser.close();
  await tour.stop();
}
