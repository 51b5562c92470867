/**
 * Holds a stack's worker (SIGSTOP), for a test that must see a tiny-model job wait: the tiny
 * model finishes a job in about a second, where the real model's take minutes. The returned
 * `release` (SIGCONT) may be called any number of times; only the first resumes the worker.
 */
import type { LocalStack } from '../../deploy/local-stack.ts';

export function holdWorker(stack: Pick<LocalStack, 'kill'>, name = 'worker-1'): () => void {
  stack.kill(name, 'SIGSTOP');
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    stack.kill(name, 'SIGCONT');
  };
}
