/**
 * The submit benchmark, run small (`npm run bench -- --only submit` at a tenth of its durations,
 * one round): it must load every system with the same wrk command, report each one and Zeus's
 * ratios to the others, count what the peer and Zeus stored in their Redis, and leave a CPU
 * profile of every process of the profiled Zeus. No figure's size is checked: times belong in
 * the benchmark, not here.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';
import type { SubmitRun } from '../../bench/api/submit.ts';
import type { ProfileReport } from '../../bench/api/profile.ts';

const run = promisify(execFile);
const CONNECTIONS = 64;

const LABELS = {
  peer: 'Flask peer',
  'bare-node': 'ceiling: bare Node',
  'minimal-apollo': 'ceiling: minimal Apollo',
  zeus: 'Zeus, rate limiter off',
  'zeus-limited': 'Zeus, rate limiter on',
  'zeus-direct': 'Zeus straight to one server',
} as const;
type Target = keyof typeof LABELS;

/** Each system's processes, which all work when the load goes through Caddy. */
const PROCESSES: Readonly<Record<Target, readonly string[]>> = {
  peer: ['redis', 'app-1', 'app-2', 'app-3', 'caddy'],
  'bare-node': ['node-1', 'node-2', 'node-3', 'caddy'],
  'minimal-apollo': ['apollo-1', 'apollo-2', 'apollo-3', 'caddy'],
  zeus: ['redis', 'api-1', 'api-2', 'api-3', 'caddy'],
  'zeus-limited': ['redis', 'api-1', 'api-2', 'api-3', 'caddy'],
  'zeus-direct': ['redis', 'api-1'],
};

interface Report {
  readonly figures: readonly {
    readonly benchmark: string;
    readonly name: string;
    readonly spread: { readonly median: number };
    readonly load?: readonly number[];
    readonly others?: readonly number[];
  }[];
  readonly details: {
    readonly submit: Record<Target, { readonly runs: readonly SubmitRun[] }> & {
      readonly ratios: Record<string, readonly { readonly requestsPerSecond: number }[]>;
      readonly profiles: { readonly dir: string; readonly 'zeus-limited': ProfileReport };
    };
  };
}

let out: string;
let report: Report;
let stdout: string;

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'zeus-submit-bench-'));
  const args = ['tsx', 'bench/main.ts', '--only', 'submit', '--runs', '1', '--scale', '0.1'];
  ({ stdout } = await run('npx', [...args, '--out', out], {
    cwd: REPOSITORY_ROOT,
    timeout: 400_000,
  }));
  report = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8')) as Report;
}, 420_000);

afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

const runOf = (target: Target): SubmitRun => {
  const [result] = report.details.submit[target].runs;
  if (result === undefined) throw new Error(`No run of ${target}.`);
  return result;
};

