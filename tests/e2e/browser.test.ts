/**
 * The web app and the GraphQL playground in Debian's Chromium, against the real local stack
 * (Redis, three API servers, Caddy, a worker running the tiny-random model) through Caddy.
 *
 * ZEUS_UPDATE_SCREENSHOT=1 also writes docs/screenshot.png: the app with a finished video and a
 * job running.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureClientBuilt } from '@zeus/client/build';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT, type LocalStack } from '../../deploy/local-stack.ts';
import { graphqlRequest, JOB_FIELDS, type JobResult } from '../helpers/graphql.ts';
import { serverHoldingTheWebSocket } from '../helpers/websocket-upstream.ts';
import { launchChromium, type TestBrowser } from './browser-chromium.ts';
import { startTinyStack } from '../helpers/tiny-stack.ts';

/** Small videos, so the tiny model finishes each in seconds. */
const SIZE = { width: '256', height: '256', numFrames: '17', frameRate: '25' } as const;
const SCREENSHOT = join(REPOSITORY_ROOT, 'docs', 'screenshot.png');

let stack: LocalStack | undefined;
let browser: TestBrowser | undefined;
let dataDir: string | undefined;

beforeAll(async () => {
  // Caddy serves client/dist: build it first if the sources changed since the last build.
  await ensureClientBuilt();
  ({ stack, dir: dataDir } = await startTinyStack('browser-e2e', {
    // Every denoising step is published, however fast the tiny model runs.
    ZEUS_PROGRESS_INTERVAL_MS: '0',
    // Steps of at least 0.8 s: a job killed under the page's feet after its first steps still
    // has seconds to run once the page has reconnected (8 steps, so 6.4 s a job at least).
    ZEUS_MIN_STEP_MS: '800',
  }));
  browser = await launchChromium(stack.url);
}, 180_000);

/** The stack and the browser, once `beforeAll` has started them. */
function started(): { stack: LocalStack; browser: TestBrowser } {
  if (stack === undefined || browser === undefined) throw new Error('the stack did not start');
  return { stack, browser };
}

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

interface PageRecord {
  /** Every value each progress bar showed, by the bar's accessible name. */
  readonly bars: Record<string, number[]>;
  /** The same, only the values shown after a "Reconnecting…" banner went away again. */
  readonly barsAfterReconnect: Record<string, number[]>;
  /** How many times the "Reconnecting…" banner appeared. */
  reconnectingShown: number;
}

declare global {
  interface Window {
    zeusRecord?: PageRecord;
  }
}

/**
 * Records, from inside the page, every value the progress bars take and each time the
 * reconnecting banner shows: updates can be faster than a test's polling.
 */
function recordPage(): void {
  const record: PageRecord = { bars: {}, barsAfterReconnect: {}, reconnectingShown: 0 };
  window.zeusRecord = record;
  let bannerShown = false;
  const scan = (): void => {
    const shown = (document.querySelector('.connection')?.textContent ?? '').includes(
      'Reconnecting…',
    );
    if (shown && !bannerShown) record.reconnectingShown += 1;
    bannerShown = shown;
    const reconnected = !shown && record.reconnectingShown > 0;
    for (const bar of document.querySelectorAll('[role="progressbar"]')) {
      const name = bar.getAttribute('aria-label') ?? '';
      const value = Number(bar.getAttribute('aria-valuenow'));
      const values = (record.bars[name] ??= []);
      if (values.at(-1) !== value) values.push(value);
      if (reconnected) {
        const after = (record.barsAfterReconnect[name] ??= []);
        if (after.at(-1) !== value) after.push(value);
      }
    }
  };
  new MutationObserver(scan).observe(document, {
    subtree: true,
    childList: true,
    characterData: true,
    attributes: true,
    attributeFilter: ['aria-valuenow'],
  });
}

async function pageRecord(page: Page): Promise<PageRecord> {
  const record = await page.evaluate(() => window.zeusRecord);
  if (record === undefined) throw new Error('the page recorder is not installed');
  return record;
}

