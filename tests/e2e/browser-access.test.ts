/**
 * The web app in Debian's Chromium against a real stack that has no worker and API keys on
 * (Redis, one API server, Caddy): before any worker is ready the page says so and Generate is
 * off with the reason; the app asks for the key, refuses a wrong one, keeps the right one across
 * a reload, and lists only that key's jobs. No worker: jobs stay queued.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureClientBuilt } from '@zeus/client/build';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../deploy/local-stack.ts';
import { SUBMIT } from '../helpers/graphql.ts';
import { launchChromium, type TestBrowser } from './browser-chromium.ts';

const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-fedcba9876543210';
const ALICE_PROMPT = 'A heron standing in a misty marsh';
const BOB_PROMPT = 'An owl turning its head at dusk';
/** Where the app keeps the key (client/src/api/api-key.ts). */
const API_KEY_STORAGE_NAME = 'zeus.apiKey';
const NO_WORKER_REASON =
  'No worker is running yet, so nothing can be generated. Generate turns on as soon as a ' +
  'worker has loaded the model.';

let stack: LocalStack | undefined;
let browser: TestBrowser | undefined;
let dataDir: string | undefined;

async function post(
  url: string,
  key: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<{ data?: Record<string, unknown> | null; errors?: unknown[] }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(15_000),
  });
  return (await response.json()) as { data?: Record<string, unknown> | null; errors?: unknown[] };
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'zeus-browser-access-'));
  await ensureClientBuilt();
  stack = await startLocalStack({
    dataDir,
    generatedDir: join(dataDir, 'generated'),
    port: 0,
    workers: 0,
    apiServers: 1,
    env: {
      ZEUS_MODEL: 'tiny-random',
      ZEUS_LOG_LEVEL: 'warn',
      ZEUS_API_KEYS: `alice:${ALICE},bob:${BOB}`,
    },
  });
  // One job each, over HTTP, before any page opens: the app must show only Alice's.
  for (const [key, prompt] of [
    [BOB, BOB_PROMPT],
    [ALICE, ALICE_PROMPT],
  ] as const) {
    const answer = await post(stack.graphqlUrl, key, SUBMIT, { input: { prompt } });
    expect(answer.errors).toBeUndefined();
  }
  browser = await launchChromium(stack.url);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

function started(): { stack: LocalStack; browser: TestBrowser } {
  if (stack === undefined || browser === undefined) throw new Error('the stack did not start');
  return { stack, browser };
}

/** What Chromium's accessibility tree says of the element `selector` finds. */
async function accessibilityOf(page: Page, selector: string) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { root } = await cdp.send('DOM.getDocument', { depth: 0 });
    const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector });
    const { nodes } = await cdp.send('Accessibility.getPartialAXTree', {
      nodeId,
      fetchRelatives: false,
    });
    const node = nodes[0];
    return {
      role: node?.role?.value as unknown,
      name: node?.name?.value as unknown,
      description: node?.description?.value as unknown,
      disabled: node?.properties?.find((property) => property.name === 'disabled')?.value
        .value as unknown,
    };
  } finally {
    await cdp.detach();
  }
}