describe('npm run bench -- --only submit, small', () => {
  it("reports every system, and Zeus's ratios to the peer and both ceilings", () => {
    const names = report.figures.map((f) => f.name);
    for (const label of Object.values(LABELS)) {
      for (const figure of ['requests/s', 'p50 latency', 'p99 latency', 'errors']) {
        expect(names).toContain(`${label}: ${figure}`);
      }
    }
    for (const zeus of [LABELS.zeus, LABELS['zeus-limited']]) {
      for (const reference of [LABELS.peer, LABELS['bare-node'], LABELS['minimal-apollo']]) {
        expect(names).toContain(`${zeus} ÷ ${reference}: requests/s`);
        expect(names).toContain(`${zeus} ÷ ${reference}: p99 latency`);
      }
    }
    // The printed table has every row, each with the load and the cores others used.
    for (const name of names) expect(stdout).toContain(name);
    expect(stdout).toMatch(/^benchmark\s+figure\s+median\s+unit.*load\s+others \(cores\)$/m);
    for (const figure of report.figures) {
      expect(figure.load).toHaveLength(1);
      expect(figure.others?.[0]).toBeGreaterThanOrEqual(0);
    }
  });

  it('divides the same round’s runs: each ratio is Zeus’s figure over the other’s', () => {
    const median = (name: string): number | undefined =>
      report.figures.find((f) => f.name === name)?.spread.median;
    const zeus = runOf('zeus-limited');
    const peer = runOf('peer');
    expect(report.details.submit.ratios['zeus-limited/peer']?.[0]?.requestsPerSecond).toBeCloseTo(
      zeus.requestsPerSecond / peer.requestsPerSecond,
      3,
    );
    expect(median(`${LABELS['zeus-limited']} ÷ ${LABELS.peer}: p99 latency`)).toBeCloseTo(
      zeus.latencyP99Ms / peer.latencyP99Ms,
      3,
    );
    const apollo = runOf('minimal-apollo');
    expect(median(`${LABELS.zeus} ÷ ${LABELS['minimal-apollo']}: requests/s`)).toBeCloseTo(
      runOf('zeus').requestsPerSecond / apollo.requestsPerSecond,
      3,
    );
  });

  it('got a queued job for every request, from every system, and counted its CPU', () => {
    for (const target of Object.keys(LABELS) as Target[]) {
      const result = runOf(target);
      expect({ target, errors: result.errors }).toEqual({ target, errors: 0 });
      expect(result.accepted).toBeGreaterThan(0);
      expect(result.accepted).toBe(result.requests);
      expect(result.latencyP99Ms).toBeGreaterThan(0);
      expect(result.loadavg).toHaveLength(3);
      for (const process of [...PROCESSES[target], 'load generator (wrk)']) {
        expect({ target, process, used: result.cpuMsPerRequest[process] }).toEqual({
          target,
          process,
          used: expect.any(Number) as number,
        });
        expect(result.cpuMsPerRequest[process]).toBeGreaterThan(0);
      }
    }
  });

  it('stored every accepted submission in Redis: the peer a list entry and a hash each', () => {
    for (const target of ['peer', 'zeus', 'zeus-limited', 'zeus-direct'] as const) {
      const result = runOf(target);
      // Requests in flight when the load stopped are stored but not answered: at most one per
      // connection of this run, and of the warm-up before it any that landed late.
      expect(result.stored).toBeGreaterThanOrEqual(result.accepted);
      expect(result.stored).toBeLessThanOrEqual(result.accepted + 2 * CONNECTIONS);
    }
    expect(runOf('peer').records).toBe(runOf('peer').stored);
    for (const ceiling of ['bare-node', 'minimal-apollo'] as const) {
      expect(runOf(ceiling).stored).toBeNull();
    }
  });

  it('profiled every process of Zeus (limiter on) and wrote the profiles', async () => {
    const { dir, 'zeus-limited': profile } = report.details.submit.profiles;
    expect(dir.startsWith(join(out, 'profiles'))).toBe(true);
    const processes = profile.processes.map((p) => p.process);
    expect(processes).toEqual(
      expect.arrayContaining([
        'caddy',
        '3 servers together',
        'api-1',
        'api-2',
        'api-3',
        'bench process (supervisor)',
      ]),
    );
    for (const summary of profile.processes) {
      expect(summary.requests).toBe(profile.requests);
      expect(summary.busyMs).toBeGreaterThan(0);
      expect(summary.byPackage.length).toBeGreaterThan(0);
    }
    // Every submission runs at least two scripts: the admission and BullMQ's add.
    const scripts = profile.redis?.commands.filter((c) => /^eval/.test(c.command)) ?? [];
    expect(scripts.reduce((sum, c) => sum + c.calls, 0)).toBeGreaterThanOrEqual(
      2 * profile.requests,
    );
    for (const file of [
      'zeus-limited.caddy.pb.gz',
      'zeus-limited.api-1.cpuprofile',
      'zeus-limited.supervisor.cpuprofile',
      'zeus-limited.redis.txt',
      'zeus-limited.summary.txt',
    ]) {
      expect((await stat(join(dir, file))).size).toBeGreaterThan(0);
    }
  });
});
