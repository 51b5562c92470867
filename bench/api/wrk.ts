/**
 * The submit benchmark's load generator: wrk (Debian's `wrk`, C, one event loop per thread),
 * with `submit.lua` so that every request POSTs the same GraphQL body and every answer is
 * checked to be a queued job. The same command loads Zeus, the Flask peer and the ceilings.
 *
 * wrk runs under `sh`, which prints its own /proc/<pid>/stat after wrk exits: the children's
 * CPU times there (cutime, cstime) are wrk's, all threads together.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('submit.lua', import.meta.url));
const CLOCK_TICKS = 100;

export interface LoadOptions {
  readonly url: string;
  readonly threads: number;
  readonly connections: number;
  readonly seconds: number;
  /** The JSON body of every request. */
  readonly body: string;
}

export interface LoadResult {
  /** Answers received (accepted or not). */
  readonly requests: number;
  /** Answers that were a queued job. */
  readonly accepted: number;
  /** Answers that were not a queued job (non-2xx included), socket errors and timeouts. */
  readonly errors: number;
  /** Accepted answers per second. */
  readonly requestsPerSecond: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly latencyMaxMs: number;
  readonly durationSeconds: number;
  /** CPU seconds wrk used, its threads together. */
  readonly cpuSeconds: number;
  /** What the errors were. */
  readonly errorKinds: {
    readonly rejected: number;
    readonly connect: number;
    readonly read: number;
    readonly write: number;
    readonly timeout: number;
  };
}

interface WrkFigures {
  readonly requests: number;
  readonly durationUs: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly connectErrors: number;
  readonly readErrors: number;
  readonly writeErrors: number;
  readonly timeouts: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
}

/** wrk's arguments: `threads` threads, `connections` keep-alive connections, 10 s timeout. */
export function wrkArguments(options: LoadOptions): string[] {
  return [
    '--threads',
    String(options.threads),
    '--connections',
    String(options.connections),
    '--duration',
    `${options.seconds}s`,
    '--timeout',
    '10s',
    '--script',
    SCRIPT,
    options.url,
  ];
}

/** Reads wrk's output (the script's ZEUS_WRK line, then the shell's /proc stat line). */
export function parseWrkOutput(stdout: string): LoadResult {
  const lines = stdout.trim().split('\n');
  const figuresLine = lines.find((line) => line.startsWith('ZEUS_WRK '));
  if (figuresLine === undefined) throw new Error(`wrk printed no figures:\n${stdout}`);
  const figures = JSON.parse(figuresLine.slice('ZEUS_WRK '.length)) as WrkFigures;
  const stat = lines.at(-1) ?? '';
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 16 and 17 of /proc/<pid>/stat: CPU of the children waited for (wrk).
  const cpuSeconds = (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
  if (!Number.isFinite(cpuSeconds)) throw new Error(`No CPU times in "${stat}".`);
  const durationSeconds = figures.durationUs / 1e6;
  const errorKinds = {
    rejected: figures.rejected,
    connect: figures.connectErrors,
    read: figures.readErrors,
    write: figures.writeErrors,
    timeout: figures.timeouts,
  };
  return {
    requests: figures.requests,
    accepted: figures.accepted,
    errors: Object.values(errorKinds).reduce((a, b) => a + b, 0),
    requestsPerSecond: durationSeconds > 0 ? figures.accepted / durationSeconds : 0,
    latencyP50Ms: figures.p50Us / 1000,
    latencyP99Ms: figures.p99Us / 1000,
    latencyMaxMs: figures.maxUs / 1000,
    durationSeconds,
    cpuSeconds,
    errorKinds,
  };
}

/** Runs wrk once; rejects when it fails or runs 30 s past its duration. */
export async function runWrk(options: LoadOptions): Promise<LoadResult> {
  const child = spawn(
    'sh',
    ['-c', 'wrk "$@"; status=$?; cat /proc/$$/stat; exit $status', 'wrk', ...wrkArguments(options)],
    {
      env: { ...process.env, ZEUS_BENCH_BODY: options.body },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), (options.seconds + 30) * 1000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  }).finally(() => {
    clearTimeout(timer);
  });
  if (code !== 0) throw new Error(`wrk failed (${String(code)}): ${stderr}${stdout}`);
  return parseWrkOutput(stdout);
}
