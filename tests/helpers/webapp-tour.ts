/**
 * A tour of the web app's states, in Debian's Chromium against a real stack (Redis, API servers,
 * Caddy, a worker on the tiny model, API keys on): the model loading, the API-key prompt, an
 * empty history, a job running with its live preview, a finished video, a failed job (a broken
 * ffmpeg), a cancelled one, a full queue, the workers panel, the history after a reload, a
 * search, a job's page, and a job that is unknown or another key's. At each stop `visit` is
 * called with the page in that state: tests/e2e/browser-webapp.test.ts runs axe-core and the
 * layout checks there, scripts/screenshots.ts takes the screenshots in docs/screenshots/. One
 * route through the app for both, so the pictures show what the tests check.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startLocalStack, type LocalStack } from '../../deploy/local-stack.ts';
import type { TestBrowser } from '../e2e/browser-chromium.ts';
import { failingFfmpeg, type FailingFfmpeg } from './failing-ffmpeg.ts';

/** The widths the layout must work at: a phone, a laptop, a desktop. */
export const TOUR_VIEWPORTS = [
  { width: 390, height: 844 },
  { width: 1280, height: 800 },
  { width: 1920, height: 1080 },
] as const;

export const TOUR_STOPS = [
  'model-loading',
  'empty',
  'api-key',
  'running',
  'done',
  'failed',
  'queue-full',
  'cancelled',
  'workers',
  'history',
  'search',
  'job-page',
  'job-not-found',
  'job-foreign',
] as const;
export type TourStopName = (typeof TOUR_STOPS)[number];

export interface TourStop {
  readonly name: TourStopName;
  readonly page: Page;
  /** The part of the page the state is about (a selector), for a picture of it. */
  readonly subject: string;
}

/** What each stop is about: where a screenshot looks on a screen too small for the whole page. */
const SUBJECTS: Record<TourStopName, string> = {
  'model-loading': 'form.prompt-form .actions',
  empty: '#videos',
  'api-key': 'main',
  running: 'ol.jobs',
  done: 'ol.jobs',
  failed: 'ol.jobs',
  'queue-full': 'form.prompt-form .actions',
  cancelled: 'ol.jobs',
  workers: '.workers-panel',
  history: '#videos',
  search: '#videos',
  'job-page': 'main',
  'job-not-found': 'main',
  'job-foreign': 'main',
};

/** Where the app keeps the key (client/src/api/api-key.ts). */
const API_KEY_STORAGE_NAME = 'zeus.apiKey';
export const TOUR_KEYS = {
  alice: 'alice-tour-key-0123456789',
  bob: 'bob-tour-key-9876543210',
} as const;

/** Steps paced to this, so a job runs long enough to be seen running, queued and cancelled. */
const STEP_MS = 700;
/** The queue's bound: two queued jobs fill it. */
const MAX_QUEUED = 2;

export interface TourStack {
  readonly stack: LocalStack;
  readonly ffmpeg: FailingFfmpeg;
  stop(): Promise<void>;
}

