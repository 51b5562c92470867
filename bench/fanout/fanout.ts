/**
 * Event fan-out: thousands of graphql-ws subscribers, spread over the API servers by Caddy
 * (least_conn), follow `jobUpdated` for a set of running jobs while a separate process, standing
 * in for the worker, publishes their progress through `JobStore.update`. Measures the delay from
 * each update to each subscriber's receipt (p50, p99, max), progress messages lost (must be 0),
 * and the API servers' (and Caddy's) resident memory per idle subscriber.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  numberListSetting,
  numberSetting,
  type Benchmark,
  type BenchOptions,
} from '../lib/benchmark.ts';
import { fetchVia } from '../../deploy/endpoints.ts';
import { BenchChild } from '../lib/child.ts';
import { machineLoad, round } from '../lib/machine.ts';
import { CpuMeter, rssBytes } from '../lib/proc.ts';
import { figure, type Figure } from '../lib/report.ts';
import { startBenchStack, type BenchStack } from '../lib/stack.ts';
import { summarizeLatencies } from '../lib/stats.ts';
import type { PublisherResult } from './publisher.ts';
import type { SubscribersResult } from './subscribers.ts';

/** Subscribers one client process holds. */
const SUBSCRIBERS_PER_PROCESS = 1_250;
/** How long memory is left to settle once every subscriber is connected and idle. */
const IDLE_SETTLE_MS = 3_000;

interface FanoutRun {
  readonly subscribers: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly received: number;
  readonly expected: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly failures: number;
  readonly connectSeconds: number;
  /** Resident memory the API servers (together) and Caddy gained per idle subscriber. */
  readonly serverKiBPerSubscriber: number;
  readonly caddyKiBPerSubscriber: number;
  /** Subscribers each API server held, as Caddy counted its open requests. */
  readonly perServer: readonly number[];
  readonly publisherUpdateP50Ms: number;
  readonly publisherLate: number;
  /** CPU seconds each process used from the first publish until every message had arrived. */
  readonly cpuSeconds: Readonly<Record<string, number>>;
  /** CPU time per delivered message (over the same time): the API servers together. */
  readonly serverCpuUsPerMessage: number;
  readonly caddyCpuUsPerMessage: number;
  /** The subscriber processes together. */
  readonly clientCpuUsPerMessage: number;
  readonly load1: number;
}

export const fanoutBenchmark: Benchmark = {
  name: 'fanout',
  description: 'jobUpdated fan-out to WebSocket subscribers through Caddy: latency, loss, memory',
  settings: {
    'fanout-subscribers': 'subscriber counts, comma separated (1000,5000)',
    'fanout-jobs': 'running jobs the subscribers are spread over (10)',
    'fanout-seconds': 'seconds of publishing per run, before --scale (5)',
    'fanout-interval': 'milliseconds between two steps of a job (250, the worker default)',
  },
  run: async (options) => {
    const sizes = numberListSetting(options, 'fanout-subscribers', [1_000, 5_000]);
    const jobs = numberSetting(options, 'fanout-jobs', 10);
    const events = Math.max(
      4,
      Math.round(numberSetting(options, 'fanout-events', 20) * options.scale),
    );
    const intervalMs = numberSetting(options, 'fanout-interval', 250);
    const figures: Figure[] = [];
    const details: Record<string, unknown> = { jobs, events, intervalMs };
    for (const size of sizes) {
      const runs: FanoutRun[] = [];
      for (let run = 1; run <= options.runs; run += 1) {
        const result = await fanoutRun(options, size, jobs, events, intervalMs);
        options.log(
          `fanout: ${size} subscribers: run ${run}: p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, ` +
            `max ${result.maxMs} ms, lost ${result.lost}, ${result.serverKiBPerSubscriber} KiB/subscriber, ` +
            `CPU per message: servers ${result.serverCpuUsPerMessage} µs, Caddy ` +
            `${result.caddyCpuUsPerMessage} µs, clients ${result.clientCpuUsPerMessage} µs, ` +
            `load ${result.load1}`,
        );
        runs.push(result);
      }
      const load = runs.map((r) => r.load1);
      const name = `${size} subscribers`;
      figures.push(
        figure(
          'fanout',
          `${name}: p50 publish→receipt`,
          'ms',
          runs.map((r) => r.p50Ms),
          { load },
        ),
        figure(
          'fanout',
          `${name}: p99 publish→receipt`,
          'ms',
          runs.map((r) => r.p99Ms),
          {
            ...(size >= 5_000 ? { goal: { better: 'lower', target: 100, text: '< 100' } } : {}),
          },
        ),
        figure(
          'fanout',
          `${name}: max publish→receipt`,
          'ms',
          runs.map((r) => r.maxMs),
        ),
        figure(
          'fanout',
          `${name}: messages lost`,
          'count',
          runs.map((r) => r.lost + r.failures),
          {
            goal: { better: 'lower', target: 0, text: '= 0' },
          },
        ),
        figure(
          'fanout',
          `${name}: API servers' CPU per message`,
          'µs',
          runs.map((r) => r.serverCpuUsPerMessage),
        ),
        figure(
          'fanout',
          `${name}: Caddy's CPU per message`,
          'µs',
          runs.map((r) => r.caddyCpuUsPerMessage),
        ),
        figure(
          'fanout',
          `${name}: server memory per subscriber`,
          'KiB',
          runs.map((r) => r.serverKiBPerSubscriber),
          {
            goal: { better: 'lower', target: 64, text: '< 64' },
          },
        ),
      );
      details[`subscribers-${size}`] = runs;
    }
    return { figures, details };
  },
};

