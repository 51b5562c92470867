/**
 * The whole Zeus stack as plain processes on one machine: Redis (unless one is given), three
 * API servers, Caddy in front, and N workers, each kept running by the supervisor. `deploy.ts
 * --local` and the end-to-end tests both start it here, so tests run exactly what users run.
 *
 *   const stack = await startLocalStack({ dataDir, generatedDir, port: 0, workers: 1 });
 *   … stack.url …
 *   await stack.stop();
 *
 * Only Caddy's public port is TCP. Redis, the API servers, the workers' status servers and
 * Caddy's admin API listen on Unix sockets in `<dataDir>/run/` (unless an operator fixed their
 * ports), so no port is ever chosen, released and bound later by a program that may find it
 * taken (the first start on a fresh machine once failed so: Redis had the port an API server
 * was about to bind). For `port: 0`, Caddy's port is reserved until Caddy listens (ports.ts),
 * and a port someone else took meanwhile is replaced by another.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { claimSocketPath, redisSocketUrl } from '@zeus/core';
import { checkPortFree, startCaddy } from './caddy-server.ts';
import { unixAddress } from './endpoints.ts';
import { detectWorkerGpus, workerGpuEnv } from './local-gpus.ts';
import { reservePort, type PortReservation } from './ports.ts';
import { isHealthy, querySystem, remaining, waitUntil } from './readiness.ts';
import { REDIS_READY_LINE, redisPidFile, redisServerSpec } from './redis-server.ts';
import { socketFolder } from './socket-folder.ts';
import { stopStaleProcess } from './stale-process.ts';
import { Supervisor, type ProcessSpec, type SupervisorEvent } from './supervisor.ts';

export const REPOSITORY_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

export interface LocalStackOptions {
  /** Redis's data (AOF), Caddy's state and the processes' logs go here. */
  readonly dataDir: string;
  /** Where workers write videos and Caddy serves them from. */
  readonly generatedDir: string;
  /** Caddy's port: where Zeus answers. 0 picks a free one. */
  readonly port: number;
  /**
   * How a free port is reserved for `port: 0` until Caddy listens on it (default: reservePort).
   * Tests hand out ports that are taken, to see the stack move on to another.
   */
  readonly reservePort?: () => Promise<PortReservation>;
  /** Worker processes (0: none). */
  readonly workers: number;
  /**
   * The GPUs the workers are spread over (CUDA_VISIBLE_DEVICES entries): with two or more, each
   * worker gets its own. Default: every GPU nvidia-smi lists, or those CUDA_VISIBLE_DEVICES
   * names, when the workers may use CUDA (local-gpus.ts).
   */
  readonly workerGpus?: readonly string[];
  /** API servers behind Caddy (default 3). */
  readonly apiServers?: number;
  /** Their TCP ports on 127.0.0.1 (default: Unix sockets). */
  readonly apiPorts?: readonly number[];
  /** An existing Redis to use instead of starting one. */
  readonly redisUrl?: string | undefined;
  /** Caddy's admin endpoint, host:port or unix//path (default: a Unix socket). */
  readonly caddyAdmin?: string | undefined;
  /** Settings for every Zeus process (ZEUS_MODEL, ZEUS_MAX_QUEUED, …), over this process's. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** How long the stack may take to answer (default 60 s). */
  readonly readyTimeoutMs?: number;
  /**
   * Also wait until a worker has its model loaded (tests). `deploy.ts` does not: the first start
   * of the real model downloads about 16 GB, and the web app says how far it is meanwhile.
   */
  readonly waitForModel?: boolean;
  /** Grace before a process that ignores SIGTERM is killed (default 10 s). */
  readonly stopGraceMs?: number;
  /**
   * The web app's files Caddy serves (default client/dist, or a page saying how to build it).
   * The web-app benchmark serves a folder whose link it turns between two builds.
   */
  readonly clientDir?: string;
}

