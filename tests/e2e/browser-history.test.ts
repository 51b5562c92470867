/**
 * A history of 10,000 videos in the web app, in Debian's Chromium against a real stack (Redis,
 * an API server, Caddy; the jobs written as a worker leaves them, tests/helpers/seed-history.ts).
 * What opening the page costs is bounded, whatever the history holds: the first request asks
 * for one page, the cards show posters and no MP4 is fetched before a video is played, a played
 * card holds one <video>, older pages come with the API's cursor as the list scrolls, and a
 * search is answered by the server. The first screen's requests, sent by the boot script in
 * index.html before the app has loaded, are taken by the app, not sent again. How long the first
 * screen takes is a benchmark, not a test (`npm run bench -- --only webapp`, docs/web-app.md).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureClientBuilt } from '@zeus/client/build';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../deploy/local-stack.ts';
import { seedHistory } from '../helpers/seed-history.ts';
import { launchChromium, type TestBrowser } from './browser-chromium.ts';

const JOBS = 10_000;
/** The app's page size (client/src/api/hooks.ts). */
const PAGE = 12;

let stack: LocalStack | undefined;
let browser: TestBrowser | undefined;
let dir: string | undefined;
let newestFirst: string[] = [];

beforeAll(async () => {
  await ensureClientBuilt();
  dir = await mkdtemp(join(tmpdir(), 'zeus-browser-history-'));
  stack = await startLocalStack({
    dataDir: join(dir, 'data'),
    generatedDir: join(dir, 'generated'),
    port: 0,
    workers: 0,
    apiServers: 1,
    env: { ZEUS_MODEL: 'tiny-random', ZEUS_LOG_LEVEL: 'warn' },
  });
  newestFirst = await seedHistory({
    redisUrl: stack.redisUrl,
    generatedDir: join(dir, 'generated'),
    count: JOBS,
  });
  browser = await launchChromium(stack.url, { width: 1920, height: 1080 });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

interface Traffic {
  /** The operation name of every GraphQL request, in order. */
  readonly operations: string[];
  /** The variables of every `Jobs` query, in order. */
  readonly jobsQueries: Record<string, unknown>[];
  /** Every request for a video. */
  readonly videos: string[];
  readonly posters: string[];
}

function watchTraffic(page: Page): Traffic {
  const traffic: Traffic = { operations: [], jobsQueries: [], videos: [], posters: [] };
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.pathname === '/graphql' && request.method() === 'POST') {
      const body = request.postDataJSON() as {
        operationName?: string;
        variables?: Record<string, unknown>;
      } | null;
      traffic.operations.push(body?.operationName ?? '');
      if (body?.operationName === 'Jobs') traffic.jobsQueries.push(body.variables ?? {});
    }
    if (url.pathname.endsWith('.mp4')) traffic.videos.push(url.pathname);
    if (url.pathname.endsWith('/poster.jpg')) traffic.posters.push(url.pathname);
  });
  return traffic;
}

const cards = (page: Page): Promise<number> =>
  page.evaluate(() => document.querySelectorAll('ol.jobs > li > article').length);

/** Waits until no Jobs query is in flight and the pager has settled. */
async function listSettled(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const pager = document.querySelector('.pager');
    return pager !== null && !/Loading…|Searching…/.test(pager.textContent);
  });
}

