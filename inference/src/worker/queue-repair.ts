/**
 * Repairs what a crash elsewhere may have left between the job store and BullMQ: a stored
 * queued job missing from BullMQ (a crash between the two writes) is queued; a running job
 * BullMQ no longer holds (its worker is gone and BullMQ gave it up) is failed with WORKER_LOST.
 * Any worker may do it at any time: each repair is idempotent.
 */
import type { JobQueue, JobStore, Logger } from '@zeus/core';
import { ignoreConflict } from './job-outcome.ts';

const REPAIR_INTERVAL_MS = 60_000;

export interface QueueRepairSources {
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly logger: Logger;
}

export async function repairQueue({ store, queue, logger }: QueueRepairSources): Promise<void> {
  // Running jobs are read before BullMQ's ids: a job that starts in between is then not
  // mistaken for a lost one.
  const runningJobs = (
    await Promise.all((await store.runningIds()).map((id) => store.get(id)))
  ).flatMap((job) => (job?.status === 'RUNNING' ? [job] : []));
  const queuedIds = await store.queuedIds();
  const pending = await queue.pendingIds();
  for (const id of queuedIds) {
    if (pending.has(id)) continue;
    logger.warn({ jobId: id }, 'queued job missing from BullMQ: queueing it');
    await queue.add(id, (await store.get(id))?.priority ?? 0);
  }
  for (const job of runningJobs) {
    if (pending.has(job.id)) continue;
    logger.warn({ jobId: job.id }, 'running job no longer held by BullMQ: failing it');
    await store
      .update(job.id, {
        type: 'fail',
        attempt: job.attempts,
        code: 'WORKER_LOST',
        message: 'The worker generating this job stopped, and the job could not be resumed.',
      })
      .catch(ignoreConflict);
  }
}

/**
 * Repairs now (what fails is thrown: the worker does not start), then every minute (what fails
 * is logged) until stopped.
 */
export async function startQueueRepair(sources: QueueRepairSources): Promise<{ stop(): void }> {
  await repairQueue(sources);
  const timer = setInterval(() => {
    repairQueue(sources).catch((error: unknown) => {
      sources.logger.error({ err: error }, 'queue repair failed');
    });
  }, REPAIR_INTERVAL_MS);
  return {
    stop: () => {
      clearInterval(timer);
    },
  };
}
