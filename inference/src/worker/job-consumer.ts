/**
 * Takes jobs from BullMQ one at a time for the job runner. A job BullMQ gave up on (its
 * processing threw, or it stalled more than ZEUS_MAX_JOB_RETRIES times) is failed with what
 * job-outcome.ts says, so its user is told.
 */
import {
  JobConsumer,
  type JobDelivery,
  type JobStore,
  type Logger,
  type Redis,
  type RedisKeys,
} from '@zeus/core';
import type { WorkerConfig } from './config.ts';
import { gaveUpFailure, ignoreConflict } from './job-outcome.ts';

export interface JobConsumerSources {
  /** A connection of its own: BullMQ blocks on it while waiting for jobs. */
  readonly connection: Redis;
  readonly keys: RedisKeys;
  readonly store: JobStore;
  readonly run: (delivery: JobDelivery) => Promise<void>;
  readonly config: Pick<WorkerConfig, 'ZEUS_JOB_LOCK_MS' | 'ZEUS_MAX_JOB_RETRIES'>;
  readonly logger: Logger;
}

export function consumeJobs(sources: JobConsumerSources): JobConsumer {
  const { store, logger } = sources;
  return new JobConsumer(
    sources.connection,
    sources.keys,
    {
      process: sources.run,
      onGaveUp: (jobId, reason) => {
        logger.error({ jobId, reason }, 'BullMQ gave up on a job');
        store
          .update(jobId, { type: 'fail', ...gaveUpFailure(reason) })
          .catch(ignoreConflict)
          .catch((error: unknown) => {
            logger.error({ err: error, jobId }, 'could not record a given-up job');
          });
      },
      onStalled: (jobId) => {
        logger.warn({ jobId }, 'a worker was lost mid-job: the job goes back to the queue');
      },
      onError: (error) => {
        logger.error({ err: error }, 'queue consumer error');
      },
    },
    {
      lockDurationMs: sources.config.ZEUS_JOB_LOCK_MS,
      maxStalledCount: sources.config.ZEUS_MAX_JOB_RETRIES,
    },
  );
}
