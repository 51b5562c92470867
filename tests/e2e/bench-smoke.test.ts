/**
 * The benchmark suite itself, run small: `npm run bench` is not a test, but what it counts must
 * be right. Submit and fan-out run once at a tenth of their load against a real stack; the
 * report must account for every request and every message, spread over the three servers.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';

const run = promisify(execFile);
const SUBSCRIBERS = 150;

interface SubmitRun {
  readonly requests: number;
  readonly accepted: number;
  readonly errors: number;
  readonly stored: number;
  readonly latencyP99Ms: number;
  readonly cpuMsPerRequest: Readonly<Record<string, number>>;
}

interface FanoutRun {
  readonly subscribers: number;
  readonly received: number;
  readonly expected: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly failures: number;
  readonly perServer: readonly number[];
  readonly p99Ms: number;
}

interface Report {
  readonly command: string;
  readonly figures: readonly { readonly benchmark: string; readonly name: string }[];
  readonly details: {
    readonly submit: {
      readonly caddy: { readonly runs: readonly SubmitRun[] };
      readonly direct: { readonly runs: readonly SubmitRun[] };
    };
    readonly fanout: { readonly events: number } & Record<string, unknown>;
  };
}

let out: string;
let report: Report;
let stdout: string;

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'zeus-bench-smoke-'));
  const args = [
    'tsx',
    'bench/main.ts',
    '--only',
    'submit,fanout',
    '--runs',
    '1',
    '--scale',
    '0.1',
    '--fanout-subscribers',
    String(SUBSCRIBERS),
    '--fanout-jobs',
    '3',
    '--out',
    out,
  ];
  ({ stdout } = await run('npx', args, { cwd: REPOSITORY_ROOT, timeout: 150_000 }));
  report = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8')) as Report;
}, 180_000);

afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

describe('npm run bench, small', () => {
  it('prints the table and writes the same figures as JSON', () => {
    expect(stdout).toMatch(/^benchmark\s+figure\s+median\s+unit/m);
    const names = report.figures.map((f) => `${f.benchmark}: ${f.name}`);
    expect(names).toContain('submit: through Caddy (3 servers): requests/s');
    expect(names).toContain('submit: straight to one server: p99 latency');
    expect(names).toContain(`fanout: ${SUBSCRIBERS} subscribers: p99 publish→receipt`);
    expect(names).toContain(`fanout: ${SUBSCRIBERS} subscribers: messages lost`);
    for (const name of names) expect(stdout).toContain(name.split(': ').slice(1).join(': '));
  });

  it('counts every submission: each answered one is a queued job in Redis', () => {
    for (const target of ['caddy', 'direct'] as const) {
      const [result] = report.details.submit[target].runs;
      expect(result?.errors).toBe(0);
      expect(result?.accepted).toBeGreaterThan(0);
      expect(result?.accepted).toBe(result?.requests);
      // Requests in flight when a load stopped are stored but not answered: at most 64 (the
      // connections) of this run's, and of the load before it any that land after the
      // benchmark's count has settled (a slow machine).
      expect(result?.stored).toBeGreaterThanOrEqual(result?.accepted ?? Infinity);
      expect(result?.stored).toBeLessThanOrEqual((result?.accepted ?? 0) + 2 * 64);
      expect(result?.latencyP99Ms).toBeGreaterThan(0);
    }
    const [throughCaddy] = report.details.submit.caddy.runs;
    // Through Caddy every server and Caddy did work; straight to one server, the others none.
    for (const process of ['api-1', 'api-2', 'api-3', 'caddy', 'redis']) {
      expect(throughCaddy?.cpuMsPerRequest[process]).toBeGreaterThan(0);
    }
  });

  it('accounts for every progress message: all received once, over the three servers', () => {
    const runs = report.details.fanout[`subscribers-${SUBSCRIBERS}`] as readonly FanoutRun[];
    const [result] = runs;
    const { events } = report.details.fanout;
    expect(events).toBeGreaterThanOrEqual(2);
    expect(result?.subscribers).toBe(SUBSCRIBERS);
    expect(result?.expected).toBe(SUBSCRIBERS * events);
    expect(result?.received).toBe(result?.expected);
    expect([result?.lost, result?.duplicates, result?.failures]).toEqual([0, 0, 0]);
    expect(result?.perServer).toHaveLength(3);
    expect(result?.perServer.reduce((a, b) => a + b, 0)).toBe(SUBSCRIBERS);
    for (const count of result?.perServer ?? []) expect(count).toBeGreaterThan(0);
    expect(result?.p99Ms).toBeGreaterThanOrEqual(0);
  });
});
