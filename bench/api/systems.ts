/**
 * What the submit benchmark loads, each behind its own Caddy with the same number of upstream
 * processes (three), on free ports on 127.0.0.1:
 *
 * - `peer`: a reconstruction of Zeus's original design (bench/peer/): Flask apps under gunicorn,
 *   one sync worker each, a submission being one pipelined HSET + LPUSH into a Redis configured
 *   as Zeus's (append-only file, fsync every second).
 * - `bare-node`: ceiling 1, bare `node:http` servers answering a fixed JSON.
 * - `minimal-apollo`: ceiling 2, Apollo Server 5 on `node:http` with Zeus's schema, the mutation
 *   answered by a constant, no Redis.
 * - Zeus itself: the local stack (`startLocalStack`), no workers.
 *
 * The peer and the ceilings share bench/peer/Caddyfile (least_conn, nothing else); their
 * processes write their output straight to log files. Zeus runs as users run it: its own
 * Caddyfile, its processes supervised by this process, which copies their log lines.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { connectRedis, closeRedis, RedisKeys, redisSocketUrl } from '@zeus/core';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';
import { reservePort, type PortReservation } from '../../deploy/ports.ts';
import { redisServerArgs } from '../../deploy/redis-server.ts';
import { DEBIAN_PYTHON } from '../../scripts/system-deps.ts';
import { PROFILER, startBenchStack } from '../lib/stack.ts';
import { acceptsSocket, answersHttp, Spawned, waitUntil } from '../lib/spawned.ts';

/** Submissions a system has stored: its queue, and its job records where it keeps them apart. */
export interface StoredCount {
  readonly queued: number;
  readonly records?: number;
}

export interface SubmitSystem {
  readonly key: string;
  /** Through Caddy: where the load goes. */
  readonly url: string;
  readonly caddyAdmin: string;
  readonly redisUrl: string | null;
  /** Straight to its first upstream (Zeus: to show what Caddy costs). */
  readonly firstUpstreamUrl: string;
  /** Its processes by name; each name counts with the processes below it (gunicorn's worker). */
  pids(): Map<string, number>;
  /** Its Node processes that record a CPU profile between two SIGUSR2 (cpu-profiler.ts). */
  readonly profiledNodes: readonly string[];
  /** Whether this benchmark process supervises it (copies its processes' log lines). */
  readonly supervised: boolean;
  /** What it has stored so far; null for a ceiling, which stores nothing. */
  count(): Promise<StoredCount | null>;
  stop(): Promise<void>;
}

export interface SystemOptions {
  /** Upstream processes behind Caddy. */
  readonly replicas: number;
  /** A temporary folder of its own, removed by `stop()`. */
  readonly dir: string;
  /** Where its Node processes write their CPU profiles (cpu-profiler.ts, signal window). */
  readonly profileDir: string;
}

const PEER_DIR = join(REPOSITORY_ROOT, 'bench', 'peer');
const PEER_QUEUE = 'prompts';

async function reservePorts(count: number): Promise<PortReservation[]> {
  const reserved: PortReservation[] = [];
  for (let index = 0; index < count; index += 1) reserved.push(await reservePort());
  return reserved;
}

function releaseAll(reserved: readonly PortReservation[]): void {
  for (const reservation of reserved) reservation.release();
}

/** Caddy with bench/peer/Caddyfile in front of `upstreams`. */
async function startCaddy(
  dir: string,
  upstreams: readonly number[],
): Promise<{ caddy: Spawned; url: string; admin: string }> {
  // Held until Caddy listens (deploy/ports.ts), so that no one else is given them meanwhile.
  const reserved = await reservePorts(2);
  const [port, adminPort] = reserved.map((reservation) => reservation.port);
  const caddy = new Spawned(
    'caddy',
    'caddy',
    ['run', '--config', join(PEER_DIR, 'Caddyfile'), '--adapter', 'caddyfile'],
    {
      env: {
        PATH: process.env['PATH'],
        HOME: process.env['HOME'],
        BENCH_PORT: String(port),
        BENCH_UPSTREAMS: upstreams.map((upstream) => `127.0.0.1:${upstream}`).join(' '),
        BENCH_CADDY_ADMIN: `127.0.0.1:${adminPort}`,
        XDG_DATA_HOME: join(dir, 'caddy'),
        XDG_CONFIG_HOME: join(dir, 'caddy'),
      },
      cwd: dir,
      logFile: join(dir, 'logs', 'caddy.log'),
    },
  );
  const url = `http://127.0.0.1:${port}/graphql`;
  try {
    await waitUntil('Caddy to answer', () => answersHttp(url), [caddy]);
  } finally {
    releaseAll(reserved);
  }
  return { caddy, url, admin: `127.0.0.1:${adminPort}` };
}

