/**
 * Job control in the web app, in Debian's Chromium against the real stack (the tiny model paced
 * to STEP_MS a step, finished jobs kept an hour): several videos at once, the server's time
 * left, Cancel, Retry with the same seed, and when a video expires.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureClientBuilt } from '@zeus/client/build';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../deploy/local-stack.ts';
import { launchChromium, type TestBrowser } from './browser-chromium.ts';

const STEP_MS = 500;
let stack: LocalStack | undefined;
let browser: TestBrowser | undefined;
let dataDir: string | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'zeus-browser-control-'));
  await ensureClientBuilt();
  stack = await startLocalStack({
    dataDir,
    generatedDir: join(dataDir, 'generated'),
    port: 0,
    workers: 1,
    waitForModel: true,
    env: {
      ZEUS_MODEL: 'tiny-random',
      ZEUS_MODELS_DIR: join(dataDir, 'models'),
      ZEUS_LOG_LEVEL: 'warn',
      ZEUS_PROGRESS_INTERVAL_MS: '0',
      ZEUS_MIN_STEP_MS: String(STEP_MS),
      ZEUS_RETENTION: '1h',
    },
  });
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
      { timeout: 20_000 },
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
    await second
      .getByText(/Next in the queue · starts in about \d+ s/)
      .waitFor({ timeout: 10_000 });

    await first.getByRole('button', { name: /^Cancel/ }).click();
    await first.getByText('Cancelled', { exact: true }).first().waitFor({ timeout: 10_000 });
    expect(await first.getByRole('button', { name: /^Cancel/ }).count()).toBe(0);

    // Retry: a new card with the cancelled job's seed.
    const cancelledSeed = /seed (\d+)/.exec((await first.textContent()) ?? '')?.[1];
    await first.getByRole('button', { name: /^Retry/ }).click();
    await page.waitForFunction(
      (name) =>
        [...document.querySelectorAll('article h3')].filter((h) => h.textContent === name)
          .length === 3,
      prompt,
      { timeout: 10_000 },
    );
    // The newest card, followed by its job id from here on.
    const retriedLabel = await cards.first().getAttribute('aria-labelledby');
    const retried = page.locator(`article[aria-labelledby="${retriedLabel ?? ''}"]`);
    expect((await retried.textContent()) ?? '').toContain(`seed ${cancelledSeed ?? '?'}`);

    // Both remaining videos finish; a finished one says when it will be removed.
    await second.getByRole('link', { name: /^Download/ }).waitFor({ timeout: 30_000 });
    await retried.getByRole('link', { name: /^Download/ }).waitFor({ timeout: 30_000 });
    expect(await second.getByText(/^Expires in (59 min|1 h)/).count()).toBe(1);
    await page.close();
  }, 120_000);
});
