/**
 * Runs the local stack's programs as child processes and keeps them running: a process that
 * dies is started again after a backoff, unless it exited with `EXIT_CONFIG` (its settings are
 * wrong, so starting it again cannot help). Each process's output goes to `<logDir>/<name>.log`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { EXIT_CONFIG } from '@zeus/core';

export interface ProcessSpec {
  /** Unique name, used in logs and in `kill`/`restart`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /**
   * Gives a Node child an IPC channel. Zeus's processes exit when it closes, so they do not
   * outlive the supervisor even when it is killed without a chance to stop them.
   */
  readonly ipc?: boolean;
}

export type SupervisorEvent =
  | {
      readonly type: 'spawned';
      readonly name: string;
      readonly pid: number;
      readonly starts: number;
    }
  | {
      readonly type: 'exited';
      readonly name: string;
      readonly code: number | null;
      readonly signal: NodeJS.Signals | null;
      /** Delay before it is started again; null when it is not. */
      readonly restartInMs: number | null;
    }
  | { readonly type: 'gave-up'; readonly name: string; readonly reason: string };

export interface SupervisorOptions {
  readonly logDir: string;
  /** First restart delay; doubles with each quick crash up to `maxBackoffMs`. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** A process that ran this long before dying is restarted after the first delay again. */
  readonly healthyAfterMs?: number;
  /** How long a process gets to exit after SIGTERM before SIGKILL. */
  readonly stopGraceMs?: number;
}

const RECENT_LINES = 40;

class SupervisedProcess {
  child: ChildProcess | null = null;
  starts = 0;
  quickCrashes = 0;
  startedAt = 0;
  /** Set while the supervisor itself stops the process: no automatic restart then. */
  stopping = false;
  gaveUp = false;
  restartTimer: NodeJS.Timeout | null = null;
  readonly recentOutput: string[] = [];
  readonly log: WriteStream;

  constructor(
    readonly spec: ProcessSpec,
    logDir: string,
  ) {
    this.log = createWriteStream(join(logDir, `${spec.name}.log`), { flags: 'a' });
  }

  /** Keeps the output and returns its lines. */
  remember(chunk: Buffer): string[] {
    this.log.write(chunk);
    const lines = chunk.toString('utf8').split('\n').filter(Boolean);
    this.recentOutput.push(...lines);
    this.recentOutput.splice(0, Math.max(0, this.recentOutput.length - RECENT_LINES));
    return lines;
  }
}

export class Supervisor {
  private readonly processes = new Map<string, SupervisedProcess>();
  private readonly events = new EventEmitter();
  /** Output lines, emitted under the process's name. */
  private readonly output = new EventEmitter();
  private closing = false;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly healthyAfterMs: number;
  private readonly stopGraceMs: number;

  constructor(private readonly options: SupervisorOptions) {
    mkdirSync(options.logDir, { recursive: true });
    this.initialBackoffMs = options.initialBackoffMs ?? 250;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.healthyAfterMs = options.healthyAfterMs ?? 10_000;
    this.stopGraceMs = options.stopGraceMs ?? 10_000;
  }

