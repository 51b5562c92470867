/**
 * The one module that runs `docker` (and asks the host's `nvidia-smi` and PATH about the GPU
 * tooling). Probes return what they found; `runDocker` runs a command with the terminal attached.
 * Only Node's built-ins: `deploy.ts` asks whether an engine answers before `npm install` has run.
 *
 * The parsers are pure and exported for tests, with the output formats they accept documented.
 */
import { spawn, spawnSync } from 'node:child_process';

const PROBE_TIMEOUT_MS = 15_000;

interface Captured {
  /** Exit status; null when the program could not be started (not installed) or timed out. */
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Set when the program is not installed. */
  readonly notFound: boolean;
}

function capture(command: string, args: readonly string[]): Captured {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    timeout: PROBE_TIMEOUT_MS,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const code = (result.error as NodeJS.ErrnoException | undefined)?.code;
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    notFound: code === 'ENOENT',
  };
}

/** What `docker info` says about the engine. */
export interface EngineInfo {
  /** False when the `docker` command itself is missing. */
  readonly cliInstalled: boolean;
  /** True when an engine answered. */
  readonly answers: boolean;
  /** Why it did not answer (docker's own words), when it did not. */
  readonly problem: string | undefined;
  readonly serverVersion: string | undefined;
  /** Names of the registered runtimes, e.g. ["io.containerd.runc.v2", "nvidia", "runc"]. */
  readonly runtimes: readonly string[];
  /** Where the engine keeps images, e.g. /var/lib/docker. */
  readonly rootDir: string | undefined;
  /** Devices the engine discovered through CDI, e.g. ["nvidia.com/gpu=0", …] (Docker 28+). */
  readonly cdiDevices: readonly string[];
}

/**
 * Parses `docker info --format '{{json .}}'`. When the engine does not answer, docker prints the
 * client part with `ServerErrors` (and exits 1); the first of those is the problem.
 */
export function parseDockerInfo(stdout: string, stderr: string, status: number | null): EngineInfo {
  let info: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(stdout.trim() || '{}');
    if (typeof parsed === 'object' && parsed !== null) info = parsed as Record<string, unknown>;
  } catch {
    info = {};
  }
  const serverErrors = Array.isArray(info['ServerErrors'])
    ? info['ServerErrors'].filter((error): error is string => typeof error === 'string')
    : [];
  const serverVersion =
    typeof info['ServerVersion'] === 'string' && info['ServerVersion'] !== ''
      ? info['ServerVersion']
      : undefined;
  const answers = status === 0 && serverErrors.length === 0 && serverVersion !== undefined;
  const runtimes =
    typeof info['Runtimes'] === 'object' && info['Runtimes'] !== null
      ? Object.keys(info['Runtimes']).sort()
      : [];
  const cdiDevices = Array.isArray(info['DiscoveredDevices'])
    ? info['DiscoveredDevices'].flatMap((device: unknown) => {
        const id = (device as { ID?: unknown } | null)?.ID;
        return typeof id === 'string' ? [id] : [];
      })
    : [];
  const problem = answers
    ? undefined
    : (serverErrors[0] ?? (stderr.trim().split('\n')[0] || 'docker info failed'));
  return {
    cliInstalled: true,
    answers,
    problem,
    serverVersion,
    runtimes,
    rootDir: typeof info['DockerRootDir'] === 'string' ? info['DockerRootDir'] : undefined,
    cdiDevices,
  };
}

export function dockerInfo(): EngineInfo {
  const result = capture('docker', ['info', '--format', '{{json .}}']);
  if (result.notFound) {
    return {
      cliInstalled: false,
      answers: false,
      problem: 'the docker command is not installed',
      serverVersion: undefined,
      runtimes: [],
      rootDir: undefined,
      cdiDevices: [],
    };
  }
  if (result.status === null) {
    return {
      ...parseDockerInfo('', '', 1),
      problem: `docker info did not answer within ${PROBE_TIMEOUT_MS / 1000} s`,
    };
  }
  return parseDockerInfo(result.stdout, result.stderr, result.status);
}

