/**
 * The web app's first screen with a long history: the local stack (Redis, three API servers,
 * Caddy serving client/dist; no worker) holding `--webapp-jobs` finished jobs (10,000 by
 * default, written as a worker leaves them: tests/helpers/seed-history.ts), opened in Debian's
 * Chromium (playwright-core, headless) with a fresh profile each run, so nothing is cached. A run
 * is the time from the start of the navigation to the first frame in which every card in view
 * shows its poster, loaded and decoded; also the time to the first card (posters still coming).
 * At 1920×1080 and 1280×800. The goal is 1 s (docs/web-app.md). The log line of each size also
 * gives when the page's scripts had run and when the first GraphQL answer came, to tell the
 * browser's part from the servers', and how much CPU time the page's main thread had used by
 * the first screen (Chrome's Performance metrics), which a busy machine stretches far less than
 * the wall time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureClientBuilt } from '@zeus/client/build';
import { startLocalStack } from '../../deploy/local-stack.ts';
import { launchChromium } from '../../tests/e2e/browser-chromium.ts';
import { seedHistory } from '../../tests/helpers/seed-history.ts';
import { numberSetting, type Benchmark } from '../lib/benchmark.ts';
import { machineLoad } from '../lib/machine.ts';
import { figure, type Figure } from '../lib/report.ts';

const VIEWPORTS = [
  { width: 1920, height: 1080 },
  { width: 1280, height: 800 },
] as const;

interface FirstScreen {
  /** From navigation start to the end of DOMContentLoaded (the scripts have run), ms. */
  readonly scriptsRanMs: number;
  /** From navigation start to the first GraphQL answer (the first page of the list), ms. */
  readonly firstAnswerMs: number;
  /** From navigation start to the first card on screen, ms. */
  readonly firstCardMs: number;
  /** From navigation start to every card in view showing its loaded poster, ms. */
  readonly firstScreenMs: number;
  readonly cardsInView: number;
  readonly cardsInPage: number;
}

/**
 * What the page's main thread had done by then (Chrome's Performance metrics, in ms of CPU time
 * rather than wall time: a figure that a busy machine stretches much less).
 */
interface MainThread {
  readonly busyMs: number;
  readonly scriptMs: number;
  readonly layoutMs: number;
  readonly styleMs: number;
}

export const webappBenchmark: Benchmark = {
  name: 'webapp',
  description: 'the web app first screen with a history of 10,000 videos, in Chromium',
  settings: {
    'webapp-jobs': 'finished jobs in the history (default 10000)',
  },
  run: async (options) => {
    const jobs = Math.round(numberSetting(options, 'webapp-jobs', 10_000));
    await ensureClientBuilt();
    const dir = await mkdtemp(join(tmpdir(), 'zeus-bench-webapp-'));
    const stack = await startLocalStack({
      dataDir: join(dir, 'data'),
      generatedDir: join(dir, 'generated'),
      port: 0,
      workers: 0,
      env: { ZEUS_MODEL: 'tiny-random', ZEUS_LOG_LEVEL: 'warn' },
      readyTimeoutMs: 120_000,
    });
    const figures: Figure[] = [];
    const details: Record<string, unknown> = { jobs };
    try {
      const seedStarted = performance.now();
      await seedHistory({
        redisUrl: stack.redisUrl,
        generatedDir: join(dir, 'generated'),
        count: jobs,
      });
      options.log(`${jobs} jobs written in ${Math.round(performance.now() - seedStarted)} ms`);
      for (const viewport of VIEWPORTS) {
        const runs: (FirstScreen & MainThread)[] = [];
        const load: number[] = [];
        // One unmeasured visit first: Caddy, the servers and Redis warm, as on a used machine.
        for (let run = 0; run <= options.runs; run += 1) {
          const browser = await launchChromium(stack.url, viewport);
          try {
            const page = await browser.context.newPage();
            const cdp = await browser.context.newCDPSession(page);
            await cdp.send('Performance.enable');
            await page.goto(stack.url, { waitUntil: 'commit' });
            const measured = await page.waitForFunction(
              () => {
                const cards = [...document.querySelectorAll('ol.jobs article')];
                const record = window as unknown as { zeusFirstCard?: number };
                if (cards.length > 0) record.zeusFirstCard ??= performance.now();
                const inView = cards.filter((card) => {
                  const box = card.getBoundingClientRect();
                  return box.top < window.innerHeight && box.bottom > 0;
                });
                const ready =
                  inView.length > 0 &&
                  inView.every((card) => {
                    const poster = card.querySelector<HTMLImageElement>('.job-play img');
                    return poster !== null && poster.complete && poster.naturalWidth > 0;
                  });
                const navigation = performance.getEntriesByType('navigation')[0] as
                  PerformanceNavigationTiming | undefined;
                const answers = performance
                  .getEntriesByType('resource')
                  .filter((entry) => new URL(entry.name).pathname === '/graphql')
                  .map((entry) => (entry as PerformanceResourceTiming).responseEnd);
                return ready
                  ? {
                      scriptsRanMs: navigation?.domContentLoadedEventEnd ?? 0,
                      firstAnswerMs: Math.min(...answers),
                      firstCardMs: record.zeusFirstCard ?? performance.now(),
                      firstScreenMs: performance.now(),
                      cardsInView: inView.length,
                      cardsInPage: cards.length,
                    }
                  : false;
              },
              undefined,
              { polling: 'raf', timeout: 30_000 },
            );
            const result = (await measured.jsonValue()) as FirstScreen;
            const { metrics } = await cdp.send('Performance.getMetrics');
            const seconds = (name: string): number =>
              (metrics.find((metric) => metric.name === name)?.value ?? 0) * 1_000;
            if (run > 0) {
              runs.push({
                ...result,
                busyMs: seconds('TaskDuration'),
                scriptMs: seconds('ScriptDuration'),
                layoutMs: seconds('LayoutDuration'),
                styleMs: seconds('RecalcStyleDuration'),
              });
              load.push(machineLoad().load1);
            }
          } finally {
            await browser.close();
          }
        }
        const size = `${viewport.width}×${viewport.height}`;
        const each = (key: keyof (FirstScreen & MainThread)): string =>
          runs.map((run) => Math.round(run[key])).join(', ');
        options.log(
          `${size}, ms from navigation start: scripts ran ${each('scriptsRanMs')}; first answer ` +
            `${each('firstAnswerMs')}; first card ${each('firstCardMs')}; first screen ` +
            `${each('firstScreenMs')}; main thread busy ${each('busyMs')} (script ` +
            `${each('scriptMs')}, layout ${each('layoutMs')}, style ${each('styleMs')})`,
        );
        figures.push(
          figure(
            'webapp',
            `first screen, ${jobs} jobs, ${size}`,
            'ms',
            runs.map((run) => run.firstScreenMs),
            { goal: { better: 'lower', target: 1_000, text: '≤ 1000' }, load },
          ),
          figure(
            'webapp',
            `first card, ${jobs} jobs, ${size}`,
            'ms',
            runs.map((run) => run.firstCardMs),
            { load },
          ),
          figure(
            'webapp',
            `main thread busy to first screen, ${size}`,
            'ms',
            runs.map((run) => run.busyMs),
            { load },
          ),
        );
        details[size] = runs;
      }
    } finally {
      await stack.stop();
      await rm(dir, { recursive: true, force: true });
    }
    return { figures, details };
  },
};
