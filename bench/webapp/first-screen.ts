/**
 * The web app's first screen with a long history: the local stack (Redis, three API servers,
 * Caddy serving client/dist; no worker) holding `--webapp-jobs` finished jobs (10,000 by
 * default, written as a worker leaves them: tests/helpers/seed-history.ts), opened in Debian's
 * Chromium (playwright-core, headless) with a fresh profile each run, so nothing is cached. A run
 * is the time from the start of the navigation to the first frame in which every card in view
 * shows its poster, loaded; also the time to the first card (posters still coming). At 1920×1080
 * and 1280×800. The goal is 1 s (docs/web-app.md). The log line of each size also gives when the
 * page's scripts had run and when the first GraphQL request left and its answer came, to tell
 * the browser's part from the servers', and how long the page's main thread had been busy.
 *
 * The page is watched from inside, as little as a user's browser would be: a small script
 * installed before the page loads checks each frame and reports once through a binding (no
 * Playwright script evaluated in the page, no polling from here), and requests go straight to
 * the stack (Chromium's resolver keeps them there) instead of each being held for Playwright.
 *
 * `--webapp-baseline DIR` measures another build of the web app too (for instance main's
 * client/dist), in the same run, visits alternating between the two: the one fair comparison on
 * a machine whose load comes and goes.
 */
import { mkdtemp, rename, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DIST_DIR, ensureClientBuilt } from '@zeus/client/build';
import { startLocalStack } from '../../deploy/local-stack.ts';
import { launchChromium } from '../../tests/e2e/browser-chromium.ts';
import { seedHistory } from '../../tests/helpers/seed-history.ts';
import { numberSetting, type Benchmark } from '../lib/benchmark.ts';
import { machineLoad } from '../lib/machine.ts';
import { figure, type Figure } from '../lib/report.ts';
import { spreadOf } from '../lib/stats.ts';

const VIEWPORTS = [
  { width: 1920, height: 1080 },
  { width: 1280, height: 800 },
] as const;