  /** Calls `listener` with every event; returns a function that stops listening. */
  onEvent(listener: (event: SupervisorEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  /**
   * Resolves with the first event from now on that matches, rejecting after `timeoutMs` (or
   * at once when the supervisor gives up on a process matching nothing else).
   */
  async nextEvent<T extends SupervisorEvent>(
    matches: (event: SupervisorEvent) => event is T,
    timeoutMs: number,
  ): Promise<T>;
  async nextEvent(
    matches: (event: SupervisorEvent) => boolean,
    timeoutMs: number,
  ): Promise<SupervisorEvent>;
  async nextEvent(
    matches: (event: SupervisorEvent) => boolean,
    timeoutMs: number,
  ): Promise<SupervisorEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`No matching process event within ${timeoutMs} ms.`));
      }, timeoutMs);
      const stop = this.onEvent((event) => {
        if (!matches(event)) return;
        clearTimeout(timer);
        stop();
        resolve(event);
      });
    });
  }

  /** Starts a process; resolves once it is running (rejects when it cannot be spawned). */
  async start(spec: ProcessSpec): Promise<void> {
    if (this.processes.has(spec.name)) throw new Error(`A process named ${spec.name} exists.`);
    const supervised = new SupervisedProcess(spec, this.options.logDir);
    this.processes.set(spec.name, supervised);
    await this.spawn(supervised);
  }

  /**
   * Resolves when the running process writes a line matching `pattern` (or has written one
   * since it started); rejects after `timeoutMs` or when the process exits first.
   */
  async waitForOutput(name: string, pattern: RegExp, timeoutMs: number): Promise<void> {
    const supervised = this.get(name);
    if (supervised.recentOutput.some((line) => pattern.test(line))) return;
    const { child } = supervised;
    if (child === null) throw new Error(`${name} is not running.`);
    await new Promise<void>((resolve, reject) => {
      const cleanUp = (): void => {
        clearTimeout(timer);
        this.output.off(name, onLine);
        child.off('exit', onExit);
      };
      const onLine = (line: string): void => {
        if (!pattern.test(line)) return;
        cleanUp();
        resolve();
      };
      const onExit = (): void => {
        cleanUp();
        reject(new Error(`${name} exited before it was ready:\n${this.recentOutput(name)}`));
      };
      const timer = setTimeout(() => {
        cleanUp();
        reject(
          new Error(`${name} was not ready within ${timeoutMs} ms:\n${this.recentOutput(name)}`),
        );
      }, timeoutMs);
      this.output.on(name, onLine);
      child.once('exit', onExit);
    });
  }

  names(): string[] {
    return [...this.processes.keys()];
  }

  pid(name: string): number | undefined {
    return this.get(name).child?.pid;
  }

  /** The last lines the process wrote, for error messages. */
  recentOutput(name: string): string {
    return this.get(name).recentOutput.join('\n');
  }

  /**
   * Sends a signal as if from outside: a process that dies of it is restarted like any crash,
   * unless `restart` is false (a machine that went away for good).
   */
  kill(name: string, signal: NodeJS.Signals, options: { readonly restart?: boolean } = {}): void {
    const supervised = this.get(name);
    const { child } = supervised;
    if (child === null) throw new Error(`${name} is not running.`);
    if (options.restart === false) supervised.stopping = true;
    child.kill(signal);
  }

  /** Stops a process (SIGTERM, then SIGKILL after the grace period) and starts it again. */
  async restart(name: string): Promise<void> {
    const supervised = this.get(name);
    await this.stopOne(supervised);
    supervised.stopping = false;
    supervised.gaveUp = false;
    supervised.quickCrashes = 0;
    await this.spawn(supervised);
  }

  /** Stops a process for good and forgets it, so that its name can be started again afresh. */
  async remove(name: string): Promise<void> {
    const supervised = this.get(name);
    await this.stopOne(supervised);
    this.processes.delete(name);
    await new Promise<void>((resolve) => supervised.log.end(resolve));
  }

  /**
   * Stops every process. Groups stop one after another, the processes in a group together:
   * list the front door first and the datastore last.
   */
  async stop(order: readonly (readonly string[])[] = [this.names()]): Promise<void> {
    this.closing = true;
    const listed = new Set(order.flat());
    const groups = [...order, this.names().filter((name) => !listed.has(name))];
    for (const group of groups) {
      await Promise.all(
        group.flatMap((name) => {
          const supervised = this.processes.get(name);
          return supervised === undefined ? [] : [this.stopOne(supervised)];
        }),
      );
    }
    await Promise.all(
      [...this.processes.values()].map(
        (supervised) => new Promise<void>((resolve) => supervised.log.end(resolve)),
      ),
    );
  }

  private get(name: string): SupervisedProcess {
    const supervised = this.processes.get(name);
    if (supervised === undefined) throw new Error(`No process named ${name}.`);
    return supervised;
  }

  private async spawn(supervised: SupervisedProcess): Promise<void> {
    const { spec } = supervised;
    supervised.restartTimer = null;
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: spec.ipc === true ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
      // Its own process group: Ctrl-C in a terminal reaches only the supervisor, which then
      // stops the processes in order (workers hand jobs back while Redis is still up).
      detached: true,
    });
    supervised.child = child;
    supervised.recentOutput.length = 0;
    const onOutput = (chunk: Buffer): void => {
      for (const line of supervised.remember(chunk)) this.output.emit(spec.name, line);
    };
    child.stdout?.on('data', onOutput);
    child.stderr?.on('data', onOutput);
    // Without this, a child's failed IPC write would be an uncaught error here.
    child.on('error', () => undefined);
    child.once('exit', (code, signal) => {
      this.onExit(supervised, child, code, signal);
    });
    try {
      await once(child, 'spawn');
    } catch (error) {
      supervised.gaveUp = true;
      const reason = `${spec.command} could not be started: ${(error as Error).message}`;
      this.emit({ type: 'gave-up', name: spec.name, reason });
      throw new Error(reason, { cause: error });
    }
    supervised.starts += 1;
    supervised.startedAt = Date.now();
    this.emit({
      type: 'spawned',
      name: spec.name,
      pid: child.pid ?? -1,
      starts: supervised.starts,
    });
  }

  private onExit(
    supervised: SupervisedProcess,
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    if (supervised.child === child) supervised.child = null;
    const { name } = supervised.spec;
    if (this.closing || supervised.stopping || supervised.gaveUp) {
      this.emit({ type: 'exited', name, code, signal, restartInMs: null });
      return;
    }
    if (code === EXIT_CONFIG) {
      supervised.gaveUp = true;
      this.emit({ type: 'exited', name, code, signal, restartInMs: null });
      this.emit({
        type: 'gave-up',
        name,
        reason: `${name} cannot run with this configuration:\n${supervised.recentOutput.join('\n')}`,
      });
      return;
    }
    const ranFor = Date.now() - supervised.startedAt;
    supervised.quickCrashes = ranFor >= this.healthyAfterMs ? 0 : supervised.quickCrashes + 1;
    const delay = Math.min(
      this.initialBackoffMs * 2 ** Math.max(0, supervised.quickCrashes - 1),
      this.maxBackoffMs,
    );
    this.emit({ type: 'exited', name, code, signal, restartInMs: delay });
    supervised.restartTimer = setTimeout(() => {
      this.spawn(supervised).catch(() => undefined);
    }, delay);
  }

  private async stopOne(supervised: SupervisedProcess): Promise<void> {
    supervised.stopping = true;
    if (supervised.restartTimer !== null) {
      clearTimeout(supervised.restartTimer);
      supervised.restartTimer = null;
    }
    const { child } = supervised;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), this.stopGraceMs);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  private emit(event: SupervisorEvent): void {
    this.events.emit('event', event);
  }
}
