/**
 * The worker: takes jobs from the queue one at a time, runs the pipeline, writes the MP4 and
 * records each step of the job's progress. Announces itself with a heartbeat, and on start
 * (and every minute) repairs what a crash elsewhere may have left: stored jobs missing from
 * BullMQ are queued, running jobs BullMQ no longer holds are failed.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  closeRedis,
  connectRedis,
  JobConflictError,
  JobConsumer,
  JobQueue,
  JobStore,
  NotFoundError,
  RedisKeys,
  videoUrlFor,
  WorkerHeartbeats,
  type JobDelivery,
  type Logger,
} from '@zeus/core';
import { createPipeline } from '../pipeline/create-pipeline.ts';
import { Mp4Writer } from '../video/mp4-writer.ts';
import type { WorkerConfig } from './config.ts';
import { describeFailure } from './failures.ts';
import { ProgressThrottle } from './progress-throttle.ts';

const HEARTBEAT_INTERVAL_MS = 5_000;
/** Three missed heartbeats and the worker counts as gone. */
const HEARTBEAT_TTL_MS = 15_000;
const REPAIR_INTERVAL_MS = 60_000;

/** Why a job was interrupted when the worker stops: it goes back to the queue. */
class WorkerShutdown extends Error {
  override readonly name = 'WorkerShutdown';
}

export interface RunningWorker {
  readonly id: string;
  /** Stops taking jobs, hands the current one back to the queue, and disconnects. */
  close(): Promise<void>;
}

