/**
 * Debian's Chromium, driven by playwright-core, for the browser tests: headless, a fresh profile
 * per launch, and every request outside the stack under test refused and recorded, so a page
 * that needs the internet fails its test instead of silently loading from a CDN.
 *
 * Tests refuse them by routing every request through Playwright, which holds each one until this
 * process has looked at it. A benchmark cannot afford that round trip on every request of the
 * page it times (`refuse: 'resolver'`): there Chromium itself resolves every host but the
 * origin's to nothing, and the requests that tried are recorded from Playwright's events.
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

export interface LaunchOptions {
  /** How outside requests are refused: by routing every request (default), or by Chromium. */
  readonly refuse?: 'route' | 'resolver';
}

export async function launchChromium(
  origin: string,
  viewport: { width: number; height: number } = { width: 1280, height: 900 },
  options: LaunchOptions = {},
): Promise<TestBrowser> {
  const byResolver = options.refuse === 'resolver';
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
      ...(byResolver
        ? [`--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${new URL(origin).hostname}`]
        : []),
    ],
  });
  // A wait in a page (an element shown, a function true) is a wait for an event: no deadline
  // of its own, which a busy machine could overrun; the test's own limit ends one that hangs.
  context.setDefaultTimeout(0);
  const outsideRequests: string[] = [];
  const isInside = (url: string): boolean =>
    url.startsWith(`${origin}/`) || url === origin || url.startsWith('data:');
  if (byResolver) {
    context.on('request', (request) => {
      if (!isInside(request.url())) outsideRequests.push(request.url());
    });
  } else {
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (isInside(url)) return route.continue();
      outsideRequests.push(url);
      return route.abort('blockedbyclient');
    });
  }
  return {
    context,
    outsideRequests,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