/** A system made of processes started here (the peer, the ceilings). */
function spawnedSystem(options: {
  readonly key: string;
  readonly dir: string;
  readonly processes: readonly Spawned[];
  readonly front: { readonly caddy: Spawned; readonly url: string; readonly admin: string };
  readonly upstreamPorts: readonly number[];
  readonly redisUrl: string | null;
  readonly profiledNodes: readonly string[];
  readonly count: () => Promise<StoredCount | null>;
  readonly close?: () => Promise<void>;
}): SubmitSystem {
  const all = [...options.processes, options.front.caddy];
  return {
    key: options.key,
    url: options.front.url,
    caddyAdmin: options.front.admin,
    redisUrl: options.redisUrl,
    firstUpstreamUrl: `http://127.0.0.1:${options.upstreamPorts[0] ?? 0}/graphql`,
    pids: () => new Map(all.map((spawned) => [spawned.name, spawned.pid])),
    profiledNodes: options.profiledNodes,
    supervised: false,
    count: options.count,
    stop: async () => {
      try {
        await options.close?.();
        await options.front.caddy.stop();
        await Promise.all(options.processes.map((spawned) => spawned.stop()));
      } finally {
        await rm(options.dir, { recursive: true, force: true });
      }
    },
  };
}

/** Starts `count` processes and waits until each answers HTTP on its port. */
async function startUpstreams(
  dir: string,
  count: number,
  name: string,
  start: (port: number, logFile: string, name: string) => Spawned,
): Promise<{ processes: Spawned[]; ports: number[] }> {
  const reserved = await reservePorts(count);
  const ports = reserved.map((reservation) => reservation.port);
  try {
    const processes = ports.map((port, index) =>
      start(port, join(dir, 'logs', `${name}-${index + 1}.log`), `${name}-${index + 1}`),
    );
    await Promise.all(
      ports.map((port, index) =>
        waitUntil(
          `${processes[index]?.name ?? name} to answer`,
          () => answersHttp(`http://127.0.0.1:${port}/graphql`),
          processes,
        ),
      ),
    );
    return { processes, ports };
  } finally {
    releaseAll(reserved);
  }
}

