/**
 * The generation queue, on BullMQ. BullMQ delivers job ids to workers reliably: a job is locked
 * while a worker holds it, and when the worker dies the lock expires and the job goes back to
 * the queue (a "stalled" job) for another worker. Job state itself lives in the job store;
 * BullMQ only carries the id, with the job's priority (priority.ts: the same order as the
 * queue positions users see). BullMQ's other user is the webhook queue (webhook-queue.ts).
 */
import { Queue, WaitingError, Worker, type Job as BullJob, type JobsOptions } from 'bullmq';
import { bullmqPriority } from './priority.ts';
import type { Redis } from './redis.ts';
import type { RedisKeys } from './redis-keys.ts';

const QUEUE_NAME = 'generate';

interface DeliveredJobData {
  readonly jobId: string;
}

/** Puts job ids on the queue. */
export class JobQueue {
  private readonly queue: Queue<DeliveredJobData>;

  constructor(connection: Redis, keys: RedisKeys) {
    this.queue = new Queue<DeliveredJobData>(QUEUE_NAME, {
      connection,
      prefix: keys.bullmqPrefix,
    });
  }

  /**
   * Queues a job id. BullMQ's job id is Zeus's, so adding an id it already has is a no-op:
   * re-adding after a crash between storing a job and queueing it is harmless.
   */
  async add(jobId: string, priority = 0): Promise<void> {
    await this.queue.add(QUEUE_NAME, { jobId }, jobOptions(jobId, priority));
  }

  /**
   * Queues several job ids at once (a batch), each with its priority, in one transaction. One
   * job goes through `add`: BullMQ's bulk add wraps even a single job in MULTI/EXEC, which cost
   * an API server 0.33 ms of CPU per `submitPrompt` against 0.25 ms (`npm run bench -- --only
   * submit`, straight to one server).
   */
  async addMany(
    jobs: readonly { readonly id: string; readonly priority: number }[],
  ): Promise<void> {
    const [only] = jobs;
    if (jobs.length === 1 && only !== undefined) {
      await this.add(only.id, only.priority);
      return;
    }
    await this.queue.addBulk(
      jobs.map((job) => ({
        name: QUEUE_NAME,
        data: { jobId: job.id },
        opts: jobOptions(job.id, job.priority),
      })),
    );
  }

  /**
   * Takes a job id off the queue (a cancelled job); one that is not there counts as taken off.
   * False when a worker holds it already: that worker finds the job cancelled and skips it.
   */
  async remove(jobId: string): Promise<boolean> {
    try {
      return (await this.queue.remove(jobId)) === 1;
    } catch {
      return false;
    }
  }

  /** Ids BullMQ holds in any unfinished state. */
  async pendingIds(): Promise<Set<string>> {
    const jobs = await this.queue.getJobs(['waiting', 'active', 'delayed', 'prioritized']);
    return new Set(jobs.flatMap((job) => (job.id === undefined ? [] : [job.id])));
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

export interface JobDelivery {
  readonly jobId: string;
  /**
   * Hands the job back to the queue for another worker (or this one after a restart) and ends
   * this delivery. For shutting down mid-job; a job that failed is reported on the job instead.
   */
  release(): Promise<never>;
}

export interface JobConsumerHandlers {
  /** Runs one job. Failures are the handler's to report; what it throws is unexpected. */
  process(delivery: JobDelivery): Promise<void>;
  /**
   * BullMQ gave up on a job: its processing threw, or it stalled (a worker died holding it)
   * more than `maxStalledCount` times.
   */
  onGaveUp(jobId: string, reason: string): void;
  /** A job was found stalled and went back to the queue. */
  onStalled(jobId: string): void;
  onError(error: Error): void;
}

/**
 * How often the workers look for jobs whose worker was lost, at most (BullMQ's stalled-job
 * check; one worker runs it per interval for all of them, a Lua script over the active list).
 */
export const STALLED_CHECK_MAX_INTERVAL_MS = 5_000;

/**
 * The longest a lost worker's job waits before it is back in the queue: its lock expires at
 * most `lockDurationMs` after the worker's last renewal (renewed every half of it), and the next
 * stalled-job check moves it, at most one interval later (the check runs only on live workers).
 */
export function lostJobReturnBoundMs(lockDurationMs: number): number {
  return lockDurationMs + stalledCheckIntervalMs(lockDurationMs);
}

/** The stalled-job check's interval for a lock duration. */
export function stalledCheckIntervalMs(lockDurationMs: number): number {
  return Math.min(lockDurationMs, STALLED_CHECK_MAX_INTERVAL_MS);
}

export interface JobConsumerOptions {
  /**
   * How long a worker's hold on a job lasts without renewal: a worker that dies has its job
   * back in the queue within `lostJobReturnBoundMs` of this. BullMQ renews it at half this
   * while the worker lives.
   */
  readonly lockDurationMs: number;
  /** Deliveries after a lost worker before the job is failed (a job that crashes workers). */
  readonly maxStalledCount: number;
}

/** Takes job ids from the queue, one at a time. */
export class JobConsumer {
  private readonly worker: Worker<DeliveredJobData>;

  constructor(
    connection: Redis,
    keys: RedisKeys,
    handlers: JobConsumerHandlers,
    options: JobConsumerOptions,
  ) {
    this.worker = new Worker<DeliveredJobData>(
      QUEUE_NAME,
      async (job: BullJob<DeliveredJobData>, token?: string) => {
        await handlers.process({
          jobId: job.data.jobId,
          release: async () => {
            await job.moveToWait(token);
            // Tells BullMQ the job was moved on purpose: neither completed nor failed.
            throw new WaitingError();
          },
        });
      },
      {
        connection,
        prefix: keys.bullmqPrefix,
        // One job at a time: a worker process owns one device.
        concurrency: 1,
        lockDuration: options.lockDurationMs,
        // A live job is never moved (the check needs its lock gone), so checking more often
        // than the lock lasts only brings a lost job back sooner.
        stalledInterval: stalledCheckIntervalMs(options.lockDurationMs),
        maxStalledCount: options.maxStalledCount,
      },
    );
    this.worker.on('failed', (job, error) => {
      if (job !== undefined) handlers.onGaveUp(job.data.jobId, error.message);
    });
    this.worker.on('stalled', (jobId) => {
      handlers.onStalled(jobId);
    });
    this.worker.on('error', (error) => {
      handlers.onError(error);
    });
  }

  /** Resolves once the consumer is connected and waiting for jobs. */
  async ready(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  /** Stops taking jobs; waits for the job in hand unless `force`. */
  async close(force = false): Promise<void> {
    await this.worker.close(force);
  }
}

function jobOptions(jobId: string, priority: number): JobsOptions {
  return {
    jobId,
    priority: bullmqPriority(priority),
    // Generation failures are reported on the job, not retried: only a lost worker (a stalled
    // job) makes BullMQ deliver a job again.
    attempts: 1,
    removeOnComplete: true,
    removeOnFail: { count: 1_000 },
  };
}
