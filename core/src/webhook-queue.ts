/**
 * The webhook delivery queue, on BullMQ (like the generation queue, job-queue.ts): one BullMQ job
 * per event, named by the event's id, so adding an event twice queues it once, and retried with
 * exponential backoff.
 */
import { DelayedError, Queue, UnrecoverableError, Worker, type Job as BullJob } from 'bullmq';
import type { Redis } from './redis.ts';
import type { RedisKeys } from './redis-keys.ts';
import type { WebhookDeliveryRequest } from './webhooks.ts';

const WEBHOOK_QUEUE_NAME = 'webhooks';

export interface WebhookRetryOptions {
  /** Tries in all, the first included. */
  readonly attempts: number;
  /** The wait before the second try; it doubles for each later one. */
  readonly backoffMs: number;
}

/** Puts webhook deliveries on their queue. */
export class WebhookQueue {
  private readonly queue: Queue<WebhookDeliveryRequest>;

  constructor(
    connection: Redis,
    keys: RedisKeys,
    private readonly options: WebhookRetryOptions,
  ) {
    this.queue = new Queue<WebhookDeliveryRequest>(WEBHOOK_QUEUE_NAME, {
      connection,
      prefix: keys.bullmqPrefix,
    });
  }

  /**
   * Queues one event's delivery. The BullMQ job is named by the event id, so queueing an event
   * again (another server, or the same one after a crash) is a no-op while the first is kept:
   * a day after it was delivered, a week after it was given up.
   */
  async add(request: WebhookDeliveryRequest): Promise<void> {
    await this.queue.add(WEBHOOK_QUEUE_NAME, request, {
      jobId: request.event.id,
      attempts: this.options.attempts,
      backoff: { type: 'exponential', delay: this.options.backoffMs },
      removeOnComplete: { age: 86_400 },
      removeOnFail: { age: 7 * 86_400 },
    });
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

/** What became of one try at delivering an event. */
export type WebhookOutcome =
  | { readonly kind: 'delivered' }
  /** Try again after the backoff, unless this was the last attempt. */
  | { readonly kind: 'retry'; readonly reason: string }
  /** Trying again cannot help (the address is refused): no more attempts. */
  | { readonly kind: 'give-up'; readonly reason: string }
  /**
   * Not tried now (its receiver is busy with others): again after `delayMs`, not counted as an
   * attempt.
   */
  | { readonly kind: 'later'; readonly delayMs: number };

export interface WebhookAttempt {
  readonly request: WebhookDeliveryRequest;
  /** 1 for the first try. */
  readonly attempt: number;
  readonly maxAttempts: number;
}

/** Takes webhook deliveries from their queue, several at a time. */
export class WebhookConsumer {
  private readonly worker: Worker<WebhookDeliveryRequest>;

  constructor(
    connection: Redis,
    keys: RedisKeys,
    deliver: (attempt: WebhookAttempt) => Promise<WebhookOutcome>,
    options: { readonly concurrency: number; readonly onError: (error: Error) => void },
  ) {
    this.worker = new Worker<WebhookDeliveryRequest>(
      WEBHOOK_QUEUE_NAME,
      async (job: BullJob<WebhookDeliveryRequest>, token?: string) => {
        const outcome = await deliver({
          request: job.data,
          attempt: job.attemptsMade + 1,
          maxAttempts: job.opts.attempts ?? 1,
        });
        if (outcome.kind === 'later') {
          // BullMQ's own way to put a job back for later without spending an attempt.
          await job.moveToDelayed(Date.now() + outcome.delayMs, token);
          throw new DelayedError();
        }
        if (outcome.kind === 'retry') throw new Error(outcome.reason);
        if (outcome.kind === 'give-up') throw new UnrecoverableError(outcome.reason);
      },
      { connection, prefix: keys.bullmqPrefix, concurrency: options.concurrency },
    );
    this.worker.on('error', options.onError);
  }

  async ready(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  /** Stops taking deliveries, waiting for those under way. */
  async close(): Promise<void> {
    await this.worker.close();
  }
}
