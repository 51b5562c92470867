/**
 * The whole Zeus stack as plain processes on one machine: Redis (unless one is given), three
 * API servers, Caddy in front, and N workers, each kept running by the supervisor. `deploy.ts
 * --local` and the end-to-end tests both start it here, so tests run exactly what users run.
 *
 *   const stack = await startLocalStack({ dataDir, generatedDir, port: 0, workers: 1 });
 *   … stack.url …
 *   await stack.stop();
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectWorkerGpus, workerGpuEnv } from './local-gpus.ts';
import { freePort, freePorts } from './ports.ts';
import { REDIS_READY_LINE, redisPidFile, redisServerSpec } from './redis-server.ts';
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
  /** Their ports (default: free ports). */
  readonly apiPorts?: readonly number[];
  /** An existing Redis to use instead of starting one. */
  readonly redisUrl?: string | undefined;
  /** Caddy's admin endpoint (default: a free port on 127.0.0.1). */
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
}

export interface LocalStack {
  /** Zeus's address, through Caddy. */
  readonly url: string;
  readonly graphqlUrl: string;
  /** The same endpoint for WebSocket clients (graphql-ws). */
  readonly webSocketUrl: string;
  readonly redisUrl: string;
  /** Caddy's admin API (for example `/reverse_proxy/upstreams`). */
  readonly caddyAdminUrl: string;
  /** The API servers' addresses (host:port), as Caddy knows them, by process name. */
  readonly apiAddresses: Readonly<Record<string, string>>;
  /** The workers' status servers (host:port: `/healthz`, `/metrics`), by process name. */
  readonly workerStatusAddresses: Readonly<Record<string, string>>;
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