interface FirstScreen {
  /** From navigation start to the end of DOMContentLoaded (the scripts have run), ms. */
  readonly scriptsRanMs: number;
  /** From navigation start to the first GraphQL request leaving, ms. */
  readonly firstRequestMs: number;
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
 * Installed in the page before its own scripts: each frame, until every card in view shows its
 * loaded poster, then reports through the `zeusFirstScreen` binding. Plain JavaScript in a
 * string: a function would be serialised with whatever the TypeScript runner added to it.
 */
const WATCH_FIRST_SCREEN = `(() => {
  let firstCard;
  const check = () => {
    const cards = [...document.querySelectorAll('ol.jobs article')];
    if (cards.length > 0 && firstCard === undefined) firstCard = performance.now();
    const inView = cards.filter((card) => {
      const box = card.getBoundingClientRect();
      return box.top < window.innerHeight && box.bottom > 0;
    });
    const ready =
      inView.length > 0 &&
      inView.every((card) => {
        const poster = card.querySelector('.job-play img');
        return poster !== null && poster.complete && poster.naturalWidth > 0;
      });
    if (!ready) {
      requestAnimationFrame(check);
      return;
    }
    const now = performance.now();
    const navigation = performance.getEntriesByType('navigation')[0];
    const graphql = performance
      .getEntriesByType('resource')
      .filter((entry) => new URL(entry.name).pathname === '/graphql');
    window.zeusFirstScreen(JSON.stringify({
      scriptsRanMs: navigation ? navigation.domContentLoadedEventEnd : 0,
      firstRequestMs: Math.min(...graphql.map((entry) => entry.startTime)),
      firstAnswerMs: Math.min(...graphql.map((entry) => entry.responseEnd)),
      firstCardMs: firstCard,
      firstScreenMs: now,
      cardsInView: inView.length,
      cardsInPage: cards.length,
    }));
  };
  requestAnimationFrame(check);
})();`;

/**
 * What the page's main thread had done by then (Chrome's Performance metrics: the wall time of
 * its tasks, which a busy machine stretches too).
 */
interface MainThread {
  readonly busyMs: number;
  readonly scriptMs: number;
  readonly layoutMs: number;
  readonly styleMs: number;
}

type Visit = FirstScreen & MainThread;

/** One visit to `url`: a fresh browser, the first screen, its figures. */
async function visit(url: string, viewport: { width: number; height: number }): Promise<Visit> {
  const browser = await launchChromium(url, viewport, { refuse: 'resolver' });
  try {
    const page = await browser.context.newPage();
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send('Performance.enable');
    let report: (json: string) => void = () => undefined;
    const reported = new Promise<string>((resolvePromise) => {
      report = resolvePromise;
    });
    await page.exposeFunction('zeusFirstScreen', (json: string) => {
      report(json);
    });
    await page.addInitScript({ content: WATCH_FIRST_SCREEN });
    await page.goto(url, { waitUntil: 'commit' });
    const result = JSON.parse(
      await Promise.race([
        reported,
        new Promise<never>((_, reject) =>
          setTimeout(() => {
            reject(new Error('The first screen did not appear within 30 s.'));
          }, 30_000),
        ),
      ]),
    ) as FirstScreen;
    const { metrics } = await cdp.send('Performance.getMetrics');
    const ms = (name: string): number =>
      (metrics.find((metric) => metric.name === name)?.value ?? 0) * 1_000;
    return {
      ...result,
      busyMs: ms('TaskDuration'),
      scriptMs: ms('ScriptDuration'),
      layoutMs: ms('LayoutDuration'),
      styleMs: ms('RecalcStyleDuration'),
    };
  } finally {
    await browser.close();
  }
}

function median(values: readonly number[]): number | undefined {
  const { median: middle } = spreadOf(values);
  return Number.isNaN(middle) ? undefined : middle;
}

/** The builds measured: this one, and the baseline when one is given. */
interface Build {
  readonly label: string;
  readonly dir: string;
}

export const webappBenchmark: Benchmark = {
  name: 'webapp',
  description: 'the web app first screen with a history of 10,000 videos, in Chromium',
  settings: {
    'webapp-jobs': 'finished jobs in the history (default 10000)',
    'webapp-baseline':
      "another build of the web app (a client/dist folder, e.g. main's) measured alongside",
  },
  run: async (options) => {
    const jobs = Math.round(numberSetting(options, 'webapp-jobs', 10_000));
    const baselineDir = options.settings.get('webapp-baseline');
    await ensureClientBuilt();
    const builds: Build[] = [
      { label: 'this build', dir: DIST_DIR },
      ...(baselineDir === undefined ? [] : [{ label: 'baseline', dir: resolve(baselineDir) }]),
    ];
    const dir = await mkdtemp(join(tmpdir(), 'zeus-bench-webapp-'));
    // Caddy serves a link, turned to the build of each visit (it opens files through it).
    const served = join(dir, 'client');
    const serve = async (build: Build): Promise<void> => {
      const next = join(dir, 'client.next');
      await rm(next, { force: true });
      await symlink(build.dir, next);
      await rename(next, served);
    };
    await serve(builds[0] as Build);
    const stack = await startLocalStack({
      dataDir: join(dir, 'data'),
      generatedDir: join(dir, 'generated'),
      port: 0,
      workers: 0,
      env: { ZEUS_MODEL: 'tiny-random', ZEUS_LOG_LEVEL: 'warn' },
      readyTimeoutMs: 120_000,
      clientDir: served,
    });
    const figures: Figure[] = [];
    const details: Record<string, unknown> = {
      jobs,
      builds: builds.map((build) => `${build.label}: ${build.dir}`),
    };
    try {
      const seedStarted = performance.now();
      await seedHistory({
        redisUrl: stack.redisUrl,
        generatedDir: join(dir, 'generated'),
        count: jobs,
      });
      options.log(`${jobs} jobs written in ${Math.round(performance.now() - seedStarted)} ms`);
      for (const viewport of VIEWPORTS) {
        const size = `${viewport.width}×${viewport.height}`;
        const runs = new Map<Build, Visit[]>(builds.map((build) => [build, []]));
        const load: number[] = [];
        // One unmeasured visit of each build first: Caddy, the servers and Redis warm, as on a
        // used machine. Then the builds take turns, so both see the same load.
        for (let run = 0; run <= options.runs; run += 1) {
          for (const build of builds) {
            await serve(build);
            const result = await visit(stack.url, viewport);
            if (run > 0) runs.get(build)?.push(result);
          }
          if (run > 0) load.push(machineLoad().load1);
        }
        for (const build of builds) {
          const visits = runs.get(build) ?? [];
          const suffix = build.label === 'this build' ? '' : ` (${build.label})`;
          const each = (key: keyof Visit): string =>
            visits.map((one) => Math.round(one[key])).join(', ');
          options.log(
            `${size}${suffix}, ms from navigation start: scripts ran ${each('scriptsRanMs')}; ` +
              `first request ${each('firstRequestMs')}, answer ${each('firstAnswerMs')}; first ` +
              `card ${each('firstCardMs')}; first screen ${each('firstScreenMs')}; main thread ` +
              `busy ${each('busyMs')} (script ${each('scriptMs')}, layout ${each('layoutMs')}, ` +
              `style ${each('styleMs')})`,
          );
          figures.push(
            figure(
              'webapp',
              `first screen, ${jobs} jobs, ${size}${suffix}`,
              'ms',
              visits.map((one) => one.firstScreenMs),
              { goal: { better: 'lower', target: 1_000, text: '≤ 1000' }, load },
            ),
            figure(
              'webapp',
              `first card, ${jobs} jobs, ${size}${suffix}`,
              'ms',
              visits.map((one) => one.firstCardMs),
              { load },
            ),
            figure(
              'webapp',
              `main thread busy to first screen, ${size}${suffix}`,
              'ms',
              visits.map((one) => one.busyMs),
              { load },
            ),
          );
          details[`${size}${suffix}`] = visits;
        }
        const [current, baseline] = builds.map((build) =>
          median((runs.get(build) ?? []).map((one) => one.firstScreenMs)),
        );
        if (current !== undefined && baseline !== undefined) {
          options.log(
            `${size}: first screen ${Math.round(current)} ms, baseline ${Math.round(baseline)} ms ` +
              `(medians; ${(current / baseline).toFixed(2)}× the baseline's time)`,
          );
        }
      }
    } finally {
      await stack.stop();
      await rm(dir, { recursive: true, force: true });
    }
    return { figures, details };
  },
};
