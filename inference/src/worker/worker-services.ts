/**
 * What the worker works with, on one Redis: its connections (commands, BullMQ's blocking
 * consumer, the cancel subscriber), the job, upload and timing stores on them, the queue,
 * heartbeats, the output store (the generated/ folder or a bucket) and, with ZEUS_RETENTION,
 * the sweeper of expired jobs; with one `close()` for them all.
 */
import {
  closeRedis,
  connectRedis,
  JobEndWatch,
  JobQueue,
  JobStore,
  JobTimingsStore,
  openOutputStore,
  RedisKeys,
  RetentionSweeper,
  UploadStore,
  WorkerHeartbeats,
  type Logger,
  type OutputStore,
  type Redis,
} from '@zeus/core';
import type { WorkerConfig } from './config.ts';

export interface WorkerServices {
  readonly keys: RedisKeys;
  readonly redis: Redis;
  /** BullMQ's consumer blocks on a connection of its own. */
  readonly consumerConnection: Redis;
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly heartbeats: WorkerHeartbeats;
  readonly uploads: UploadStore;
  readonly timings: JobTimingsStore;
  /** Hears at once when the running job is cancelled. */
  readonly jobEnds: JobEndWatch;
  /** Videos and previews: the generated/ folder or a bucket (ZEUS_STORAGE). */
  readonly outputs: OutputStore;
  /** Removes expired jobs and their files (ZEUS_RETENTION); started and stopped by the worker. */
  readonly sweeper: RetentionSweeper | null;
  /** Closes the output store, the queue and the connections. */
  close(): Promise<void>;
}

export async function openWorkerServices(
  config: WorkerConfig,
  logger: Logger,
): Promise<WorkerServices> {
  const keys = new RedisKeys(config.ZEUS_REDIS_PREFIX);
  // Worker updates wait for Redis to come back rather than fail the job they belong to.
  const redis = connectRedis(config.REDIS_URL, { name: 'zeus-worker', role: 'background' });
  const consumerConnection = connectRedis(config.REDIS_URL, {
    name: 'zeus-worker-consumer',
    role: 'background',
  });
  // Hears at once when the running job is cancelled (a subscriber connection).
  const jobEventsConnection = connectRedis(config.REDIS_URL, {
    name: 'zeus-worker-job-events',
    role: 'background',
  });
  for (const connection of [redis, consumerConnection, jobEventsConnection]) {
    connection.on('error', (error: Error) => {
      logger.warn({ err: error.message }, 'Redis connection error');
    });
  }
  const store = new JobStore(redis, keys, { maxQueued: config.ZEUS_MAX_QUEUED });
  const queue = new JobQueue(redis, keys);
  const heartbeats = new WorkerHeartbeats(redis, keys);
  const uploads = new UploadStore(redis, keys);
  const timings = new JobTimingsStore(redis, keys);
  const jobEnds = new JobEndWatch(jobEventsConnection, keys);
  const outputs = await openOutputStore(config, config.ZEUS_GENERATED_DIR);
  // A store that cannot be used now may be later (a bucket still being created): say so, and
  // let each job that needs it fail with STORAGE_FAILED meanwhile.
  await outputs.check().catch((error: unknown) => {
    logger.error({ err: error, storage: outputs.kind }, 'the output store cannot be used');
  });
  return {
    keys,
    redis,
    consumerConnection,
    store,
    queue,
    heartbeats,
    uploads,
    timings,
    jobEnds,
    outputs,
    sweeper:
      config.ZEUS_RETENTION === null
        ? null
        : new RetentionSweeper(store, redis, keys, {
            retentionMs: config.ZEUS_RETENTION,
            holder: config.ZEUS_WORKER_ID,
            // A job's outputs: its video, previews, partial files.
            removeFiles: (jobId) => outputs.deleteJob(jobId),
            logger,
          }),
    close: async () => {
      await outputs.close();
      await queue.close();
      await Promise.all([
        closeRedis(redis),
        closeRedis(consumerConnection),
        closeRedis(jobEventsConnection),
      ]);
    },
  };
}
