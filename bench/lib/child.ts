/**
 * Load generators and stand-in workers run in processes of their own (`node --import tsx`),
 * talking to the benchmark over IPC: the benchmark never measures itself, and a child that
 * hangs is killed when its time is up.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What a child sends: progress of its own kind, then one `result` (or an `error`). */
export type ChildMessage<Result> =
  | { readonly type: 'result'; readonly result: Result }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: string; readonly [key: string]: unknown };

export class BenchChild<Result> {
  readonly result: Promise<Result>;
  private readonly process: ChildProcess;
  private readonly listeners = new Set<(message: ChildMessage<Result>) => void>();

  /**
   * Starts `module` (a path relative to bench/) with `args`; `timeoutMs` bounds its whole life.
   */
  constructor(module: string, args: readonly string[], options: { readonly timeoutMs: number }) {
    const path = fileURLToPath(new URL(`../${module}`, import.meta.url));
    this.process = fork(path, [...args], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const child = this.process;
    this.result = new Promise<Result>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${module} did not finish within ${options.timeoutMs} ms`));
      }, options.timeoutMs);
      child.on('message', (raw) => {
        const message = raw as ChildMessage<Result>;
        for (const listener of this.listeners) listener(message);
        if (message.type === 'result') {
          clearTimeout(timer);
          resolve((message as { readonly result: Result }).result);
        } else if (message.type === 'error') {
          clearTimeout(timer);
          reject(new Error(`${module}: ${String(message.message)}`));
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${module} exited (${signal ?? String(code)}) without a result`));
      });
    });
    // Callers may only await `result` later: until then a failure must not be "unhandled".
    this.result.catch(() => undefined);
  }

  get pid(): number {
    if (this.process.pid === undefined) throw new Error('The child process did not start.');
    return this.process.pid;
  }

  send(message: unknown): void {
    this.process.send(message as object);
  }

  onMessage(listener: (message: ChildMessage<Result>) => void): void {
    this.listeners.add(listener);
  }

  /** Resolves with the first message of this type. */
  async next(type: string): Promise<ChildMessage<Result>> {
    return new Promise((resolve, reject) => {
      const listener = (message: ChildMessage<Result>): void => {
        if (message.type !== type) return;
        this.listeners.delete(listener);
        resolve(message);
      };
      this.listeners.add(listener);
      this.result.then(
        () => {
          reject(new Error(`the child finished before sending "${type}"`));
        },
        (error: unknown) => {
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  kill(): void {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      this.process.kill('SIGKILL');
    }
  }
}

/** In a child: sends the result to the benchmark and exits. */
export function reportResult(result: unknown): void {
  send({ type: 'result', result }, () => process.exit(0));
}

/** In a child: sends a message to the benchmark. */
export function send(message: object, then?: () => void): void {
  if (process.send === undefined) throw new Error('Run by the benchmark, not by hand.');
  process.send(message, undefined, {}, () => then?.());
}

/** In a child: reports an error instead of a result, and exits. */
export function runChildMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    send({ type: 'error', message: error instanceof Error ? error.message : String(error) }, () =>
      process.exit(1),
    );
  });
}
