/**
 * Job control in the web app, in Debian's Chromium against the real stack (the tiny model paced
 * to STEP_MS a step, finished jobs kept an hour): several videos at once, the server's time
 * left, Cancel, Retry with the same seed, when a video expires, and live previews.
 */
import { rm } from 'node:fs/promises';
import { ensureClientBuilt } from '@zeus/client/build';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../deploy/local-stack.ts';
import { launchChromium, type TestBrowser } from './browser-chromium.ts';
import { startTinyStack } from '../helpers/tiny-stack.ts';

const STEP_MS = 500;
let stack: LocalStack | undefined;
let browser: TestBrowser | undefined;
let dataDir: string | undefined;

beforeAll(async () => {
  await ensureClientBuilt();
  ({ stack, dir: dataDir } = await startTinyStack('browser-control', {
    ZEUS_PROGRESS_INTERVAL_MS: '0',
    ZEUS_MIN_STEP_MS: String(STEP_MS),
    ZEUS_RETENTION: '1h',
  }));
  browser = await launchChromium(stack.url);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

describe('job control in the web app', () => {
  it('makes several videos, shows the time left, cancels one, retries it and says when they expire', async () => {
    if (stack === undefined || browser === undefined) throw new Error('the stack did not start');
    const page = await browser.context.newPage();
    await page.goto(stack.url);
    await page.waitForFunction(
      () => document.querySelector<HTMLButtonElement>('button[type="submit"]')?.disabled === false,
    );
    const prompt = 'Two lanterns over a dark lake';
    await page.getByRole('textbox', { name: 'Prompt', exact: true }).fill(prompt);
    await page.getByRole('spinbutton', { name: 'Width' }).fill('256');
    await page.getByRole('spinbutton', { name: 'Height' }).fill('256');
    await page.getByRole('spinbutton', { name: 'Frames' }).fill('17');
    await page.getByRole('spinbutton', { name: 'Videos' }).fill('2');
    await page.getByRole('combobox', { name: 'Priority' }).selectOption({ label: 'High' });
    await page.getByRole('button', { name: 'Generate' }).click();

    // One batch: two cards of the same prompt, each with its own seed.
    const cards = page.getByRole('article', { name: prompt });
    await page.waitForFunction(
      (name) => document.querySelectorAll(`article[aria-labelledby] h3`).length >= 2 && name !== '',
      prompt,
    );
    expect(await cards.count()).toBe(2);
    const seeds = await cards.evaluateAll((articles) =>
      articles.map((article) => /seed (\d+)/.exec(article.textContent)?.[1] ?? ''),
    );
    expect(new Set(seeds).size).toBe(2);
    expect(
      await cards
        .first()
        .getByText(/priority 5/)
        .count(),
    ).toBe(1);

    // The running one says how long it has left, from the server; the one behind it when it will
    // start. Two jobs of one batch have the same priority and creation time, so either may run
    // first: tell them apart by what they show, then follow each by its job id.
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('[role="progressbar"]')].some((bar) =>
          / · about \d+ s left$/.test(bar.getAttribute('aria-valuetext') ?? ''),
        ),
      undefined,
    );
    const cardsNow = await cards.evaluateAll((articles) =>
      articles.map((article) => ({
        labelledBy: article.getAttribute('aria-labelledby') ?? '',
        status: article.querySelector('.status')?.textContent ?? '',
      })),
    );
    const byStatus = (status: string) => {
      const card = cardsNow.find((candidate) => candidate.status === status);
      if (card === undefined) throw new Error(`no ${status} card: ${JSON.stringify(cardsNow)}`);
      return page.locator(`article[aria-labelledby="${card.labelledBy}"]`);
    };
    const first = byStatus('Running');
    const second = byStatus('Queued');
    await second.getByText(/Next in the queue · starts in about \d+ s/).waitFor();

    await first.getByRole('button', { name: /^Cancel/ }).click();
    await first.getByText('Cancelled', { exact: true }).first().waitFor();
    expect(await first.getByRole('button', { name: /^Cancel/ }).count()).toBe(0);

    // Retry: a new card with the cancelled job's seed.
    const cancelledSeed = /seed (\d+)/.exec((await first.textContent()) ?? '')?.[1];
    await first.getByRole('button', { name: /^Retry/ }).click();
    await page.waitForFunction(
      (name) =>
        [...document.querySelectorAll('article h3')].filter((h) => h.textContent === name)
          .length === 3,
      prompt,
    );
    // The newest card, followed by its job id from here on.
    const retriedLabel = await cards.first().getAttribute('aria-labelledby');
    const retried = page.locator(`article[aria-labelledby="${retriedLabel ?? ''}"]`);
    expect((await retried.textContent()) ?? '').toContain(`seed ${cancelledSeed ?? '?'}`);

    // Both remaining videos finish; a finished one says when it will be removed.
    await second.getByRole('link', { name: /^Download/ }).waitFor();
    await retried.getByRole('link', { name: /^Download/ }).waitFor();
    expect(await second.getByText(/^Expires in (59 min|1 h)/).count()).toBe(1);
    await page.close();
  }, 120_000);

  it('shows a live preview while a job denoises, at most 512 px, and none when turned off', async () => {
    if (stack === undefined || browser === undefined) throw new Error('the stack did not start');
    const page = await browser.context.newPage();
    await page.goto(stack.url);
    await page.waitForFunction(
      () => document.querySelector<HTMLButtonElement>('button[type="submit"]')?.disabled === false,
    );
    // Wider than 512 px, so the preview has to be scaled down: 512×171.
    const submit = async (prompt: string) => {
      await page.getByRole('textbox', { name: 'Prompt', exact: true }).fill(prompt);
      await page.getByRole('spinbutton', { name: 'Width' }).fill('768');
      await page.getByRole('spinbutton', { name: 'Height' }).fill('256');
      await page.getByRole('spinbutton', { name: 'Frames' }).fill('17');
      await page.getByRole('button', { name: 'Generate' }).click();
      const card = page.getByRole('article', { name: prompt });
      await card.waitFor();
      const titleId = (await card.getAttribute('aria-labelledby')) ?? '';
      return { card, jobId: /^job-(.+)-title$/.exec(titleId)?.[1] ?? '' };
    };

    const previews = page.getByRole('checkbox', { name: 'Live previews while it is made' });
    expect(await previews.isChecked()).toBe(true);
    const withPreview = await submit('A lighthouse beam sweeping through fog');
    // While it denoises, the card shows the job's latest preview, loaded by the browser.
    const shown = await page.waitForFunction((titleId) => {
      const card = document.querySelector(`article[aria-labelledby="${titleId}"]`);
      const image = card?.querySelector<HTMLImageElement>('img.job-preview');
      if (image == null || !image.complete || image.naturalWidth === 0) return false;
      return {
        src: image.getAttribute('src'),
        alt: image.alt,
        naturalWidth: image.naturalWidth,
        naturalHeight: image.naturalHeight,
        status: card?.querySelector('.status')?.textContent,
      };
    }, `job-${withPreview.jobId}-title`);
    const image = (await shown.jsonValue()) as {
      src: string;
      alt: string;
      naturalWidth: number;
      naturalHeight: number;
      status: string;
    };
    expect(image.status).toBe('Running');
    expect(image.src).toMatch(new RegExp(`^/generated/${withPreview.jobId}/preview-\\d+\\.jpg$`));
    expect(image.alt).toMatch(
      /^Live preview of “A lighthouse beam sweeping through fog”, step \d+ of 8$/,
    );
    expect({ width: image.naturalWidth, height: image.naturalHeight }).toEqual({
      width: 512,
      height: 171,
    });
    // Caddy serves it as a JPEG.
    const served = await fetch(new URL(image.src, stack.url));
    expect(served.headers.get('content-type')).toBe('image/jpeg');
    // Once the video is done, the video replaces the preview.
    await withPreview.card.getByRole('link', { name: /^Download/ }).waitFor();
    expect(await withPreview.card.locator('img').count()).toBe(0);

    // Previews off for the next job: it denoises step by step, and no preview ever appears.
    await previews.uncheck();
    const quietPrompt = 'A lighthouse in fog, no previews';
    await page.evaluate((prompt) => {
      const seen: { previews: string[]; progress: number[] } = { previews: [], progress: [] };
      (window as unknown as { zeusSeen: typeof seen }).zeusSeen = seen;
      new MutationObserver(() => {
        for (const image of document.querySelectorAll('img.job-preview')) {
          const alt = image.getAttribute('alt') ?? '';
          if (!seen.previews.includes(alt)) seen.previews.push(alt);
        }
        const bar = document.querySelector(
          `[role="progressbar"][aria-label="Progress of “${prompt}”"]`,
        );
        if (bar === null) return;
        const value = Number(bar.getAttribute('aria-valuenow'));
        if (seen.progress.at(-1) !== value) seen.progress.push(value);
      }).observe(document, { subtree: true, childList: true, attributes: true });
    }, quietPrompt);
    const withoutPreview = await submit(quietPrompt);
    await withoutPreview.card.getByRole('link', { name: /^Download/ }).waitFor();
    const seen = await page.evaluate(
      () =>
        (window as unknown as { zeusSeen: { previews: string[]; progress: number[] } }).zeusSeen,
    );
    expect(seen.previews).toEqual([]);
    expect(seen.progress.some((value) => value > 0 && value < 100)).toBe(true);
    await page.close();
  }, 90_000);
});