  try {
    const port = options.port === 0 ? await freePort('0.0.0.0') : options.port;
    const apiPorts = options.apiPorts ?? (await freePorts(apiCount));
    if (apiPorts.length !== apiCount) {
      throw new Error(`${apiCount} API ports are needed, got ${apiPorts.length}.`);
    }
    const caddyAdmin = options.caddyAdmin ?? `127.0.0.1:${await freePort()}`;

    let redisUrl = options.redisUrl;
    if (redisUrl === undefined) {
      await stopStaleProcess(redisPidFile(join(dataDir, 'redis')), 'redis-server');
      const redisPort = await freePort();
      await supervisor.start(
        redisServerSpec({
          name: 'redis',
          port: redisPort,
          dataDir: join(dataDir, 'redis'),
          cwd: root,
        }),
      );
      await supervisor.waitForOutput('redis', REDIS_READY_LINE, remaining(deadline));
      redisUrl = `redis://127.0.0.1:${redisPort}`;
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
      env: Record<string, string>,
    ): ProcessSpec => ({
      name,
      command: process.execPath,
      args: ['--import', 'tsx', entry],
      env: { ...zeusEnv, ...env },
      cwd: root,
      ipc: true,
    });
    for (const [index, name] of apiNames.entries()) {
      await supervisor.start(
        nodeProcess(name, 'server/src/main.ts', {
          ZEUS_API_HOST: '127.0.0.1',
          ZEUS_API_PORT: String(apiPorts[index]),
        }),
      );
    }
    // ZEUS_WORKER_PORT set: workers' status ports from it on (for a Prometheus to scrape);
    // otherwise free ports.
    const workerPortBase = Number(
      options.env?.['ZEUS_WORKER_PORT'] ?? process.env['ZEUS_WORKER_PORT'] ?? 0,
    );
    const workerStatusPorts =
      Number.isInteger(workerPortBase) && workerPortBase > 0
        ? workerNames.map((_, index) => workerPortBase + index)
        : await freePorts(workerNames.length);
    const gpus = options.workerGpus ?? (workerNames.length > 0 ? detectWorkerGpus(zeusEnv) : []);
    for (const [index, name] of workerNames.entries()) {
      await supervisor.start(
        nodeProcess(name, 'inference/src/main.ts', {
          ZEUS_WORKER_ID: `local-${name}`,
          ZEUS_WORKER_HOST: '127.0.0.1',
          ZEUS_WORKER_PORT: String(workerStatusPorts[index]),
          ...workerGpuEnv(index, gpus),
        }),
      );
    }
    await Promise.all(
      apiPorts.map((apiPort) =>
        waitUntil(
          () => isHealthy(apiPort),
          deadline,
          `the API server on port ${apiPort} to be healthy`,
          failIfGaveUp,
        ),
      ),
    );

    const clientBuild = join(root, 'client', 'dist');
    const caddyPidFile = join(caddyDir, 'caddy.pid');
    await stopStaleProcess(caddyPidFile, 'caddy');
    await supervisor.start({
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
      env: {
        ...process.env,
        ZEUS_PORT: String(port),
        ZEUS_API_UPSTREAMS: apiPorts.map((apiPort) => `127.0.0.1:${apiPort}`).join(' '),
        ZEUS_GENERATED_DIR: generatedDir,
        ZEUS_CLIENT_DIR: existsSync(join(clientBuild, 'index.html'))
          ? clientBuild
          : join(root, 'client', 'placeholder'),
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
      },
      cwd: root,
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
      caddyAdminUrl: `http://${caddyAdmin}`,
      apiAddresses: Object.fromEntries(
        apiNames.map((name, index) => [name, `127.0.0.1:${apiPorts[index]}`]),
      ),
      workerStatusAddresses: Object.fromEntries(
        workerNames.map((name, index) => [name, `127.0.0.1:${workerStatusPorts[index]}`]),
      ),
      logDir,
      processNames: supervisor.names(),
      kill: (name, signal, killOptions) => {
        supervisor.kill(name, signal, killOptions);
      },
      restart: async (name) => {
        await supervisor.restart(name);
        const apiPort = apiPorts[apiNames.indexOf(name)];
        if (apiPort !== undefined) {
          await waitUntil(
            () => isHealthy(apiPort),
            Date.now() + readyTimeoutMs,
            `${name} to be healthy again`,
            () => undefined,
          );
        }
      },
      pid: (name) => supervisor.pid(name),
      onEvent: (listener) => supervisor.onEvent(listener),
      recentOutput: (name) => supervisor.recentOutput(name),
      stop: () => supervisor.stop(stopOrder),
    };
  } catch (error) {
    stopWatching();
    await supervisor.stop(stopOrder);
    throw error;
  }
}

/** A boolean setting that says off (as `booleanVariable` reads them). */
function isOff(value: string | undefined): boolean {
  return value !== undefined && /^\s*(false|off|no|0)\s*$/i.test(value);
}

async function isHealthy(apiPort: number): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:${apiPort}/healthz`);
  return response.ok;
}

/** The `system` query through the front door; null while it does not answer. */
async function querySystem(
  graphqlUrl: string,
): Promise<{ workersOnline: number; modelReady: boolean } | null> {
  const response = await fetch(graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ system { workersOnline modelReady } }' }),
  });
  if (!response.ok) return null;
  const body = (await response.json()) as {
    data?: { system?: { workersOnline: number; modelReady: boolean } };
  };
  return body.data?.system ?? null;
}

function remaining(deadline: number): number {
  return Math.max(0, deadline - Date.now());
}

const POLL_INTERVAL_MS = 100;

/**
 * Polls `check` until it is true. Readiness of another process over HTTP has no event to wait
 * on, so this is the one place the stack polls; `failFast` ends the wait early with an error.
 */
async function waitUntil(
  check: () => Promise<boolean>,
  deadline: number,
  what: string,
  failFast: () => void,
): Promise<void> {
  for (;;) {
    let lastProblem: string;
    failFast();
    try {
      if (await check()) return;
      lastProblem = 'not ready';
    } catch (error) {
      lastProblem = (error as Error).message;
    }
    if (Date.now() >= deadline) {
      throw new Error(`Timed out waiting for ${what} (${lastProblem}).`);
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, POLL_INTERVAL_MS));
  }
}
