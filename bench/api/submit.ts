/**
 * Submit throughput, Zeus beside what it is measured against, in one run on one machine:
 * `submitPrompt` through Caddy to three Zeus API servers and Redis (no worker, the queue bound
 * out of reach), with the rate limiter off and on (at a limit the load does not reach), and
 * straight to one server; a reconstruction of the original Flask design (the peer); and two
 * ceilings, bare Node and minimal Apollo (systems.ts). Every system is started first, then each
 * round measures each in turn (the order rotating from round to round) with the same wrk
 * command: a warm-up, then the measured load. Zeus's throughput and p99 are printed as ratios to
 * the peer's and the ceilings' of the same round.
 *
 * Around every measured run, the CPU each process used is read from /proc, and so is the whole
 * machine's: what processes outside the benchmark used meanwhile is in every row. After the
 * rounds, one more loaded run of Zeus (limiter on) records CPU profiles of every process
 * (profile.ts).
 */
import { mkdtemp } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { currentSystemEnvironment, ensureSystemPrograms } from '../../scripts/system-deps.ts';
import { numberSetting, type Benchmark, type BenchOptions } from '../lib/benchmark.ts';
import { round } from '../lib/machine.ts';
import { CpuMeter, machineBusySeconds } from '../lib/proc.ts';
import { figure, type Figure, type Goal } from '../lib/report.ts';
import { profileRun } from './profile.ts';
import {
  startBareNode,
  startMinimalApollo,
  startPeer,
  startZeus,
  type StoredCount,
  type SubmitSystem,
  type SystemOptions,
} from './systems.ts';
import { runWrk, type LoadResult } from './wrk.ts';

export const SUBMIT_BODY = JSON.stringify({
  query:
    'mutation ($input: PromptInput!) { submitPrompt(input: $input) { id status queuePosition settings { seed } } }',
  variables: {
    input: { prompt: 'a red fox running through snow', width: 768, height: 512, numFrames: 121 },
  },
});

/** The rate limit of `zeus-limited`: per client, far above what one client's load reaches. */
export const UNREACHED_RATE_LIMIT = '9999999/60s';

interface TargetSpec {
  readonly key: string;
  readonly label: string;
  /** The system it loads (`zeus-direct` loads `zeus`'s first server). */
  readonly system: string;
  readonly direct?: true;
}

const TARGETS: readonly TargetSpec[] = [
  { key: 'peer', label: 'Flask peer', system: 'peer' },
  { key: 'bare-node', label: 'ceiling: bare Node', system: 'bare-node' },
  { key: 'minimal-apollo', label: 'ceiling: minimal Apollo', system: 'minimal-apollo' },
  { key: 'zeus', label: 'Zeus, rate limiter off', system: 'zeus' },
  { key: 'zeus-limited', label: 'Zeus, rate limiter on', system: 'zeus-limited' },
  { key: 'zeus-direct', label: 'Zeus straight to one server', system: 'zeus', direct: true },
];

const STARTERS: Readonly<Record<string, (options: SystemOptions) => Promise<SubmitSystem>>> = {
  peer: startPeer,
  'bare-node': startBareNode,
  'minimal-apollo': startMinimalApollo,
  zeus: (options) => startZeus('zeus', 'off', options),
  'zeus-limited': (options) => startZeus('zeus-limited', UNREACHED_RATE_LIMIT, options),
};

/** Zeus's ratios to the others, and the goals of issue 18 where it sets one. */
const RATIOS: readonly {
  readonly reference: string;
  readonly throughputGoal?: number;
  readonly p99Goal?: number;
}[] = [
  { reference: 'peer', throughputGoal: 2, p99Goal: 1 },
  { reference: 'bare-node' },
  { reference: 'minimal-apollo', throughputGoal: 0.75 },
];