describe('a history of 10,000 videos', () => {
  it('opens on one page of posters, no video fetched, and pages on with the cursor', async () => {
    if (stack === undefined || browser === undefined) throw new Error('the stack did not start');
    const page = await browser.context.newPage();
    const traffic = watchTraffic(page);
    await page.goto(stack.url);
    // The first screen: cards in view, each with its poster loaded.
    await page.waitForFunction(() => {
      const inView = [...document.querySelectorAll('ol.jobs article')].filter((card) => {
        const box = card.getBoundingClientRect();
        return box.top < window.innerHeight && box.bottom > 0;
      });
      return (
        inView.length > 0 &&
        inView.every((card) => {
          const poster = card.querySelector<HTMLImageElement>('.job-play img');
          return poster !== null && poster.complete && poster.naturalWidth > 0;
        })
      );
    });
    await listSettled(page);

    // One page asked for first, newest first; at most the next one to fill the screen ahead.
    // Asked once: the app took the answer to the boot script's request (the same for the
    // model's rules, which are never asked again).
    expect(traffic.jobsQueries[0]).toEqual({ first: PAGE });
    expect(traffic.jobsQueries.filter((variables) => variables['after'] === undefined)).toEqual([
      { first: PAGE },
    ]);
    expect(traffic.operations.filter((name) => name === 'ModelRules')).toHaveLength(1);
    expect(traffic.jobsQueries.length).toBeLessThanOrEqual(2);
    const shown = await cards(page);
    expect(shown).toBe(PAGE * traffic.jobsQueries.length);
    await page.getByText(`Showing ${shown} of ${JOBS}`).waitFor();
    const titles = await page
      .locator('ol.jobs article h3 a')
      .evaluateAll((links) => links.map((link) => link.getAttribute('href')));
    expect(titles).toEqual(newestFirst.slice(0, shown).map((id) => `/jobs/${id}`));
    // Posters only: no video element, no MP4 asked for; posters lazily, not one per job.
    expect(await page.locator('video').count()).toBe(0);
    expect(traffic.videos).toEqual([]);
    expect(traffic.posters.length).toBeLessThanOrEqual(shown);

    // Scrolled to the end of the list: the next page, from the last one's cursor.
    const before = traffic.jobsQueries.length;
    await page.locator('.pager').scrollIntoViewIfNeeded();
    await page.waitForFunction(
      (count) => document.querySelectorAll('ol.jobs article').length > count,
      shown,
    );
    await listSettled(page);
    const next = traffic.jobsQueries[before];
    expect(next).toMatchObject({ first: PAGE, after: expect.any(String) as unknown });
    expect(await cards(page)).toBe(PAGE * traffic.jobsQueries.length);
    expect(traffic.videos).toEqual([]);

    // Played: that card holds one video, the only one fetched; a second card, the same.
    await page.evaluate(() => {
      window.scrollTo(0, 0);
    });
    const played: string[] = [];
    for (const index of [0, 1]) {
      const card = page.locator('ol.jobs article').nth(index);
      await card.getByRole('button', { name: /^Play/ }).click();
      const video = card.locator('video');
      await video.waitFor();
      await page.waitForFunction(
        (element) => (element as HTMLVideoElement).readyState >= 2,
        await video.elementHandle(),
      );
      expect(await card.locator('video').count()).toBe(1);
      played.push(`/generated/${newestFirst[index] ?? ''}/out.mp4`);
    }
    expect(await page.locator('video').count()).toBe(2);
    expect([...new Set(traffic.videos)].sort()).toEqual([...played].sort());
    await page.close();
  }, 120_000);

  it('opens a shared link to a job with one request for it, and its poster', async () => {
    if (stack === undefined || browser === undefined) throw new Error('the stack did not start');
    const page = await browser.context.newPage();
    const traffic = watchTraffic(page);
    const id = newestFirst[PAGE * 3] ?? '';
    await page.goto(`${stack.url}/jobs/${id}`);
    await page.getByRole('heading', { level: 2, name: /take \d+$/ }).waitFor();
    await page.locator('video').waitFor();
    expect(traffic.operations.filter((name) => name === 'Job')).toEqual(['Job']);
    expect(traffic.operations).not.toContain('Jobs');
    expect([...new Set(traffic.posters)]).toEqual([`/generated/${id}/poster.jpg`]);
    await page.close();
  }, 60_000);

  it('searches the prompts on the server and shows only the matches', async () => {
    if (stack === undefined || browser === undefined) throw new Error('the stack did not start');
    const page = await browser.context.newPage();
    const traffic = watchTraffic(page);
    await page.goto(stack.url);
    await listSettled(page);
    await page.getByRole('searchbox', { name: 'Search videos' }).fill('HERON marsh');
    await page.getByText(/^\d+ videos match “HERON marsh”/).waitFor({ timeout: 30_000 });
    await listSettled(page);
    const searched = traffic.jobsQueries.filter((variables) => variables['search'] !== undefined);
    expect(searched[0]).toEqual({ first: PAGE, search: 'HERON marsh' });
    const prompts = await page.locator('ol.jobs article h3').allTextContents();
    expect(prompts.length).toBeGreaterThan(0);
    for (const prompt of prompts) expect(prompt).toMatch(/^a heron in a misty marsh, take \d+$/);
    // The same as the API answers (the seeded prompts cycle: 1 in 30 matches).
    expect(prompts.length).toBe(PAGE * searched.length);
    await page.close();
  }, 60_000);
});