describe('the web app with no worker and API keys on', () => {
  it('loads before any worker is ready, says so, and keeps Generate off with the reason', async () => {
    const { stack, browser } = started();
    const page = await browser.context.newPage();
    await page.goto(stack.url);
    await page.getByText(NO_WORKER_REASON).waitFor();
    const generate = page.getByRole('button', { name: 'Generate' });
    expect(await generate.isDisabled()).toBe(true);
    // What a screen reader announces on Generate: its name, off, and why.
    expect(
      await accessibilityOf(
        page,
        'section[aria-labelledby="new-video-title"] button[type="submit"]',
      ),
    ).toEqual({
      role: 'button',
      name: 'Generate',
      description: NO_WORKER_REASON,
      disabled: true,
    });
    // The header's status line (the system query needs no key) says no worker is online.
    await page.locator('.system-status').getByText('0 workers online').waitFor();
    expect(await page.locator('.system-status').textContent()).toContain(
      'Model tiny-random not ready',
    );
    expect(browser.outsideRequests).toEqual([]);
    await page.close();
  }, 30_000);

  it('asks for the key once, refuses a wrong one, remembers the right one and shows only its jobs', async () => {
    const { stack, browser } = started();
    const page = await browser.context.newPage();
    let closedSockets = 0;
    const onClose: (() => void)[] = [];
    page.on('websocket', (socket) => {
      socket.on('close', () => {
        closedSockets += 1;
        for (const wake of onClose.splice(0)) wake();
      });
    });
    /** Resolves once `count` more of the page's WebSockets have closed. */
    const socketsClosed = async (count: number): Promise<void> => {
      const target = closedSockets + count;
      while (closedSockets < target) {
        await new Promise<void>((resolve) => onClose.push(resolve));
      }
    };
    await page.goto(stack.url);

    // The history needs a key and the browser has none: the app asks, in the page.
    await page.getByRole('heading', { name: 'This Zeus needs an API key' }).waitFor();
    expect(await page.getByRole('alert').first().textContent()).toContain(
      'Submitting and following videos needs a key.',
    );
    const keyField = page.getByLabel('API key', { exact: true });
    expect(await keyField.getAttribute('type')).toBe('password');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('api-key');
    const useKey = page.getByRole('button', { name: 'Use this key' });
    expect(await useKey.isDisabled()).toBe(true);
    expect(await page.getByRole('article').count()).toBe(0);

    // A wrong key: Zeus refuses it and the app says so, asking again.
    await keyField.fill('not-a-real-key-000');
    await useKey.click();
    await page.getByRole('heading', { name: 'That API key was not accepted' }).waitFor();
    await page
      .getByText('Zeus refused the key this browser sent. Check it and enter it again.')
      .waitFor();
    expect(await page.getByRole('article').count()).toBe(0);
    // The app's WebSocket reconnects with the new key and is refused (4403), again at every
    // retry; the second refusal comes after the first has been handled. A refused key is not a
    // dropped connection: no "Reconnecting…" banner beside the key prompt.
    await socketsClosed(3);
    expect(await page.getByText('Reconnecting…').count()).toBe(0);

    // The right key: the prompt goes away and Alice's job is listed, Bob's is not.
    await keyField.fill(`  ${ALICE} `);
    await useKey.click();
    const mine = page.getByRole('article', { name: ALICE_PROMPT });
    await mine.waitFor();
    await mine.getByText('Queued', { exact: true }).waitFor();
    expect(await page.getByRole('heading', { name: /API key/ }).count()).toBe(0);
    await page.getByText('Showing 1 of 1').waitFor();
    expect(await page.getByRole('article').count()).toBe(1);
    expect(await page.getByText(BOB_PROMPT).count()).toBe(0);
    // The workers list needs a key too: asked again with it, it says none is online.
    await page.locator('.workers-panel summary').getByText('0 workers online').waitFor();
    expect(await page.evaluate((name) => localStorage.getItem(name), API_KEY_STORAGE_NAME)).toBe(
      ALICE,
    );
    // With a good key, Ctrl+Enter in the prompt still does not get round the switched-off
    // Generate (checked over HTTP below, after the reload).
    const promptField = page.getByRole('textbox', { name: 'Prompt', exact: true });
    await promptField.fill('A fox that must not be submitted');
    await promptField.press('Control+Enter');

    // After a reload the key is sent at once: no question, the same single job.
    await page.reload();
    await mine.waitFor();
    await page.getByText('Showing 1 of 1').waitFor();
    expect(await page.getByRole('heading', { name: /API key/ }).count()).toBe(0);
    expect(await page.getByText(BOB_PROMPT).count()).toBe(0);
    await page.getByText(NO_WORKER_REASON).waitFor();
    expect(await page.getByRole('button', { name: 'Generate' }).isDisabled()).toBe(true);

    // Over HTTP: the page submitted nothing (Generate was off), Bob still has his one job.
    const count = '{ jobs { totalCount edges { node { settings { prompt } } } } }';
    expect((await post(stack.graphqlUrl, ALICE, count)).data).toEqual({
      jobs: { totalCount: 1, edges: [{ node: { settings: { prompt: ALICE_PROMPT } } }] },
    });
    expect((await post(stack.graphqlUrl, BOB, count)).data).toEqual({
      jobs: { totalCount: 1, edges: [{ node: { settings: { prompt: BOB_PROMPT } } }] },
    });
    expect(browser.outsideRequests).toEqual([]);
    await page.close();
  }, 60_000);
});
