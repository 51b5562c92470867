/**
 * Submit throughput: `submitPrompt` (GraphQL parsing, validation, the Lua admission, BullMQ's
 * add, the reply) through Caddy to the API servers and Redis, with no worker running and the
 * queue bound raised so nothing is refused; then the same load straight at one API server, to
 * show what Caddy costs. The load comes from autocannon in its own process. Around each run,
 * the CPU time every process used is read from /proc: where the two cores went.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { connectRedis, closeRedis, RedisKeys } from '@zeus/core';
import { numberSetting, type Benchmark } from '../lib/benchmark.ts';
import { BenchChild } from '../lib/child.ts';
import { machineLoad, round } from '../lib/machine.ts';
import { CpuMeter } from '../lib/proc.ts';
import { figure, type Figure } from '../lib/report.ts';
import { socketPathOf } from '../../deploy/endpoints.ts';
import { startBenchStack, type BenchStack } from '../lib/stack.ts';
import type { SubmitLoadResult } from './submit-load.ts';

/** The seed's design on this machine (three gunicorn/Flask processes behind Caddy). */
const SEED_REQUESTS_PER_SECOND = 480;
const SEED_P99_MS = 300;

interface SubmitRun extends SubmitLoadResult {
  /** Jobs the queue gained during the run: must equal `accepted`. */
  readonly stored: number;
  /** CPU milliseconds per accepted request, by process. */
  readonly cpuMsPerRequest: Readonly<Record<string, number>>;
  readonly load1: number;
}

export const submitBenchmark: Benchmark = {
  name: 'submit',
  description: 'submitPrompt throughput and latency, through Caddy and straight to one server',
  settings: {
    'submit-connections': 'concurrent keep-alive connections (64)',
    'submit-duration': 'seconds of load per run, before --scale (8)',
    'submit-warmup': 'seconds of unmeasured load before the runs, before --scale (8)',
    'submit-api-servers': 'API servers behind Caddy (3)',
  },
  run: async (options) => {
    const connections = numberSetting(options, 'submit-connections', 64);
    const duration = Math.max(
      2,
      Math.round(numberSetting(options, 'submit-duration', 8) * options.scale),
    );
    const apiServers = numberSetting(options, 'submit-api-servers', 3);
    // With 2 s of warm-up the first run was the slowest of every set: the servers still spent
    // 40% more CPU per request than in the runs after it.
    const warmup = Math.max(
      1,
      Math.round(numberSetting(options, 'submit-warmup', 8) * options.scale),
    );
    const bench = await startBenchStack({
      apiServers,
      workers: 0,
      // Throughput, not abuse: the per-client submission limit would cap the load at 30 a minute.
      env: { ZEUS_MAX_QUEUED: '1000000', ZEUS_RATE_LIMIT: 'off', ZEUS_DRAIN_DELAY_MS: '0' },
      profileDir: options.profileDir,
    });
    const redis = connectRedis(bench.stack.redisUrl, { name: 'bench', role: 'requests' });
    try {
      const firstApi = bench.apiNames[0] ?? 'api-1';
      const targets = [
        {
          key: 'caddy',
          label: `through Caddy (${apiServers} servers)`,
          url: bench.stack.graphqlUrl,
        },
        {
          key: 'direct',
          label: 'straight to one server',
          ...loadTarget(bench.stack.apiAddresses[firstApi] ?? '', '/graphql'),
        },
      ];
      const figures: Figure[] = [];
      const details: Record<string, unknown> = {
        connections,
        durationSeconds: duration,
        warmupSeconds: warmup,
        apiServers,
      };
      for (const target of targets) {
        options.log(`submit: ${target.label}: warming up`);
        await loadOnce(target, connections, warmup);
        const runs: SubmitRun[] = [];
        for (let run = 1; run <= options.runs; run += 1) {
          const result = await measuredRun(bench, redis, target, connections, duration);
          options.log(
            `submit: ${target.label}: run ${run}: ${Math.round(result.requestsPerSecond)} req/s, ` +
              `p50 ${result.latencyP50Ms} ms, p99 ${result.latencyP99Ms} ms, ` +
              `${result.errors} errors, load ${result.load1}`,
          );
          runs.push(result);
        }
        const load = runs.map((r) => r.load1);
        const isFront = target.key === 'caddy';
        figures.push(
          figure(
            'submit',
            `${target.label}: requests/s`,
            'req/s',
            runs.map((r) => r.requestsPerSecond),
            {
              load,
              ...(isFront
                ? {
                    goal: {
                      better: 'higher',
                      target: 3 * SEED_REQUESTS_PER_SECOND,
                      text: `≥ ${3 * SEED_REQUESTS_PER_SECOND}`,
                    },
                  }
                : {}),
            },
          ),
          figure(
            'submit',
            `${target.label}: p50 latency`,
            'ms',
            runs.map((r) => r.latencyP50Ms),
          ),
          figure(
            'submit',
            `${target.label}: p99 latency`,
            'ms',
            runs.map((r) => r.latencyP99Ms),
            {
              ...(isFront
                ? {
                    goal: {
                      better: 'lower',
                      target: SEED_P99_MS / 3,
                      text: `≤ ${SEED_P99_MS / 3}`,
                    },
                  }
                : {}),
            },
          ),
          figure(
            'submit',
            `${target.label}: errors`,
            'count',
            runs.map((r) => r.errors),
            {
              goal: { better: 'lower', target: 0, text: '= 0' },
            },
          ),
        );
        details[target.key] = { url: target.url, socketPath: target.socketPath, runs };
      }
      return { figures, details };
    } finally {
      await closeRedis(redis);
      await bench.stop();
    }
  },
};

