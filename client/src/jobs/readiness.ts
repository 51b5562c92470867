/**
 * Whether Generate can be used now, and if not, why, in words: the page loads before the worker
 * and the model are ready and says so.
 */
import type { SystemStatus } from '../api/operations.ts';

export type Readiness =
  { readonly ready: true } | { readonly ready: false; readonly reason: string };

export function readiness(
  system: SystemStatus | undefined,
  error: { readonly message: string } | undefined,
): Readiness {
  if (system === undefined) {
    return error === undefined
      ? { ready: false, reason: 'Checking whether the model is ready…' }
      : {
          ready: false,
          reason: `Zeus does not answer (${error.message}). Generate turns on when it does.`,
        };
  }
  if (system.workersOnline === 0) {
    return {
      ready: false,
      reason:
        'No worker is running yet, so nothing can be generated. Generate turns on as soon as a ' +
        'worker has loaded the model.',
    };
  }
  if (!system.modelReady) {
    const status = system.modelStatus;
    if (status == null || status.state === 'READY') {
      return {
        ready: false,
        reason: `The worker is loading the model (${system.model}). Generate turns on when it is ready.`,
      };
    }
    const percent = status.progress === null ? '' : ` (${Math.floor(status.progress * 100)} %)`;
    return {
      ready: false,
      reason: `The model (${system.model}) is not ready: ${status.message}${percent} Generate turns on when it is ready.`,
    };
  }
  if (system.queueLength >= system.maxQueued) {
    return {
      ready: false,
      reason: `The queue is full (${system.maxQueued} jobs). Generate turns on when some have started.`,
    };
  }
  return { ready: true };
}