export interface LocalStack {
  /** Zeus's address, through Caddy. */
  readonly url: string;
  readonly graphqlUrl: string;
  /** The same endpoint for WebSocket clients (graphql-ws). */
  readonly webSocketUrl: string;
  /** `unix:///…/redis.sock` for the stack's own Redis. */
  readonly redisUrl: string;
  /**
   * Caddy's admin API (for example `/reverse_proxy/upstreams`), an address as below: reach it
   * with `fetchVia` (endpoints.ts).
   */
  readonly caddyAdminAddress: string;
  /**
   * The API servers' addresses as Caddy knows them (its upstreams' `address`), by process name:
   * `unix//…/api-1.sock`, or `127.0.0.1:<port>` for ports given. `fetchVia` reaches either.
   */
  readonly apiAddresses: Readonly<Record<string, string>>;
  /** The workers' status servers (`/healthz`, `/metrics`), by process name, in the same form. */
  readonly workerStatusAddresses: Readonly<Record<string, string>>;
  /** The folder of the stack's Unix sockets. */
  readonly socketDir: string;
  /** What a person starting the stack should be told besides (a fallback taken). */
  readonly notices: readonly string[];
  readonly logDir: string;
  /** Process names: `redis` (when started here), `api-1`…, `worker-1`…, `caddy`. */
  readonly processNames: readonly string[];
  /**
   * Sends a signal to a process, as a crash would: it is restarted after a backoff, unless
   * `restart` is false (as when its machine is gone).
   */
  kill(name: string, signal: NodeJS.Signals, options?: { readonly restart?: boolean }): void;
  /** Stops a process gracefully and starts it again; for an API server, until it is healthy. */
  restart(name: string): Promise<void>;
  pid(name: string): number | undefined;
  onEvent(listener: (event: SupervisorEvent) => void): () => void;
  /** The last lines a process wrote. */
  recentOutput(name: string): string;
  /** Stops everything: Caddy first, then servers and workers, Redis last. */
  stop(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const root = REPOSITORY_ROOT;
  const dataDir = resolve(options.dataDir);
  const generatedDir = resolve(options.generatedDir);
  const logDir = join(dataDir, 'logs');
  const caddyDir = join(dataDir, 'caddy');
  for (const dir of [dataDir, generatedDir, logDir, caddyDir]) mkdirSync(dir, { recursive: true });
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const deadline = Date.now() + readyTimeoutMs;
  const apiCount = options.apiServers ?? 3;

  const supervisor = new Supervisor({
    logDir,
    ...(options.stopGraceMs === undefined ? {} : { stopGraceMs: options.stopGraceMs }),
  });
  const apiNames = Array.from({ length: apiCount }, (_, i) => `api-${i + 1}`);
  const workerNames = Array.from({ length: options.workers }, (_, i) => `worker-${i + 1}`);
  const stopOrder = [['caddy'], [...apiNames, ...workerNames], ['redis']];

  // A process that cannot run with this configuration fails the start at once.
  let gaveUp: Error | null = null;
  const stopWatching = supervisor.onEvent((event) => {
    if (event.type === 'gave-up') gaveUp ??= new Error(event.reason);
  });
  const failIfGaveUp = (): void => {
    if (gaveUp !== null) throw gaveUp;
  };

  const sockets = await socketFolder(dataDir, apiCount, options.workers);
  const stopAll = async (): Promise<void> => {
    await supervisor.stop(stopOrder);
    if (sockets.temporary) await rm(sockets.dir, { recursive: true, force: true });
  };

  try {
    // A port given that another program holds: say so now rather than once all else runs.
    if (options.port !== 0) await checkPortFree(options.port);
    const socket = (name: string): string => join(sockets.dir, `${name}.sock`);
    const apiPorts = options.apiPorts;
    if (apiPorts !== undefined && apiPorts.length !== apiCount) {
      throw new Error(`${apiCount} API ports are needed, got ${apiPorts.length}.`);
    }
    const apiAddresses = apiNames.map((name, index) =>
      apiPorts === undefined ? unixAddress(socket(name)) : `127.0.0.1:${apiPorts[index]}`,
    );
    let caddyAdmin = options.caddyAdmin;
    if (caddyAdmin === undefined) {
      await claimSocketPath(socket('caddy-admin'));
      caddyAdmin = unixAddress(socket('caddy-admin'));
    }

    let redisUrl = options.redisUrl;
    if (redisUrl === undefined) {
      await stopStaleProcess(redisPidFile(join(dataDir, 'redis')), 'redis-server');
      // redis-server replaces whatever file is at its socket's path: it must not be a live one.
      await claimSocketPath(socket('redis'));
      await supervisor.start(
        redisServerSpec({
          name: 'redis',
          socket: socket('redis'),
          dataDir: join(dataDir, 'redis'),
          cwd: root,
        }),
      );
      await supervisor.waitForOutput('redis', REDIS_READY_LINE, remaining(deadline));
      redisUrl = redisSocketUrl(socket('redis'));
    }

    const zeusEnv = {
      ...process.env,
      ...options.env,
      REDIS_URL: redisUrl,
      ZEUS_GENERATED_DIR: generatedDir,
    };
    const nodeProcess = (
      name: string,
      entry: string,
      env: Record<string, string | undefined>,
    ): ProcessSpec => ({
      name,
      command: process.execPath,
      args: ['--import', 'tsx', entry],
      env: { ...zeusEnv, ...env },
      cwd: root,
      ipc: true,
    });
    for (const [index, name] of apiNames.entries()) {
      const apiPort = apiPorts?.[index];
      await supervisor.start(
        nodeProcess(
          name,
          'server/src/main.ts',
          apiPort === undefined
            ? { ZEUS_API_SOCKET: socket(name) }
            : {
                ZEUS_API_SOCKET: undefined,
                ZEUS_API_HOST: '127.0.0.1',
                ZEUS_API_PORT: String(apiPort),
              },
        ),
      );
    }
    // ZEUS_WORKER_PORT set: workers' status ports from it on (for a Prometheus to scrape);
    // otherwise Unix sockets.
    const workerPortBase = Number(
      options.env?.['ZEUS_WORKER_PORT'] ?? process.env['ZEUS_WORKER_PORT'] ?? 0,
    );
    const workerPorts = Number.isInteger(workerPortBase) && workerPortBase > 0;
    const workerStatusAddresses = workerNames.map((name, index) =>
      workerPorts ? `127.0.0.1:${workerPortBase + index}` : unixAddress(socket(name)),
    );
    const gpus = options.workerGpus ?? (workerNames.length > 0 ? detectWorkerGpus(zeusEnv) : []);
    for (const [index, name] of workerNames.entries()) {
      await supervisor.start(
        nodeProcess(name, 'inference/src/main.ts', {
          ZEUS_WORKER_ID: `local-${name}`,
          ...(workerPorts
            ? {
                ZEUS_WORKER_SOCKET: undefined,
                ZEUS_WORKER_HOST: '127.0.0.1',
                ZEUS_WORKER_PORT: String(workerPortBase + index),
              }
            : { ZEUS_WORKER_SOCKET: socket(name) }),
          ...workerGpuEnv(index, gpus),
        }),
      );
    }
    await Promise.all(
      apiNames.map((name, index) =>
        waitUntil(
          () => isHealthy(apiAddresses[index] ?? ''),
          deadline,
          `${name} to be healthy`,
          failIfGaveUp,
        ),
      ),
    );

    const clientBuild = join(root, 'client', 'dist');
    const caddyPidFile = join(caddyDir, 'caddy.pid');
    await stopStaleProcess(caddyPidFile, 'caddy');
    const caddyEnv = {
      ...process.env,
      ZEUS_API_UPSTREAMS: apiAddresses.join(' '),
      ZEUS_GENERATED_DIR: generatedDir,
      ZEUS_CLIENT_DIR:
        options.clientDir ??
        (existsSync(join(clientBuild, 'index.html'))
          ? clientBuild
          : join(root, 'client', 'placeholder')),
      ZEUS_CADDY_ADMIN: caddyAdmin,
      // The Caddyfile turns the playground off for false/off/no/0 exactly: say it plainly.
      ZEUS_PLAYGROUND: isOff(options.env?.['ZEUS_PLAYGROUND'] ?? process.env['ZEUS_PLAYGROUND'])
        ? 'false'
        : 'true',
      // s3: /generated/… goes to the API servers (outputs in a bucket).
      ZEUS_STORAGE: options.env?.['ZEUS_STORAGE'] ?? process.env['ZEUS_STORAGE'] ?? 'local',
      // Caddy keeps its state under these: keep it with the stack's data.
      XDG_DATA_HOME: caddyDir,
      XDG_CONFIG_HOME: caddyDir,
    };
    const port = await startCaddy(supervisor, {
      port: options.port,
      reservePort: options.reservePort ?? reservePort,
      deadline,
      spec: (caddyPort) => ({
        name: 'caddy',
        command: 'caddy',
        args: [
          'run',
          '--config',
          join(root, 'Caddyfile'),
          '--adapter',
          'caddyfile',
          '--pidfile',
          caddyPidFile,
        ],
        env: { ...caddyEnv, ZEUS_PORT: String(caddyPort) },
        cwd: root,
      }),
    });

    const url = `http://127.0.0.1:${port}`;
    const graphqlUrl = `${url}/graphql`;
    await waitUntil(
      async () => {
        const status = await querySystem(graphqlUrl);
        return (
          status !== null &&
          status.workersOnline >= options.workers &&
          (options.waitForModel !== true || status.modelReady)
        );
      },
      deadline,
      options.workers > 0
        ? `Zeus to answer at ${url} with ${options.workers} worker(s) online` +
            (options.waitForModel === true ? ' and the model ready' : '')
        : `Zeus to answer at ${url}`,
      failIfGaveUp,
    );
    stopWatching();

    return {
      url,
      graphqlUrl,
      webSocketUrl: `ws://127.0.0.1:${port}/graphql`,
      redisUrl,
      caddyAdminAddress: caddyAdmin,
      apiAddresses: Object.fromEntries(
        apiNames.map((name, index) => [name, apiAddresses[index] ?? '']),
      ),
      workerStatusAddresses: Object.fromEntries(
        workerNames.map((name, index) => [name, workerStatusAddresses[index] ?? '']),
      ),
      socketDir: sockets.dir,
      notices: sockets.notices,
      logDir,
      processNames: supervisor.names(),
      kill: (name, signal, killOptions) => {
        supervisor.kill(name, signal, killOptions);
      },
      restart: async (name) => {
        await supervisor.restart(name);
        const apiAddress = apiAddresses[apiNames.indexOf(name)];
        if (apiAddress !== undefined) {
          await waitUntil(
            () => isHealthy(apiAddress),
            Date.now() + readyTimeoutMs,
            `${name} to be healthy again`,
            () => undefined,
          );
        }
      },
      pid: (name) => supervisor.pid(name),
      onEvent: (listener) => supervisor.onEvent(listener),
      recentOutput: (name) => supervisor.recentOutput(name),
      stop: stopAll,
    };
  } catch (error) {
    stopWatching();
    await stopAll();
    throw error;
  }
}

/** A boolean setting that says off (as `booleanVariable` reads them). */
function isOff(value: string | undefined): boolean {
  return value !== undefined && /^\s*(false|off|no|0)\s*$/i.test(value);
}
