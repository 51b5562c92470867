/**
 * Holds a stack's worker (SIGSTOP), for a test that must see a tiny-model job wait: the tiny
 * model finishes a job in about a second, where the real model's take minutes. Resolves once the
 * process is stopped (state `T` in /proc: a signal is delivered asynchronously), so that from
 * then on it sends nothing more; what it sent before may still be on its way to Redis, which a
 * request of the test's own, answered after that, has overtaken no longer. The returned
 * `release` (SIGCONT) may be called any number of times; only the first resumes the worker.
 */
import { readFile } from 'node:fs/promises';
import type { LocalStack } from '../../deploy/local-stack.ts';

export async function holdWorker(
  stack: Pick<LocalStack, 'kill' | 'pid'>,
  name = 'worker-1',
): Promise<() => void> {
  const pid = stack.pid(name);
  if (pid === undefined) throw new Error(`${name} is not running`);
  stack.kill(name, 'SIGSTOP');
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    stack.kill(name, 'SIGCONT');
  };
  try {
    while ((await processState(pid)) !== 'T') {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } catch (error) {
    release();
    throw error;
  }
  return release;
}

/** A process's state letter (R, S, T…), from /proc/<pid>/stat. */
async function processState(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // After the command name, which may hold spaces and parentheses.
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}