export async function startWorker(config: WorkerConfig, logger: Logger): Promise<RunningWorker> {
  const workerId = config.ZEUS_WORKER_ID;
  // First, so an unavailable model is reported before anything else happens.
  const pipeline = createPipeline({ model: config.ZEUS_MODEL, device: config.ZEUS_DEVICE });

  const keys = new RedisKeys(config.ZEUS_REDIS_PREFIX);
  // Worker updates wait for Redis to come back rather than fail the job they belong to.
  const redis = connectRedis(config.REDIS_URL, { name: 'zeus-worker', role: 'background' });
  const consumerConnection = connectRedis(config.REDIS_URL, {
    name: 'zeus-worker-consumer',
    role: 'background',
  });
  for (const connection of [redis, consumerConnection]) {
    connection.on('error', (error: Error) => {
      logger.warn({ err: error.message }, 'Redis connection error');
    });
  }
  const store = new JobStore(redis, keys, { maxQueued: config.ZEUS_MAX_QUEUED });
  const queue = new JobQueue(redis, keys);
  const heartbeats = new WorkerHeartbeats(redis, keys);

  const startedAt = new Date().toISOString();
  let modelReady = false;
  let current: { readonly jobId: string; readonly controller: AbortController } | null = null;
  let shuttingDown = false;

  const beat = async (): Promise<void> => {
    try {
      await heartbeats.beat(
        {
          workerId,
          model: config.ZEUS_MODEL,
          device: config.ZEUS_DEVICE,
          modelReady,
          jobId: current?.jobId ?? null,
          pid: process.pid,
          hostname: hostname(),
          startedAt,
          beatAt: new Date().toISOString(),
        },
        HEARTBEAT_TTL_MS,
      );
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'heartbeat failed');
    }
  };
  await beat();
  const heartbeatTimer = setInterval(() => void beat(), HEARTBEAT_INTERVAL_MS);

  logger.info({ model: pipeline.name, device: config.ZEUS_DEVICE }, 'loading the model');
  const loadStarted = performance.now();
  try {
    await pipeline.load();
  } catch (error) {
    clearInterval(heartbeatTimer);
    await heartbeats.remove(workerId).catch(() => undefined);
    await Promise.all([queue.close(), closeRedis(redis), closeRedis(consumerConnection)]);
    throw error;
  }
  modelReady = true;
  logger.info({ ms: Math.round(performance.now() - loadStarted) }, 'model loaded');
  await beat();

  async function repair(): Promise<void> {
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
      await queue.add(id);
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
  const runRepair = (): void => {
    repair().catch((error: unknown) => {
      logger.error({ err: error }, 'queue repair failed');
    });
  };
  await repair();
  const repairTimer = setInterval(runRepair, REPAIR_INTERVAL_MS);

  async function runJob(delivery: JobDelivery): Promise<void> {
    const { jobId } = delivery;
    let job;
    try {
      job = await store.update(jobId, {
        type: 'start',
        workerId,
        totalSteps: pipeline.totalSteps,
      });
    } catch (error) {
      if (error instanceof NotFoundError || error instanceof JobConflictError) {
        logger.warn({ jobId, reason: error.message }, 'skipping a delivered job');
        return;
      }
      throw error;
    }
    const { attempts: attempt, settings } = job;
    const jobLogger = logger.child({ jobId, attempt });
    const controller = new AbortController();
    current = { jobId, controller };
    if (shuttingDown) controller.abort(new WorkerShutdown());
    void beat();
    jobLogger.info({ settings }, 'job started');
    const started = performance.now();

    const progress = new ProgressThrottle({
      intervalMs: config.ZEUS_PROGRESS_INTERVAL_MS,
      publish: async (update) => {
        await store.update(jobId, { type: 'progress', attempt, ...update });
      },
      // The job was taken over or finished elsewhere: stop working on it.
      onError: (error) => {
        controller.abort(error);
      },
    });
    let writer: Mp4Writer | null = null;
    try {
      writer = await Mp4Writer.open({
        directory: join(config.ZEUS_GENERATED_DIR, jobId),
        width: settings.width,
        height: settings.height,
        frameRate: settings.frameRate,
        expectedFrames: settings.numFrames,
      });
      await pipeline.generate(settings, {
        onProgress: ({ stage, step }) => {
          progress.offer({ stage, step });
        },
        frames: writer,
        signal: controller.signal,
      });
      controller.signal.throwIfAborted();
      progress.offer({ stage: 'SAVING', step: pipeline.totalSteps });
      await writer.finish();
      await progress.flush();
      await store.update(jobId, { type: 'succeed', attempt, videoUrl: videoUrlFor(jobId) });
      jobLogger.info({ seconds: (performance.now() - started) / 1000 }, 'job succeeded');
    } catch (error) {
      progress.close();
      await writer?.abort();
      const cause: unknown = controller.signal.aborted ? controller.signal.reason : error;
      if (cause instanceof WorkerShutdown) {
        jobLogger.info('worker stopping: handing the job back to the queue');
        await delivery.release();
      }
      if (cause instanceof JobConflictError) {
        jobLogger.warn(
          { reason: cause.reason },
          "the job is no longer this attempt's to run: stopped",
        );
        return;
      }
      const failure = describeFailure(error);
      jobLogger.error({ err: error, code: failure.code }, 'job failed');
      await store
        .update(jobId, { type: 'fail', attempt, code: failure.code, message: failure.message })
        .catch(ignoreConflict);
    } finally {
      current = null;
      void beat();
    }
  }

  const consumer = new JobConsumer(
    consumerConnection,
    keys,
    {
      process: runJob,
      onGaveUp: (jobId, reason) => {
        const stalled = /stalled/.test(reason);
        logger.error({ jobId, reason }, 'BullMQ gave up on a job');
        store
          .update(jobId, {
            type: 'fail',
            code: stalled ? 'WORKER_LOST' : 'INTERNAL_ERROR',
            message: stalled
              ? 'The workers generating this job stopped too many times; it was given up.'
              : 'The worker could not run this job.',
          })
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
      lockDurationMs: config.ZEUS_JOB_LOCK_MS,
      maxStalledCount: config.ZEUS_MAX_JOB_RETRIES,
    },
  );
  await consumer.ready();
  logger.info('worker ready for jobs');

  let closing: Promise<void> | null = null;
  return {
    id: workerId,
    close: () => {
      closing ??= (async () => {
        shuttingDown = true;
        clearInterval(repairTimer);
        const consumerClosed = consumer.close();
        current?.controller.abort(new WorkerShutdown());
        await consumerClosed;
        clearInterval(heartbeatTimer);
        await heartbeats.remove(workerId).catch(() => undefined);
        await pipeline.dispose();
        await queue.close();
        await Promise.all([closeRedis(redis), closeRedis(consumerConnection)]);
      })();
      return closing;
    },
  };
}

/** Conflicts mean someone else already settled the job: nothing to do. */
function ignoreConflict(error: unknown): void {
  if (!(error instanceof JobConflictError)) throw error;
}