export interface SubmitRun extends LoadResult {
  readonly round: number;
  /** Jobs stored during the run (the queue's growth): null for a ceiling. */
  readonly stored: number | null;
  /** Job status records stored during the run, where kept apart from the queue (the peer). */
  readonly records: number | null;
  /** CPU milliseconds per accepted request, by process. */
  readonly cpuMsPerRequest: Readonly<Record<string, number>>;
  /** The load average (1, 5, 15 minutes) when the run ended. */
  readonly loadavg: readonly number[];
  /** Cores used by processes outside the benchmark during the run (the machine's less ours). */
  readonly othersCores: number;
  /** Cores used meanwhile by the benchmark's other systems, idle but running. */
  readonly idleSystemsCores: number;
}

function stringListSetting(options: BenchOptions, key: string, fallback: string): string[] {
  return (options.settings.get(key) ?? fallback).split(',').filter((item) => item !== '');
}

export const submitBenchmark: Benchmark = {
  name: 'submit',
  description:
    'submitPrompt throughput and latency: Zeus beside the Flask peer and two ceilings, same load',
  settings: {
    'submit-connections': 'keep-alive connections of wrk (64)',
    'submit-threads': 'wrk threads (2)',
    'submit-duration': 'seconds of each measured load, before --scale (10)',
    'submit-warmup': 'seconds of unmeasured load before each measured one, before --scale (5)',
    'submit-api-servers': 'upstream processes behind each Caddy (3)',
    'submit-systems': `what to load (${TARGETS.map((t) => t.key).join(',')})`,
    'submit-profile': 'what to profile after the rounds, or none (zeus-limited)',
    'submit-profile-seconds': 'seconds of the profiled load, before --scale (10)',
  },
  run: async (options) => {
    const log = (line: string): void => {
      options.log(line);
    };
    ensureSystemPrograms('bench', { ...currentSystemEnvironment(), log });
    const scaled = (key: string, fallback: number, least: number): number =>
      Math.max(least, Math.round(numberSetting(options, key, fallback) * options.scale));
    const load = {
      threads: numberSetting(options, 'submit-threads', 2),
      connections: numberSetting(options, 'submit-connections', 64),
      body: SUBMIT_BODY,
    };
    const duration = scaled('submit-duration', 10, 2);
    const warmup = scaled('submit-warmup', 5, 1);
    const profileSeconds = scaled('submit-profile-seconds', 10, 2);
    const replicas = numberSetting(options, 'submit-api-servers', 3);
    const selected = stringListSetting(options, 'submit-systems', TARGETS.map((t) => t.key).join());
    const targets = TARGETS.filter((target) => selected.includes(target.key));
    const unknown = selected.filter((key) => !TARGETS.some((target) => target.key === key));
    const profiled = stringListSetting(options, 'submit-profile', 'zeus-limited').filter(
      (key) => key !== 'none',
    );
    const unprofilable = profiled.filter(
      (key) => !targets.some((target) => target.key === key && target.direct !== true),
    );
    if (unknown.length > 0 || unprofilable.length > 0) {
      throw new Error(
        `--submit-systems takes ${TARGETS.map((t) => t.key).join(', ')}; --submit-profile ` +
          `takes the systems loaded through Caddy, or none (got ${[...unknown, ...unprofilable].join(', ')}).`,
      );
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const profileDir = options.profileDir ?? join(options.outDir, 'profiles', `submit-${stamp}`);

    const systems = new Map<string, SubmitSystem>();
    try {
      for (const key of new Set(targets.map((target) => target.system))) {
        options.log(`submit: starting ${key}`);
        const start = STARTERS[key];
        if (start === undefined) throw new Error(`No system "${key}".`);
        const dir = await mkdtemp(join(tmpdir(), `zeus-bench-${key}-`));
        systems.set(key, await start({ replicas, dir, profileDir }));
      }
      const systemOf = (target: TargetSpec): SubmitSystem => {
        const system = systems.get(target.system);
        if (system === undefined) throw new Error(`${target.system} is not running.`);
        return system;
      };
      const urlOf = (target: TargetSpec): string =>
        target.direct === true ? systemOf(target).firstUpstreamUrl : systemOf(target).url;

      const runs = new Map<string, SubmitRun[]>(targets.map((target) => [target.key, []]));
      for (let round = 1; round <= options.runs; round += 1) {
        const offset = (round - 1) % targets.length;
        for (const target of [...targets.slice(offset), ...targets.slice(0, offset)]) {
          await runWrk({ ...load, url: urlOf(target), seconds: warmup });
          const result = await measuredRun(round, systemOf(target), systems, {
            ...load,
            url: urlOf(target),
            seconds: duration,
          });
          runs.get(target.key)?.push(result);
          options.log(
            `submit: round ${round}: ${target.label}: ${Math.round(result.requestsPerSecond)} req/s, ` +
              `p50 ${result.latencyP50Ms} ms, p99 ${result.latencyP99Ms} ms, ${result.errors} errors, ` +
              `load ${result.loadavg[0] ?? '?'}, others ${result.othersCores} cores`,
          );
        }
      }

      const figures: Figure[] = [];
      const details: Record<string, unknown> = {
        threads: load.threads,
        connections: load.connections,
        durationSeconds: duration,
        warmupSeconds: warmup,
        replicas,
        rateLimitOn: UNREACHED_RATE_LIMIT,
      };
      for (const target of targets) {
        const targetRuns = runs.get(target.key) ?? [];
        figures.push(...targetFigures(target.label, targetRuns));
        details[target.key] = { label: target.label, url: urlOf(target), runs: targetRuns };
      }
      const ratios: Record<string, unknown> = {};
      for (const zeus of targets.filter((t) => t.key === 'zeus' || t.key === 'zeus-limited')) {
        for (const ratio of RATIOS) {
          const reference = targets.find((t) => t.key === ratio.reference);
          if (reference === undefined) continue;
          const pairs = pairRuns(runs.get(zeus.key) ?? [], runs.get(reference.key) ?? []);
          figures.push(...ratioFigures(zeus.label, reference.label, pairs, ratio));
          ratios[`${zeus.key}/${reference.key}`] = pairs.map(([z, r]) => ({
            round: z.round,
            requestsPerSecond: round(z.requestsPerSecond / r.requestsPerSecond, 3),
            p99: round(z.latencyP99Ms / r.latencyP99Ms, 3),
          }));
        }
      }
      details['ratios'] = ratios;

      const profiles: Record<string, unknown> = {};
      for (const key of profiled) {
        const target = targets.find((t) => t.key === key);
        if (target === undefined) continue;
        options.log(`submit: profiling ${target.label} (${profileSeconds} s) into ${profileDir}`);
        await runWrk({ ...load, url: urlOf(target), seconds: warmup });
        profiles[key] = await profileRun({
          name: key,
          system: systemOf(target),
          load: { ...load, url: urlOf(target), seconds: profileSeconds },
          dir: profileDir,
          log,
        });
      }
      details['profiles'] = { dir: profileDir, ...profiles };
      return { figures, details };
    } finally {
      for (const system of [...systems.values()].reverse()) await system.stop();
    }
  },
};

/** A count read every 100 ms until two reads agree (5 s at most): what it settles at. */
async function settledCount(system: SubmitSystem): Promise<StoredCount | null> {
  let last = await system.count();
  for (let tries = 0; tries < 50 && last !== null; tries += 1) {
    await sleep(100);
    const now = await system.count();
    if (now?.queued === last.queued && now.records === last.records) return now;
    last = now;
  }
  return last;
}

async function measuredRun(
  roundNumber: number,
  system: SubmitSystem,
  systems: ReadonlyMap<string, SubmitSystem>,
  load: Parameters<typeof runWrk>[0],
): Promise<SubmitRun> {
  // Requests the warm-up left in flight may still be landing: count once they have.
  const before = await settledCount(system);
  const idle = new Map<string, number>();
  for (const [key, other] of systems) {
    if (other === system) continue;
    for (const [name, pid] of other.pids()) idle.set(`${key}:${name}`, pid);
  }
  const meter = new CpuMeter(system.pids(), { withDescendants: true });
  const idleMeter = new CpuMeter(idle, { withDescendants: true });
  const began = performance.now();
  const busyBefore = machineBusySeconds();
  const ownBefore = process.cpuUsage();
  meter.start();
  idleMeter.start();
  const result = await runWrk(load);
  const used = meter.stop();
  const idleUsed = Object.values(idleMeter.stop()).reduce((a, b) => a + b, 0);
  const own = process.cpuUsage(ownBefore);
  const busy = machineBusySeconds() - busyBefore;
  const seconds = (performance.now() - began) / 1000;
  const after = await settledCount(system);
  const cpu: Record<string, number> = {
    ...used,
    'load generator (wrk)': result.cpuSeconds,
    'bench process (supervisor)': (own.user + own.system) / 1e6,
  };
  const ours = Object.values(cpu).reduce((a, b) => a + b, 0) + idleUsed;
  return {
    ...result,
    round: roundNumber,
    requestsPerSecond: round(result.requestsPerSecond, 0),
    stored: before === null || after === null ? null : after.queued - before.queued,
    records:
      before?.records === undefined || after?.records === undefined
        ? null
        : after.records - before.records,
    cpuMsPerRequest: Object.fromEntries(
      Object.entries(cpu).map(([name, s]) => [
        name,
        round((s * 1000) / Math.max(1, result.accepted), 3),
      ]),
    ),
    loadavg: loadavg().map((value) => round(value, 2)),
    othersCores: round(Math.max(0, busy - ours) / seconds, 2),
    idleSystemsCores: round(idleUsed / seconds, 2),
  };
}

function targetFigures(label: string, runs: readonly SubmitRun[]): Figure[] {
  const context = {
    load: runs.map((r) => r.loadavg[0] ?? Number.NaN),
    others: runs.map((r) => r.othersCores),
  };
  return [
    figure(
      'submit',
      `${label}: requests/s`,
      'req/s',
      runs.map((r) => r.requestsPerSecond),
      context,
    ),
    figure(
      'submit',
      `${label}: p50 latency`,
      'ms',
      runs.map((r) => r.latencyP50Ms),
      context,
    ),
    figure(
      'submit',
      `${label}: p99 latency`,
      'ms',
      runs.map((r) => r.latencyP99Ms),
      context,
    ),
    figure(
      'submit',
      `${label}: errors`,
      'count',
      runs.map((r) => r.errors),
      {
        ...context,
        goal: { better: 'lower', target: 0, text: '= 0' },
      },
    ),
  ];
}

/** Zeus's run and the reference's of the same round. */
function pairRuns(
  zeus: readonly SubmitRun[],
  reference: readonly SubmitRun[],
): [SubmitRun, SubmitRun][] {
  return zeus.flatMap((z) => {
    const r = reference.find((run) => run.round === z.round);
    return r === undefined ? [] : [[z, r] as [SubmitRun, SubmitRun]];
  });
}

function ratioFigures(
  zeusLabel: string,
  referenceLabel: string,
  pairs: readonly [SubmitRun, SubmitRun][],
  ratio: (typeof RATIOS)[number],
): Figure[] {
  // A ratio's row: the load when Zeus's run ended, the most others used in either run.
  const context = {
    load: pairs.map(([z]) => z.loadavg[0] ?? Number.NaN),
    others: pairs.map(([z, r]) => Math.max(z.othersCores, r.othersCores)),
  };
  const goal = (better: Goal['better'], target: number | undefined): { goal?: Goal } =>
    target === undefined
      ? {}
      : { goal: { better, target, text: `${better === 'higher' ? '≥' : '≤'} ${target}` } };
  return [
    figure(
      'submit',
      `${zeusLabel} ÷ ${referenceLabel}: requests/s`,
      '×',
      pairs.map(([z, r]) => round(z.requestsPerSecond / r.requestsPerSecond, 3)),
      { ...context, ...goal('higher', ratio.throughputGoal) },
    ),
    figure(
      'submit',
      `${zeusLabel} ÷ ${referenceLabel}: p99 latency`,
      '×',
      pairs.map(([z, r]) => round(z.latencyP99Ms / r.latencyP99Ms, 3)),
      { ...context, ...goal('lower', ratio.p99Goal) },
    ),
  ];
}
