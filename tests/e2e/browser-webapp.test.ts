/**
 * The web app for daily use, in Debian's Chromium against a real stack (tests/helpers/
 * webapp-tour.ts: a worker on the tiny model, API keys on, a full queue at two jobs):
 * - in every state of the tour (model loading, API-key prompt, empty, running with a preview,
 *   done, failed, full queue, cancelled, workers panel, history, search, a job's page, unknown
 *   and foreign jobs) and at 390, 1280 and 1920 px, axe-core finds no violation and no control
 *   overflows its box or overlaps another;
 * - a job's page opens from a shared link, with its settings, and runs it again;
 * - the keyboard alone goes from the prompt to the downloaded video;
 * - the checks themselves catch what they look for.
 * The tour comes first: it starts while the worker is still getting its model ready.
 */
import { readFile } from 'node:fs/promises';
import { ensureClientBuilt } from '@zeus/client/build';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeViolations, layoutProblems, settled } from '../helpers/page-checks.ts';
import {
  runTour,
  startTourStack,
  TOUR_KEYS,
  TOUR_STOPS,
  TOUR_VIEWPORTS,
  type TourFacts,
  type TourStack,
} from '../helpers/webapp-tour.ts';
import { launchChromium, type TestBrowser } from './browser-chromium.ts';

let tour: TourStack | undefined;
let browser: TestBrowser | undefined;
let facts: TourFacts | undefined;

beforeAll(async () => {
  await ensureClientBuilt();
  tour = await startTourStack();
  browser = await launchChromium(tour.stack.url);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await tour?.stop();
});

function started(): { tour: TourStack; browser: TestBrowser } {
  if (tour === undefined || browser === undefined) throw new Error('the stack did not start');
  return { tour, browser };
}

/** A page of the app with Alice's key already in the browser. */
async function openAsAlice(path = '/'): Promise<Page> {
  const { tour, browser } = started();
  const page = await browser.context.newPage();
  await page.addInitScript((key) => {
    localStorage.setItem('zeus.apiKey', key);
  }, TOUR_KEYS.alice);
  await page.goto(`${tour.stack.url}${path}`);
  return page;
}

describe('the web app in every state', () => {
  it('has no axe-core violation and no overflowing or overlapping control, at 390, 1280 and 1920 px', async () => {
    const { tour, browser } = started();
    const visited: string[] = [];
    const problems: string[] = [];
    facts = await runTour(tour, browser, async ({ name, page }) => {
      visited.push(name);
      for (const viewport of TOUR_VIEWPORTS) {
        await page.setViewportSize(viewport);
        await settled(page);
        const where = `${name} at ${viewport.width} px`;
        for (const violation of await axeViolations(page)) problems.push(`${where}: ${violation}`);
        for (const problem of await layoutProblems(page)) problems.push(`${where}: ${problem}`);
      }
      await page.setViewportSize(TOUR_VIEWPORTS[1]);
    });
    expect(visited).toEqual([...TOUR_STOPS]);
    expect(problems).toEqual([]);
    expect(browser.outsideRequests).toEqual([]);
  }, 420_000);
});

