/**
 * Processes a benchmark starts for the systems it compares Zeus with (the Flask peer, the
 * ceilings): each writes its output straight into a log file (the kernel does, not this process,
 * so nothing here copies log lines), and is stopped with SIGTERM, then SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export class Spawned {
  readonly logFile: string;
  private readonly child: ChildProcess;
  private exitReason: string | null = null;

  constructor(
    readonly name: string,
    command: string,
    args: readonly string[],
    options: {
      readonly env: Readonly<Record<string, string | undefined>>;
      readonly cwd: string;
      readonly logFile: string;
    },
  ) {
    this.logFile = options.logFile;
    mkdirSync(dirname(options.logFile), { recursive: true });
    const log = openSync(options.logFile, 'a');
    try {
      this.child = spawn(command, [...args], {
        env: options.env,
        cwd: options.cwd,
        stdio: ['ignore', log, log],
      });
    } finally {
      closeSync(log);
    }
    this.child.on('error', (error) => {
      this.exitReason = error.message;
    });
    this.child.on('exit', (code, signal) => {
      this.exitReason ??= `exited (${signal ?? String(code)})`;
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} did not start.`);
    return this.child.pid;
  }

  /** Why it is no longer running, with the end of its log; null while it runs. */
  failure(): string | null {
    if (this.exitReason === null) return null;
    let tail = '';
    try {
      tail = readFileSync(this.logFile, 'utf8').slice(-2000);
    } catch {
      // no log yet
    }
    return `${this.name} ${this.exitReason}${tail === '' ? '' : `:\n${tail}`}`;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.exitReason === null) this.child.kill(signal);
  }

  async stop(graceMs = 5_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Polls `check` every 100 ms until it is true; fails early when one of `processes` has died. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  processes: readonly Spawned[],
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let lastProblem: string;
    for (const process of processes) {
      const failure = process.failure();
      if (failure !== null) throw new Error(`While waiting for ${what}: ${failure}`);
    }
    try {
      if (await check()) return;
      lastProblem = 'not ready';
    } catch (error) {
      lastProblem = (error as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what} (${lastProblem}).`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Whether an HTTP server answers at `url`, whatever it answers (502 excepted: Caddy alone). */
export async function answersHttp(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await response.arrayBuffer();
  return response.status !== 502;
}

/** Whether something accepts connections on the Unix socket at `path`. */
export async function acceptsSocket(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}