/**
 * Parses `docker compose version --short` ("2.29.1", "v2.29.1" or "2.29.1-desktop.1"): the
 * version, or undefined when it is not Compose v2 or later.
 */
export function parseComposeVersion(stdout: string): string | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(stdout.trim());
  if (match === null || Number(match[1]) < 2) return undefined;
  return `${match[1]}.${match[2]}.${match[3]}`;
}

/** The Compose plugin's version (`docker compose`), or undefined when it is not installed. */
export function composeVersion(): string | undefined {
  const result = capture('docker', ['compose', 'version', '--short']);
  return result.status === 0 ? parseComposeVersion(result.stdout) : undefined;
}

/** Parses `nvidia-smi -L`: one "GPU <n>: <name> (UUID: …)" line per GPU. */
export function parseGpuList(stdout: string): number {
  return stdout.split('\n').filter((line) => /^GPU \d+:/.test(line.trim())).length;
}

/** GPUs the host's driver lists, or undefined when nvidia-smi is missing or fails. */
export function hostGpuCount(): number | undefined {
  const result = capture('nvidia-smi', ['-L']);
  return result.status === 0 ? parseGpuList(result.stdout) : undefined;
}

/**
 * True when the NVIDIA Container Toolkit's hook is on this host's PATH. Docker's `nvidia` device
 * driver (what `deploy.resources.reservations.devices` with `driver: nvidia` asks for) runs it.
 */
export function nvidiaContainerHookInstalled(): boolean {
  return capture('sh', ['-c', 'command -v nvidia-container-runtime-hook']).status === 0;
}

/** Runs `docker <args>` with this terminal; resolves with its exit status. */
export function runDocker(
  args: readonly string[],
  options: { readonly env?: NodeJS.ProcessEnv; readonly cwd?: string } = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, {
      stdio: 'inherit',
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      resolve(code ?? (signal === null ? 1 : 128));
    });
  });
}

/** Runs `docker <args>` in the background; resolves with its status and what it printed. */
export function dockerOutput(
  args: readonly string[],
  options: { readonly env?: NodeJS.ProcessEnv; readonly cwd?: string } = {},
): Promise<{ readonly status: number; readonly output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    let output = '';
    const collect = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', reject);
    child.once('close', (code) => {
      resolve({ status: code ?? 1, output });
    });
  });
}

/** Runs `docker <args>` and returns what it printed (for `compose ps` and `logs`). */
export function captureDocker(
  args: readonly string[],
  options: { readonly env?: NodeJS.ProcessEnv; readonly cwd?: string } = {},
): { readonly status: number | null; readonly stdout: string; readonly stderr: string } {
  const result = spawnSync('docker', args, {
    encoding: 'utf8',
    timeout: PROBE_TIMEOUT_MS * 2,
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A container as `docker compose ps --format json` describes it. */
export interface ComposeContainer {
  readonly service: string;
  /** "running", "restarting", "exited", "created", … */
  readonly state: string;
  readonly health: string;
  readonly exitCode: number;
}

/**
 * Parses `docker compose ps --all --format json`: one JSON object per line (Compose 2.21 and
 * later) or one JSON array (earlier 2.x).
 */
export function parseComposePs(stdout: string): ComposeContainer[] {
  const text = stdout.trim();
  if (text === '') return [];
  const rows: unknown[] = text.startsWith('[')
    ? (JSON.parse(text) as unknown[])
    : text.split('\n').map((line) => JSON.parse(line) as unknown);
  const stringOf = (value: unknown): string => (typeof value === 'string' ? value : '');
  return rows.map((row) => {
    const record = row as Record<string, unknown>;
    return {
      service: stringOf(record['Service']),
      state: stringOf(record['State']),
      health: stringOf(record['Health']),
      exitCode: typeof record['ExitCode'] === 'number' ? record['ExitCode'] : 0,
    };
  });
}
