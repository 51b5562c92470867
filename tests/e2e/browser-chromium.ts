/**
 * Debian's Chromium, driven by playwright-core, for the browser tests: headless, a fresh profile
 * per launch, and every request outside the stack under test refused and recorded, so a page
 * that needs the internet fails its test instead of silently loading from a CDN.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = process.env['ZEUS_CHROMIUM'] ?? '/usr/bin/chromium';

export interface TestBrowser {
  readonly context: BrowserContext;
  /** URLs the pages tried to load from anywhere but `origin`; each was refused. */
  readonly outsideRequests: readonly string[];
  close(): Promise<void>;
}

export async function launchChromium(
  origin: string,
  viewport: { width: number; height: number } = { width: 1280, height: 900 },
): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'zeus-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  // A wait in a page (an element shown, a function true) is a wait for an event: no deadline
  // of its own, which a busy machine could overrun; the test's own limit ends one that hangs.
  context.setDefaultTimeout(0);
  const outsideRequests: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(`${origin}/`) || url === origin || url.startsWith('data:')) {
      return route.continue();
    }
    outsideRequests.push(url);
    return route.abort('blockedbyclient');
  });
  return {
    context,
    outsideRequests,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