async function openApp(): Promise<Page> {
  const { stack, browser } = started();
  const page = await browser.context.newPage();
  await page.addInitScript(recordPage);
  await page.goto(stack.url);
  return page;
}

async function fillSettings(page: Page, prompt: string) {
  await page.getByRole('textbox', { name: 'Prompt', exact: true }).fill(prompt);
  await page.getByRole('spinbutton', { name: 'Width' }).fill(SIZE.width);
  await page.getByRole('spinbutton', { name: 'Height' }).fill(SIZE.height);
  await page.getByRole('spinbutton', { name: 'Frames' }).fill(SIZE.numFrames);
  await page.getByRole('spinbutton', { name: 'Frame rate' }).fill(SIZE.frameRate);
}

/** Waits until the card's video has a decoded frame and returns its duration and state. */
async function videoFacts(page: Page, prompt: string) {
  const video = page.getByRole('article', { name: prompt }).locator('video');
  await video.waitFor();
  const handle = await video.elementHandle();
  await page.waitForFunction((element) => (element as HTMLVideoElement).readyState >= 2, handle);
  return video.evaluate((element: HTMLVideoElement) => ({
    readyState: element.readyState,
    duration: element.duration,
    muted: element.muted,
    loop: element.loop,
    controls: element.controls,
    autoplay: element.autoplay,
    paused: element.paused,
  }));
}