describe("a job's page", () => {
  it('opens from a shared link with its settings, downloads, and runs the job again', async () => {
    const { tour } = started();
    const jobId = facts?.doneJobId ?? '';
    expect(jobId).toMatch(/^[0-9a-f-]{36}$/);
    // A fresh page, straight at the link: Caddy serves the app there, the app opens the job.
    const page = await openAsAlice(`/jobs/${jobId}`);
    const prompt = 'A lighthouse beam sweeping through fog';
    await page.getByRole('heading', { level: 2, name: prompt }).waitFor();
    expect(await page.title()).toBe(`${prompt} · Zeus`);
    const settings = await page.locator('dl.job-settings').innerText();
    expect(settings).toContain('864×480 pixels');
    expect(settings).toMatch(/0\.68 s: 17 frames at 25 fps/);
    expect(settings).not.toContain('Negative prompt');
    const href = await page.getByRole('link', { name: 'Download' }).getAttribute('href');
    // Keys are on: the link the API gave its owner, which needs no key (tests/security/).
    expect(href).toMatch(new RegExp(`^/generated/${jobId}/out\\.mp4\\?exp=\\d+&sig=[\\w-]+$`));
    const video = await fetch(`${tour.stack.url}${href ?? ''}`);
    expect(video.headers.get('content-type')).toBe('video/mp4');

    // Run again: a new job with the same settings, and its page.
    await page.getByRole('button', { name: 'Run again' }).click();
    await page.waitForURL(
      (url) => /^\/jobs\/[0-9a-f-]{36}$/.test(url.pathname) && !url.pathname.endsWith(jobId),
    );
    await page.getByRole('heading', { level: 2, name: prompt }).waitFor();
    await page.getByRole('link', { name: 'Download' }).waitFor({ timeout: 60_000 });
    expect(await page.locator('dl.job-settings').innerText()).toContain('864×480 pixels');

    // Back: the previous job's page; the header's name goes to the list, which links to both.
    await page.goBack();
    await page.waitForURL((url) => url.pathname === `/jobs/${jobId}`);
    await page.getByRole('heading', { level: 2, name: prompt }).waitFor();
    await page.getByRole('link', { name: 'Zeus', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/');
    const links = page
      .getByRole('article', { name: prompt })
      .getByRole('heading')
      .getByRole('link');
    await links.nth(1).waitFor();
    expect(await links.count()).toBe(2);
    await page.close();
  }, 120_000);

  it('says plainly when an address names no job, or not a job id', async () => {
    const page = await openAsAlice('/jobs/not-a-job');
    await page.getByRole('heading', { name: 'Not a video’s address' }).waitFor();
    expect(await page.getByText('“not-a-job” is not the id of a video').count()).toBe(1);
    await page.goto(`${started().tour.stack.url}/no/such/page`);
    await page.getByRole('heading', { name: 'No such page' }).waitFor();
    await page.close();
  }, 60_000);
});

describe('the keyboard alone', () => {
  it('goes from the prompt to the downloaded video', async () => {
    const page = await openAsAlice();
    const prompt = 'A heron lifting off a misty marsh';
    await page.waitForFunction(
      () =>
        document.querySelector<HTMLButtonElement>('form.prompt-form button[type="submit"]')
          ?.disabled === false,
      undefined,
      { timeout: 60_000 },
    );
    /** Presses Tab until `check` holds for the focused element (at most `limit` times). */
    const tabTo = async (check: string, limit = 80): Promise<void> => {
      for (let i = 0; i < limit; i += 1) {
        await page.keyboard.press('Tab');
        if (await page.evaluate(check)) return;
      }
      throw new Error(`Tab never reached ${check}`);
    };
    const focusedIs = (selector: string): string =>
      `document.activeElement?.matches(${JSON.stringify(selector)}) ?? false`;

    await tabTo(focusedIs('textarea[name="prompt"]'));
    await page.keyboard.type(prompt);
    // A small video: the shape by arrow keys, then the frames typed.
    await tabTo(focusedIs('select[name="shape"]'));
    await page.keyboard.press('ArrowDown');
    await tabTo(focusedIs('input[name="numFrames"]'));
    await page.keyboard.press('Control+A');
    await page.keyboard.type('9');
    await tabTo(focusedIs('textarea[name="prompt"]'), 200);
    await page.keyboard.press('Control+Enter');

    // Its card's Download link, reached by Tab once the video is made.
    const downloadLink = `article[aria-labelledby] a.button[download]`;
    await page
      .getByRole('article', { name: prompt })
      .getByRole('link', { name: /^Download/ })
      .waitFor({ timeout: 90_000 });
    await tabTo(
      `(${focusedIs(downloadLink)}) && document.activeElement.closest('article')?.querySelector('h3')?.textContent === ${JSON.stringify(prompt)}`,
      200,
    );
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.keyboard.press('Enter'),
    ]);
    expect(download.suggestedFilename()).toMatch(/^zeus-[0-9a-f-]{36}\.mp4$/);
    const path = await download.path();
    const bytes = await readFile(path);
    expect(bytes.subarray(4, 8).toString()).toBe('ftyp');
    await page.close();
  }, 150_000);
});

describe('the checks themselves', () => {
  it('catch a control outside its box, controls overlapping, a sideways scroll and an axe violation', async () => {
    const { browser } = started();
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.setContent(`<!doctype html><html lang="en"><title>t</title><body><main>
      <div class="field" style="width:100px"><button style="width:300px">Too wide</button></div>
      <div class="actions"><button>One</button><button style="margin-left:-40px">Two</button></div>
      <div style="width:600px">wide</div>
      <input type="text"></main></body></html>`);
    const problems = await layoutProblems(page);
    expect(problems).toContainEqual(
      expect.stringMatching(/^button “Too wide” reaches outside div\.field/),
    );
    expect(problems).toContainEqual(expect.stringMatching(/^button “One” overlaps button “Two”/));
    expect(problems).toContainEqual(
      expect.stringMatching(/^the page is 6\d\d px wide in a 390 px window$/),
    );
    // An input without a label.
    expect(await axeViolations(page)).toContainEqual(expect.stringMatching(/^label \(critical\)/));
    await page.close();
  });
});