async function fanoutRun(
  options: BenchOptions,
  size: number,
  jobs: number,
  events: number,
  intervalMs: number,
): Promise<FanoutRun> {
  const bench = await startBenchStack({
    apiServers: 3,
    workers: 0,
    // Stopping servers need not wait for Caddy to notice: nothing is sent to them then.
    env: { ZEUS_DRAIN_DELAY_MS: '0' },
    profileDir: options.profileDir,
  });
  const children: BenchChild<unknown>[] = [];
  try {
    const publisher = new BenchChild<PublisherResult>(
      'fanout/publisher.ts',
      [bench.stack.redisUrl],
      {
        timeoutMs: 300_000,
      },
    );
    children.push(publisher);
    await publisher.next('ready');
    publisher.send({ type: 'setup', jobs, events });
    const { ids } = (await publisher.next('jobs')) as unknown as { ids: string[] };

    const pids = bench.pids();
    const memory = (): { servers: number; caddy: number } => ({
      servers: bench.apiNames.reduce((sum, name) => sum + rssBytes(pids.get(name) ?? 0), 0),
      caddy: rssBytes(pids.get('caddy') ?? 0),
    });
    const before = memory();

    const processes = Math.ceil(size / SUBSCRIBERS_PER_PROCESS);
    const subscriberChildren: BenchChild<SubscribersResult>[] = [];
    for (let p = 0; p < processes; p += 1) {
      const first = Math.floor((p * size) / processes);
      const count = Math.floor(((p + 1) * size) / processes) - first;
      const child = new BenchChild<SubscribersResult>(
        'fanout/subscribers.ts',
        [bench.stack.webSocketUrl, String(count), String(first), ids.join(',')],
        { timeoutMs: 300_000 },
      );
      children.push(child);
      subscriberChildren.push(child);
    }
    options.log(`fanout: ${size} subscribers in ${processes} process(es): connecting`);
    await Promise.all(subscriberChildren.map((child) => child.next('ready')));
    await sleep(IDLE_SETTLE_MS);
    const after = memory();
    const perServer = await upstreamRequests(bench);

    // The publisher exits with its result, so it is read apart, as soon as it has finished.
    const publisherMeter = new CpuMeter(new Map([['publisher', publisher.pid]]));
    const meter = new CpuMeter(
      new Map([
        ...pids,
        ...subscriberChildren.map(
          (child, index) => [`subscribers-${index + 1}`, child.pid] as const,
        ),
      ]),
    );
    meter.start();
    publisherMeter.start();
    publisher.send({ type: 'publish', events, intervalMs });
    const published = await publisher.result;
    const publisherCpu = publisherMeter.stop();
    // CPU is counted until every message has arrived: on a loaded machine delivery ends well
    // after the last publish, and the work per message would otherwise be undercounted.
    const received = subscriberChildren.map((child) => child.next('received'));
    for (const child of subscriberChildren) child.send({ steps: events, waitMs: 10_000 });
    await Promise.all(received);
    const cpuSeconds = { ...meter.stop(), ...publisherCpu };
    const results = await Promise.all(subscriberChildren.map((child) => child.result));

    const latencies = results.flatMap((r) => r.latenciesMs);
    const cpuUsPerMessage = (names: (name: string) => boolean): number =>
      round(
        (Object.entries(cpuSeconds)
          .filter(([name]) => names(name))
          .reduce((sum, [, seconds]) => sum + seconds, 0) *
          1e6) /
          Math.max(1, latencies.length),
        1,
      );
    const summary = summarizeLatencies(latencies);
    const publisherSummary = summarizeLatencies(published.updateMs);
    return {
      subscribers: size,
      p50Ms: summary.p50,
      p99Ms: summary.p99,
      maxMs: summary.max,
      received: summary.count,
      expected: size * events,
      lost: results.reduce((sum, r) => sum + r.lost, 0),
      duplicates: results.reduce((sum, r) => sum + r.duplicates, 0),
      failures: results.reduce((sum, r) => sum + r.failures, 0),
      connectSeconds: round(Math.max(...results.map((r) => r.connectSeconds)), 1),
      serverKiBPerSubscriber: round((after.servers - before.servers) / 1024 / size, 1),
      caddyKiBPerSubscriber: round((after.caddy - before.caddy) / 1024 / size, 1),
      perServer,
      publisherUpdateP50Ms: round(publisherSummary.p50, 2),
      publisherLate: published.late,
      serverCpuUsPerMessage: cpuUsPerMessage((name) => bench.apiNames.includes(name)),
      caddyCpuUsPerMessage: cpuUsPerMessage((name) => name === 'caddy'),
      clientCpuUsPerMessage: cpuUsPerMessage((name) => name.startsWith('subscribers-')),
      cpuSeconds: Object.fromEntries(
        Object.entries(cpuSeconds).map(([name, seconds]) => [name, round(seconds, 2)]),
      ),
      load1: machineLoad().load1,
    };
  } finally {
    for (const child of children) child.kill();
    await bench.stop();
  }
}

/** Requests (WebSockets included) each API server has open, from Caddy's admin API. */
async function upstreamRequests(bench: BenchStack): Promise<number[]> {
  const response = await fetchVia(bench.stack.caddyAdminAddress, '/reverse_proxy/upstreams');
  const upstreams = (await response.json()) as { address: string; num_requests: number }[];
  return upstreams.map((upstream) => upstream.num_requests);
}