describe('the web app in Chromium, through Caddy', () => {
  // Each run starts a fresh stack, so prompts identify jobs.
  const firstPrompt = 'A red fox running through fresh snow at sunrise';

  it('shows the rules, submits a prompt, fills the progress bar to 100 and plays the video', async () => {
    const { stack } = started();
    const page = await openApp();
    const generate = page.getByRole('button', { name: 'Generate' });
    // The worker has loaded the tiny model by now (the stack waits for it): Generate is on.
    await page.waitForFunction(
      () => document.querySelector<HTMLButtonElement>('button[type="submit"]')?.disabled === false,
    );

    // The model's rules are checked before anything is sent.
    await fillSettings(page, firstPrompt);
    await page.getByRole('spinbutton', { name: 'Width' }).fill('250');
    await generate.click();
    await page.getByText('Width must be a multiple of 32 (try 224 or 256).').waitFor();
    await page.getByRole('spinbutton', { name: 'Width' }).fill(SIZE.width);

    // From the keyboard: Ctrl+Enter in the prompt submits; the job appears.
    await page.getByRole('textbox', { name: 'Prompt', exact: true }).press('Control+Enter');
    const card = page.getByRole('article', { name: firstPrompt });
    await card.waitFor();
    const bar = card.getByRole('progressbar');
    await page.waitForFunction(
      (name) =>
        document
          .querySelector(`[role="progressbar"][aria-label="${name}"]`)
          ?.getAttribute('aria-valuenow') === '100',
      `Progress of “${firstPrompt}”`,
    );
    expect(await bar.getAttribute('aria-valuemin')).toBe('0');
    expect(await bar.getAttribute('aria-valuemax')).toBe('100');

    const values = (await pageRecord(page)).bars[`Progress of “${firstPrompt}”`] ?? [];
    // The bar moved through intermediate values, never backwards, and ended full.
    expect(values.at(-1)).toBe(100);
    expect(values.some((value) => value > 0 && value < 100)).toBe(true);
    expect(values).toEqual([...values].sort((a, b) => a - b));

    const video = await videoFacts(page, firstPrompt);
    expect(video).toMatchObject({ muted: true, loop: true, controls: true, autoplay: true });
    expect(video.readyState).toBeGreaterThanOrEqual(2);
    expect(Math.abs(video.duration - 17 / 25)).toBeLessThanOrEqual(1 / 25);
    await page.waitForFunction((name) => {
      const element = document.querySelector<HTMLVideoElement>(
        `article[aria-labelledby] video[aria-label="Video: ${name}"]`,
      );
      return element !== null && !element.paused && element.currentTime > 0;
    }, firstPrompt);

    const href = await card.getByRole('link', { name: /^Download/ }).getAttribute('href');
    expect(href).toMatch(/^\/generated\/[^/]+\/out\.mp4$/);
    const download = await fetch(new URL(href ?? '', stack.url));
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('video/mp4');
    const bytes = new Uint8Array(await download.arrayBuffer());
    expect(new TextDecoder().decode(bytes.subarray(4, 8))).toBe('ftyp');
    await page.close();
  }, 120_000);

  it('lists the job after a reload, replayable and downloadable, on a phone-sized screen', async () => {
    const page = await openApp();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    const card = page.getByRole('article', { name: firstPrompt });
    await card.waitFor();
    expect(
      await card.getByText('256×256 · 17 frames at 25 fps (0.68 s)', { exact: false }).count(),
    ).toBe(1);
    await card.getByRole('link', { name: /^Download/ }).waitFor();
    await card.getByRole('button', { name: /^Run again/ }).waitFor();
    // Done before the page loaded: its poster, and the video only once played.
    expect(await card.locator('video').count()).toBe(0);
    await card.getByRole('button', { name: /^Play/ }).click();
    const video = await videoFacts(page, firstPrompt);
    expect(Math.abs(video.duration - 17 / 25)).toBeLessThanOrEqual(1 / 25);
    // Nothing is wider than the phone's screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      390,
    );
    await page.close();
  }, 60_000);

  it('shows "Reconnecting…" when its API server dies mid-job, reconnects and finishes', async () => {
    const { stack } = started();
    const page = await openApp();
    await page.waitForFunction(
      () => document.querySelector<HTMLButtonElement>('button[type="submit"]')?.disabled === false,
    );
    // The model's default size (768×512, 121 frames): the longest job the tiny model runs here.
    const prompt = 'Waves rolling onto a pebble beach';
    await page.getByRole('textbox', { name: 'Prompt', exact: true }).fill(prompt);
    await page.getByRole('button', { name: 'Generate' }).click();
    const barName = `Progress of “${prompt}”`;
    await page.getByRole('article', { name: prompt }).waitFor();

    // Early in the job (its steps are paced), kill the API server that holds the page's WebSocket.
    const running = await page.waitForFunction((name) => {
      const bar = document.querySelector(`[role="progressbar"][aria-label="${name}"]`);
      const value = Number(bar?.getAttribute('aria-valuenow') ?? 'NaN');
      const text = bar?.getAttribute('aria-valuetext') ?? '';
      return !text.includes('queue') && value < 40 ? { value } : false;
    }, barName);
    const { value: shownAtKill } = (await running.jsonValue()) as { value: number };
    if (process.env['ZEUS_UPDATE_SCREENSHOT'] === '1') {
      // A finished video playing under a job running, before the connection is cut.
      await page.evaluate(() => {
        if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
        window.scrollTo(0, 0);
      });
      await page.screenshot({ path: SCREENSHOT, animations: 'disabled' });
    }
    const server = await serverHoldingTheWebSocket(stack);
    stack.kill(server, 'SIGKILL');

    // Asked right after the kill, from a server still up: the job was running, steps to go.
    const survivor = Object.entries(stack.apiAddresses).find(([name]) => name !== server)?.[1];
    const atKill = await graphqlRequest<{ jobs: { edges: { node: JobResult }[] } }>(
      { apiServer: survivor ?? '' },
      `{ jobs(first: 1) { edges { node { ${JOB_FIELDS} } } } }`,
    );
    const job = atKill.data?.jobs.edges[0]?.node;
    expect(job?.settings.prompt).toBe(prompt);
    expect(job?.status).toBe('RUNNING');
    expect(job?.step).toBeLessThan(job?.totalSteps ?? 0);

    await page.waitForFunction(() => (window.zeusRecord?.reconnectingShown ?? 0) > 0);
    // The page reconnects by itself, through Caddy, to a server still up, and catches up.
    await page.getByText('Reconnecting…').waitFor({ state: 'hidden' });
    await page.waitForFunction(
      (name) =>
        document
          .querySelector(`[role="progressbar"][aria-label="${name}"]`)
          ?.getAttribute('aria-valuenow') === '100',
      barName,
    );
    // Once reconnected, the bar went on moving step by step, past where it was at the kill, and
    // did not just jump to the end with the finished job.
    const after = (await pageRecord(page)).barsAfterReconnect[barName] ?? [];
    expect(after.at(-1)).toBe(100);
    expect(after.some((value) => value > shownAtKill && value < 100)).toBe(true);
    expect(after).toEqual([...after].sort((a, b) => a - b));
    const video = await videoFacts(page, prompt);
    expect(Math.abs(video.duration - 121 / 25)).toBeLessThanOrEqual(1 / 25);

    // History, newest first, survives a reload.
    await page.reload();
    const titles = page.getByRole('list', { name: 'Videos, newest first' }).getByRole('heading');
    await titles.first().waitFor();
    const order = await titles.allTextContents();
    expect(order.indexOf(prompt)).toBeLessThan(order.indexOf(firstPrompt));
    expect(order.indexOf(prompt)).toBeGreaterThanOrEqual(0);
    await page.close();
  }, 150_000);

  it('shows the same history in another browser, with a profile of its own', async () => {
    const { stack, browser } = started();
    const history = async (page: Page) => {
      const titles = page.getByRole('list', { name: 'Videos, newest first' }).getByRole('heading');
      await titles.nth(1).waitFor();
      return titles.allTextContents();
    };
    const page = await openApp();
    const here = await history(page);
    expect(here.indexOf(firstPrompt)).toBeGreaterThan(0);

    // Nothing is shared with the first browser: no storage, no cookies, no cache.
    const other = await launchChromium(stack.url);
    try {
      const otherPage = await other.context.newPage();
      await otherPage.goto(stack.url);
      expect(await history(otherPage)).toEqual(here);
      const card = otherPage.getByRole('article', { name: firstPrompt });
      await card.getByRole('link', { name: /^Download/ }).waitFor();
      await card.getByRole('button', { name: /^Run again/ }).waitFor();
      await card.getByRole('button', { name: /^Play/ }).click();
      const video = await videoFacts(otherPage, firstPrompt);
      expect(Math.abs(video.duration - 17 / 25)).toBeLessThanOrEqual(1 / 25);
      expect(other.outsideRequests).toEqual([]);
      expect(browser.outsideRequests).toEqual([]);
    } finally {
      await other.close();
    }
    await page.close();
  }, 60_000);

  it('opens the GraphQL playground at /graphql with no outside network, with docs, and runs operations', async () => {
    const { stack, browser } = started();
    const page = await browser.context.newPage();
    await page.goto(`${stack.url}/graphql`);
    expect(await page.title()).toBe('Zeus · GraphQL playground');
    // The example for submitting and watching a job is there.
    const editor = page.locator('.graphiql-query-editor');
    await editor.getByText('submitPrompt').first().waitFor();

    // The documentation comes from the schema by introspection.
    await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
    await page.getByText('Zeus: a self-hosted text-to-video service.', { exact: false }).waitFor();

    // A query over HTTP, then a subscription over the WebSocket, both through Caddy.
    const run = async (operation: string, expected: RegExp) => {
      await page.goto(`${stack.url}/graphql?query=${encodeURIComponent(operation)}`);
      await page
        .locator('.graphiql-query-editor')
        .getByText(operation.split(' ')[0] ?? '')
        .first()
        .waitFor();
      await page.getByRole('button', { name: /^Execute query/ }).click();
      await page.locator('.graphiql-response').getByText(expected).first().waitFor();
    };
    await run('query Status { system { model modelReady } }', /"tiny-random"/);
    const jobs = (await (
      await fetch(stack.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ jobs(first: 1) { edges { node { id } } } }' }),
      })
    ).json()) as { data: { jobs: { edges: { node: { id: string } }[] } } };
    const id = jobs.data.jobs.edges[0]?.node.id ?? '';
    await run(`subscription Watch { jobUpdated(id: "${id}") { id status } }`, /"SUCCEEDED"/);

    expect(browser.outsideRequests).toEqual([]);
    await page.close();
  }, 90_000);
});
