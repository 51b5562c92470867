/**
 * The Zeus stack a benchmark measures: the same `startLocalStack` that `deploy.ts --local` and
 * the end-to-end tests run (Redis, API servers, Caddy, workers as processes), in a temporary
 * folder that is removed afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalStack, type LocalStack } from '../../deploy/local-stack.ts';
import { reservePort, type PortReservation } from '../../deploy/ports.ts';

/** Preloaded (`--import`) into Node processes whose CPU profile a benchmark records. */
export const PROFILER = fileURLToPath(new URL('cpu-profiler.ts', import.meta.url));

export interface BenchStack {
  readonly stack: LocalStack;
  /** The API servers' process names (`api-1`…). */
  readonly apiNames: readonly string[];
  /** Process id of each named process (`redis`, `api-1`…, `caddy`). */
  pids(): Map<string, number>;
  stop(): Promise<void>;
}

export async function startBenchStack(options: {
  readonly apiServers: number;
  readonly workers: number;
  readonly env: Readonly<Record<string, string>>;
  /** Profiles of the API servers and workers go here (`--cpu-prof`), when set. */
  readonly profileDir?: string | undefined;
  /**
   * `life` (default): each Node process is profiled from start to exit; `signal`: between two
   * SIGUSR2 (see cpu-profiler.ts).
   */
  readonly profileWindow?: 'life' | 'signal';
  /**
   * The API servers on TCP ports of 127.0.0.1 rather than the local stack's Unix sockets, for a
   * load generator that loads one server directly (wrk speaks TCP only).
   */
  readonly apiOverTcp?: boolean;
}): Promise<BenchStack> {
  const dir = await mkdtemp(join(tmpdir(), 'zeus-bench-'));
  let stack: LocalStack;
  // Held until the servers listen (deploy/ports.ts).
  const reserved: PortReservation[] = [];
  try {
    if (options.apiOverTcp === true) {
      for (let index = 0; index < options.apiServers; index += 1)
        reserved.push(await reservePort());
    }
    stack = await startLocalStack({
      ...(reserved.length === 0
        ? {}
        : { apiPorts: reserved.map((reservation) => reservation.port) }),
      dataDir: join(dir, 'data'),
      generatedDir: join(dir, 'generated'),
      port: 0,
      workers: options.workers,
      apiServers: options.apiServers,
      env:
        options.profileDir === undefined
          ? options.env
          : {
              ...options.env,
              // Node refuses --cpu-prof in NODE_OPTIONS: a preloaded module records instead.
              NODE_OPTIONS: `--import tsx --import ${PROFILER}`,
              ZEUS_BENCH_PROFILE_DIR: options.profileDir,
              ZEUS_BENCH_PROFILE_WINDOW: options.profileWindow ?? 'life',
            },
      readyTimeoutMs: 120_000,
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  } finally {
    for (const reservation of reserved) reservation.release();
  }
  const apiNames = stack.processNames.filter((name) => name.startsWith('api-'));
  return {
    stack,
    apiNames,
    pids: () => {
      const pids = new Map<string, number>();
      for (const name of stack.processNames) {
        const pid = stack.pid(name);
        if (pid !== undefined) pids.set(name, pid);
      }
      return pids;
    },
    stop: async () => {
      try {
        await stack.stop();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Polls the `workers` query until `count` workers have their model loaded. */
export async function waitForReadyWorkers(bench: BenchStack, count: number): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const response = await fetch(bench.stack.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ workers { ready } }' }),
    });
    const body = (await response.json()) as { data?: { workers?: { ready: boolean }[] } };
    const ready = body.data?.workers?.filter((worker) => worker.ready).length ?? 0;
    if (ready >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${ready} of ${count} workers got ready`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