/** Three gunicorn/Flask apps behind Caddy, and their Redis. */
export async function startPeer(options: SystemOptions): Promise<SubmitSystem> {
  const { dir } = options;
  await mkdir(join(dir, 'redis'), { recursive: true });
  const started: Spawned[] = [];
  let redis: ReturnType<typeof connectRedis> | null = null;
  try {
    // Zeus's settings (deploy/redis-server.ts), its Unix socket included.
    const redisSocket = join(dir, 'redis', 'redis.sock');
    const redisServer = new Spawned(
      'redis',
      'redis-server',
      redisServerArgs(redisSocket, join(dir, 'redis')),
      { env: { PATH: process.env['PATH'] }, cwd: dir, logFile: join(dir, 'logs', 'redis.log') },
    );
    started.push(redisServer);
    const redisUrl = redisSocketUrl(redisSocket);
    await waitUntil("the peer's Redis", () => acceptsSocket(redisSocket), [redisServer]);
    redis = connectRedis(redisUrl, { name: 'bench-peer', role: 'requests' });
    const client = redis;
    const upstreams = await startUpstreams(dir, options.replicas, 'app', (port, logFile, name) => {
      const app = new Spawned(
        name,
        DEBIAN_PYTHON,
        ['-m', 'gunicorn', '--workers', '1', '--worker-class', 'sync'].concat([
          '--bind',
          `127.0.0.1:${port}`,
          '--chdir',
          PEER_DIR,
          'app:app',
        ]),
        {
          env: {
            PATH: process.env['PATH'],
            PEER_REDIS_URL: redisUrl,
            PYTHONDONTWRITEBYTECODE: '1',
          },
          cwd: dir,
          logFile,
        },
      );
      started.push(app);
      return app;
    });
    const front = await startCaddy(dir, upstreams.ports);
    started.push(front.caddy);
    return spawnedSystem({
      key: 'peer',
      dir,
      processes: [redisServer, ...upstreams.processes],
      front,
      upstreamPorts: upstreams.ports,
      redisUrl,
      profiledNodes: [],
      // Each job: one entry in the list and one status hash (every key but the list).
      count: async () => ({
        queued: await client.llen(PEER_QUEUE),
        records: (await client.dbsize()) - 1,
      }),
      close: () => closeRedis(client),
    });
  } catch (error) {
    if (redis !== null) await closeRedis(redis);
    await Promise.all(started.map((spawned) => spawned.stop()));
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Three Node ceiling servers (bench/ceilings/<module>.ts) behind Caddy. */
async function startCeiling(
  key: string,
  module: string,
  name: string,
  options: SystemOptions,
): Promise<SubmitSystem> {
  const { dir } = options;
  const started: Spawned[] = [];
  try {
    const upstreams = await startUpstreams(dir, options.replicas, name, (port, logFile, named) => {
      const server = new Spawned(
        named,
        process.execPath,
        [
          '--import',
          'tsx',
          '--import',
          PROFILER,
          join(REPOSITORY_ROOT, 'bench', 'ceilings', module),
          String(port),
        ],
        {
          env: {
            ...process.env,
            ZEUS_BENCH_PROFILE_DIR: options.profileDir,
            ZEUS_BENCH_PROFILE_WINDOW: 'signal',
          },
          cwd: REPOSITORY_ROOT,
          logFile,
        },
      );
      started.push(server);
      return server;
    });
    const front = await startCaddy(dir, upstreams.ports);
    return spawnedSystem({
      key,
      dir,
      processes: upstreams.processes,
      front,
      upstreamPorts: upstreams.ports,
      redisUrl: null,
      profiledNodes: upstreams.processes.map((server) => server.name),
      count: () => Promise.resolve(null),
    });
  } catch (error) {
    await Promise.all(started.map((spawned) => spawned.stop()));
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

export function startBareNode(options: SystemOptions): Promise<SubmitSystem> {
  return startCeiling('bare-node', 'bare-node.ts', 'node', options);
}

export function startMinimalApollo(options: SystemOptions): Promise<SubmitSystem> {
  return startCeiling('minimal-apollo', 'minimal-apollo.ts', 'apollo', options);
}

/**
 * Zeus's stack with no workers and the queue bound out of reach; the rate limiter off, or on at
 * a limit far above what the load reaches (`rateLimit`, e.g. 9999999/60s).
 */
export async function startZeus(
  key: string,
  rateLimit: string,
  options: SystemOptions,
): Promise<SubmitSystem> {
  const bench = await startBenchStack({
    apiServers: options.replicas,
    workers: 0,
    env: {
      ZEUS_MAX_QUEUED: '1000000',
      ZEUS_RATE_LIMIT: rateLimit,
      ZEUS_DRAIN_DELAY_MS: '0',
    },
    profileDir: options.profileDir,
    profileWindow: 'signal',
    // wrk loads the first server directly too (`zeus-direct`), and wrk speaks TCP only.
    apiOverTcp: true,
  });
  const redis = connectRedis(bench.stack.redisUrl, { name: 'bench', role: 'requests' });
  const keys = new RedisKeys();
  const firstApi = bench.apiNames[0] ?? 'api-1';
  return {
    key,
    url: bench.stack.graphqlUrl,
    caddyAdmin: bench.stack.caddyAdminAddress,
    redisUrl: bench.stack.redisUrl,
    firstUpstreamUrl: `http://${bench.stack.apiAddresses[firstApi] ?? ''}/graphql`,
    pids: () => bench.pids(),
    profiledNodes: bench.apiNames,
    supervised: true,
    count: async () => ({ queued: await redis.zcard(keys.queued) }),
    stop: async () => {
      try {
        await closeRedis(redis);
      } finally {
        await bench.stop();
      }
    },
  };
}