/**
 * Where the load goes: a URL, and the Unix socket to send it through when the server listens on
 * one (the local stack's API servers do; the URL's host is then only the Host header).
 */
interface LoadTarget {
  readonly url: string;
  readonly socketPath?: string | undefined;
}

/** An endpoint's address in the local stack (endpoints.ts) as a load target. */
function loadTarget(address: string, path: string): LoadTarget {
  const socketPath = socketPathOf(address);
  return socketPath === null
    ? { url: `http://${address}${path}` }
    : { url: `http://localhost${path}`, socketPath };
}

async function loadOnce(
  target: LoadTarget,
  connections: number,
  seconds: number,
): Promise<SubmitLoadResult> {
  const child = new BenchChild<SubmitLoadResult>(
    'api/submit-load.ts',
    [target.url, String(connections), String(seconds), target.socketPath ?? ''],
    { timeoutMs: (seconds + 60) * 1000 },
  );
  return child.result;
}

/** A count read every 100 ms until two reads agree (5 s at most): what it settles at. */
async function settledCount(read: () => Promise<number>): Promise<number> {
  let last = await read();
  for (let tries = 0; tries < 50; tries += 1) {
    await sleep(100);
    const now = await read();
    if (now === last) return now;
    last = now;
  }
  return last;
}

async function measuredRun(
  bench: BenchStack,
  redis: ReturnType<typeof connectRedis>,
  target: LoadTarget,
  connections: number,
  seconds: number,
): Promise<SubmitRun> {
  const keys = new RedisKeys();
  // Requests the previous load left in flight may still be landing: count once they have.
  const queuedBefore = await settledCount(() => redis.zcard(keys.queued));
  const child = new BenchChild<SubmitLoadResult>(
    'api/submit-load.ts',
    [target.url, String(connections), String(seconds), target.socketPath ?? ''],
    { timeoutMs: (seconds + 60) * 1000 },
  );
  await child.next('started');
  const meter = new CpuMeter(bench.pids());
  const ownCpuBefore = process.cpuUsage();
  meter.start();
  const result = await child.result;
  const used = meter.stop();
  const own = process.cpuUsage(ownCpuBefore);
  const stored = (await settledCount(() => redis.zcard(keys.queued))) - queuedBefore;
  const cpu: Record<string, number> = {
    ...used,
    'load generator': result.cpuSeconds,
    'bench process (supervisor)': (own.user + own.system) / 1e6,
  };
  const perRequest = Object.fromEntries(
    Object.entries(cpu).map(([name, seconds]) => [
      name,
      round((seconds * 1000) / Math.max(1, result.accepted), 3),
    ]),
  );
  return {
    ...result,
    requestsPerSecond: round(result.requestsPerSecond, 0),
    stored,
    cpuMsPerRequest: perRequest,
    load1: machineLoad().load1,
  };
}
