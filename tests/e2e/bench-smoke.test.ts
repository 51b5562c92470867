/**
 * The benchmark suite itself, run small: `npm run bench` is not a test, but what it counts must
 * be right. Fan-out runs once at a tenth of its load against a real stack; the report must
 * account for every message, spread over the three servers. (The submit benchmark has its own
 * test: submit-bench.test.ts.)
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
    'fanout',
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
    expect(names).toContain(`fanout: ${SUBSCRIBERS} subscribers: p99 publish→receipt`);
    expect(names).toContain(`fanout: ${SUBSCRIBERS} subscribers: messages lost`);
    for (const name of names) expect(stdout).toContain(name.split(': ').slice(1).join(': '));
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