/** The stack the tour runs on; the worker is still getting its model ready when it returns. */
export async function startTourStack(): Promise<TourStack> {
  const dir = await mkdtemp(join(tmpdir(), 'zeus-webapp-tour-'));
  try {
    const ffmpeg = await failingFfmpeg(dir);
    const stack = await startLocalStack({
      dataDir: join(dir, 'data'),
      generatedDir: join(dir, 'generated'),
      port: 0,
      workers: 1,
      apiServers: 2,
      // The tour starts while the model is being made ready.
      waitForModel: false,
      env: {
        ZEUS_MODEL: 'tiny-random',
        ZEUS_MODELS_DIR: join(dir, 'models'),
        ZEUS_DEVICE: 'cpu',
        ZEUS_LOG_LEVEL: 'warn',
        ZEUS_API_KEYS: `alice:${TOUR_KEYS.alice},bob:${TOUR_KEYS.bob}`,
        ZEUS_PROGRESS_INTERVAL_MS: '0',
        ZEUS_MIN_STEP_MS: String(STEP_MS),
        ZEUS_MAX_QUEUED: String(MAX_QUEUED),
        ZEUS_RETENTION: '7d',
        ZEUS_RATE_LIMIT: 'off',
        FFMPEG_PATH: ffmpeg.path,
      },
    });
    return {
      stack,
      ffmpeg,
      async stop() {
        try {
          await stack.stop();
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** A GraphQL request with an API key, as a script would send it. */
export async function asKey<Data>(
  stack: LocalStack,
  key: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<Data> {
  const response = await fetch(stack.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(15_000),
  });
  const body = (await response.json()) as { data?: Data; errors?: unknown[] };
  if (body.errors !== undefined || body.data === undefined) {
    throw new Error(`GraphQL error: ${JSON.stringify(body.errors)}`);
  }
  return body.data;
}

const SUBMIT = `mutation ($input: PromptInput!) { submitPrompt(input: $input) { id } }`;

async function submitAs(
  stack: LocalStack,
  key: string,
  input: Record<string, unknown>,
): Promise<string> {
  const data = await asKey<{ submitPrompt: { id: string } }>(stack, key, SUBMIT, { input });
  return data.submitPrompt.id;
}

/** The card of the job whose prompt is `prompt` (the newest of that prompt). */
function card(page: Page, prompt: string) {
  return page.getByRole('article', { name: prompt }).first();
}

/** Waits until every image in the page's visible part has loaded (posters, previews). */
async function imagesLoaded(page: Page): Promise<void> {
  await page.waitForFunction(() =>
    [...document.images]
      .filter((image) => {
        const box = image.getBoundingClientRect();
        return box.bottom > 0 && box.top < window.innerHeight && box.width > 0;
      })
      .every((image) => image.complete && image.naturalWidth > 0),
  );
}

async function waitForGenerate(page: Page): Promise<void> {
  await page.waitForFunction(
    () =>
      document.querySelector<HTMLButtonElement>('form.prompt-form button[type="submit"]')
        ?.disabled === false,
    undefined,
    { timeout: 120_000 },
  );
}

/** Fills the form for a small, quick video and presses Generate. */
async function generate(page: Page, prompt: string, frames = '17'): Promise<void> {
  await page.getByRole('textbox', { name: 'Prompt', exact: true }).fill(prompt);
  await page.getByRole('combobox', { name: 'Shape' }).selectOption('16:9');
  await page.getByRole('spinbutton', { name: 'Frames' }).fill(frames);
  await page.getByRole('button', { name: 'Generate' }).click();
  await card(page, prompt).waitFor({ timeout: 10_000 });
}

export interface TourFacts {
  /** The finished job the tour made, and the other key's job. */
  readonly doneJobId: string;
  readonly foreignJobId: string;
}

/**
 * Walks the app through every stop, calling `visit` at each with the page in that state. The
 * stack must come from `startTourStack`, fresh: the tour starts while its model is loading.
 */
export async function runTour(
  tour: TourStack,
  browser: TestBrowser,
  visit: (stop: TourStop) => Promise<void>,
): Promise<TourFacts> {
  const { stack } = tour;
  const page = await browser.context.newPage();
  await page.setViewportSize(TOUR_VIEWPORTS[1]);
  const stop = async (name: TourStopName): Promise<void> => {
    await page.evaluate(() => {
      if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
      window.scrollTo(0, 0);
    });
    await visit({ name, page, subject: SUBJECTS[name] });
  };

  // The model loading: the page says so with Generate off. The worker is held (SIGSTOP) once
  // the page shows it, so that it cannot finish meanwhile (its heartbeat lasts 15 s).
  await page.goto(stack.url);
  await page.evaluate(
    ([name, key]) => {
      localStorage.setItem(name, key);
    },
    [API_KEY_STORAGE_NAME, TOUR_KEYS.alice] as const,
  );
  await page.reload();
  const loading = page.getByText(/The model \(tiny-random\) is not ready: /);
  try {
    await loading.waitFor({ timeout: 30_000 });
  } catch {
    throw new Error('The tiny model was ready before the page could show it loading.');
  }
  stack.kill('worker-1', 'SIGSTOP');
  try {
    await stop('model-loading');
  } finally {
    stack.kill('worker-1', 'SIGCONT');
  }

  // Ready, nothing made yet.
  await waitForGenerate(page);
  await page.getByText('No videos yet', { exact: false }).waitFor();
  await stop('empty');

  // No key in this browser: the app asks for one; then it is given.
  await page.evaluate((name) => {
    localStorage.removeItem(name);
  }, API_KEY_STORAGE_NAME);
  await page.reload();
  await page.getByRole('heading', { name: 'This Zeus needs an API key' }).waitFor();
  await stop('api-key');
  await page.getByLabel('API key', { exact: true }).fill(TOUR_KEYS.alice);
  await page.getByRole('button', { name: 'Use this key' }).click();
  await page.getByRole('heading', { name: 'This Zeus needs an API key' }).waitFor({
    state: 'hidden',
  });
  await waitForGenerate(page);

  // A job running, with its live preview.
  const donePrompt = 'A lighthouse beam sweeping through fog';
  await generate(page, donePrompt);
  await card(page, donePrompt).locator('img.job-preview').waitFor({ timeout: 60_000 });
  await imagesLoaded(page);
  await stop('running');

  // Done: the video watched being made plays by itself.
  await card(page, donePrompt)
    .getByRole('link', { name: /^Download/ })
    .waitFor({ timeout: 60_000 });
  const doneHref = await card(page, donePrompt)
    .getByRole('heading')
    .getByRole('link')
    .getAttribute('href');
  const doneJobId = /^\/jobs\/(.+)$/.exec(doneHref ?? '')?.[1] ?? '';
  await stop('done');

  // Failed: ffmpeg breaks for one job.
  await tour.ffmpeg.failNext();
  const failedPrompt = 'A paper boat on a rainy street';
  await generate(page, failedPrompt);
  await card(page, failedPrompt).getByText('Failed', { exact: true }).waitFor({ timeout: 60_000 });
  await stop('failed');

  // A full queue: one long job running, two waiting (the bound). Generate is off, saying why.
  const longJob = await submitAs(stack, TOUR_KEYS.alice, {
    prompt: 'Slow clouds over a mountain ridge',
    width: 768,
    height: 512,
    numFrames: 257,
  });
  const queued = [
    await submitAs(stack, TOUR_KEYS.alice, { prompt: 'A kite over a beach', numFrames: 9 }),
    await submitAs(stack, TOUR_KEYS.alice, { prompt: 'Rain on a tin roof', numFrames: 9 }),
  ];
  await page.reload();
  await page.getByText(/^The queue is full \(2 jobs\)/).waitFor({ timeout: 30_000 });
  await stop('queue-full');

  // Cancelled: the last one, from its card.
  const cancelled = card(page, 'Rain on a tin roof');
  await cancelled.getByRole('button', { name: /^Cancel/ }).click();
  await cancelled.getByText('Cancelled', { exact: true }).first().waitFor({ timeout: 10_000 });
  await stop('cancelled');
  for (const id of [longJob, queued[0]]) {
    await asKey(stack, TOUR_KEYS.alice, 'mutation ($id: ID!) { cancelJob(id: $id) { id } }', {
      id,
    });
  }

  // The workers panel, open.
  await page.locator('.workers-panel summary').click();
  await page.locator('table.workers').waitFor({ timeout: 15_000 });
  await stop('workers');

  // The history after a reload: posters, no videos.
  await page.reload();
  await card(page, donePrompt).locator('.job-play img').waitFor();
  await imagesLoaded(page);
  await stop('history');

  // A search.
  await page.getByRole('searchbox', { name: 'Search videos' }).fill('lighthouse fog');
  await page.getByText('1 video matches “lighthouse fog”').waitFor({ timeout: 10_000 });
  await imagesLoaded(page);
  await stop('search');

  // The finished job's page, opened from its card.
  await card(page, donePrompt).getByRole('heading').getByRole('link').click();
  await page.getByRole('heading', { level: 2, name: donePrompt }).waitFor();
  await page.waitForFunction(
    () => (document.querySelector('video')?.readyState ?? 0) >= 2,
    undefined,
    { timeout: 30_000 },
  );
  await stop('job-page');

  // A job that is not there, and one that is another key's.
  await page.goto(`${stack.url}/jobs/${randomUUID()}`);
  await page.getByRole('heading', { name: 'Video not found' }).waitFor();
  await stop('job-not-found');
  const foreignJobId = await submitAs(stack, TOUR_KEYS.bob, {
    prompt: 'An owl turning its head at dusk',
    numFrames: 9,
  });
  await page.goto(`${stack.url}/jobs/${foreignJobId}`);
  await page.getByRole('heading', { name: 'This video is another API key’s' }).waitFor();
  await stop('job-foreign');

  await page.close();
  return { doneJobId, foreignJobId };
}
