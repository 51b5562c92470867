/**
 * Sends webhooks, on every API server. Why it cannot lose or repeat an event:
 *
 * 1. The job store writes each event into an outbox (a Redis hash) in the same atomic step as
 *    the job change it reports (job-store.ts): a change without its event cannot exist, whoever
 *    made it (a worker, a cancel) and whenever it crashes.
 * 2. Every server moves outbox events into the webhook queue (BullMQ), named by the event's id,
 *    then deletes them from the outbox. Queueing an id BullMQ already has is a no-op, so servers
 *    racing for the same event, or one that crashed between queueing and deleting and does it
 *    again, queue it once. It is woken by a message on every new event, and looks every few
 *    seconds for any it missed (a dropped connection).
 * 3. BullMQ hands each event to one server at a time, which POSTs it signed with the secret of
 *    the job's owner (core's webhookSecretFor: one per API key), records the attempt on the
 *    job, and retries with exponential backoff up to ZEUS_WEBHOOK_ATTEMPTS. A server that dies
 *    mid-delivery loses its lock; another server delivers the event again. That is the one case
 *    where a receiver may get an event twice (the first POST had arrived): every attempt carries
 *    the same `Zeus-Webhook-Id`, so receivers drop an id they have already handled.
 *
 * One slow receiver cannot starve the others: a server sends at most `perReceiver` requests to
 * one receiver (its origin) at a time, of its `concurrency`; an event for a receiver that has
 * that many under way goes back to the queue for a moment, without spending an attempt.
 */
import {
  signWebhook,
  WEBHOOK_HEADERS,
  WebhookConsumer,
  WebhookQueue,
  webhookSecretFor,
  type JobStore,
  type Logger,
  type Redis,
  type RedisKeys,
  type WebhookAttempt,
  type WebhookOutcome,
} from '@zeus/core';
import { postWebhook, WebhookAddressRefused } from './webhook-http.ts';

export interface WebhookDispatcherOptions {
  readonly store: JobStore;
  readonly keys: RedisKeys;
  /** A connection for the queue's commands (requests role is fine). */
  readonly queueConnection: Redis;
  /** A background connection for BullMQ's worker (it blocks). */
  readonly consumerConnection: Redis;
  /** A connection the dispatcher turns into a subscriber (outbox messages). */
  readonly subscriber: Redis;
  /** `ZEUS_WEBHOOK_SECRET`: each key's signing secret is derived from it (`webhookSecretFor`). */
  readonly secret: string;
  readonly allowPrivate: boolean;
  readonly attempts: number;
  readonly backoffMs: number;
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** Deliveries under way at once on this server. */
  readonly concurrency?: number;
  /** Deliveries under way at once to one receiver (an origin) from this server. */
  readonly perReceiver?: number;
}

/** How long an event for a busy receiver waits before it is taken again (plus up to half). */
const RECEIVER_BUSY_DELAY_MS = 500;

/** How often the outbox is looked at without a message. */
const OUTBOX_SWEEP_MS = 5_000;
/** Events moved per outbox read. */
const OUTBOX_PAGE = 100;

export class WebhookDispatcher {
  private readonly queue: WebhookQueue;
  private readonly consumer: WebhookConsumer;
  private timer: NodeJS.Timeout | null = null;
  private draining: Promise<void> | null = null;
  private again = false;
  private closed = false;
  /** Deliveries under way from this server, by receiver origin. */
  private readonly underWay = new Map<string, number>();

  constructor(private readonly options: WebhookDispatcherOptions) {
    this.queue = new WebhookQueue(options.queueConnection, options.keys, {
      attempts: options.attempts,
      backoffMs: options.backoffMs,
    });
    this.consumer = new WebhookConsumer(
      options.consumerConnection,
      options.keys,
      (attempt) => this.deliver(attempt),
      {
        concurrency: options.concurrency ?? 8,
        onError: (error) => {
          options.logger.error({ err: error }, 'webhook queue error');
        },
      },
    );
  }

  async start(): Promise<void> {
    const { subscriber, keys } = this.options;
    subscriber.on('message', (channel: string) => {
      if (channel === keys.webhookOutboxChannel) this.drain();
    });
    // After a reconnection, events published meanwhile are in the outbox only.
    subscriber.on('ready', () => {
      this.drain();
    });
    this.timer = setInterval(() => {
      this.drain();
    }, OUTBOX_SWEEP_MS);
    await subscriber.subscribe(keys.webhookOutboxChannel);
    await this.consumer.ready();
    this.drain();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    await this.draining;
    await this.consumer.close();
    await this.queue.close();
  }

  /** Moves outbox events to the queue; one pass at a time, another after it if asked meanwhile. */
  private drain(): void {
    if (this.closed) return;
    if (this.draining !== null) {
      this.again = true;
      return;
    }
    this.draining = this.moveOutbox()
      .catch((error: unknown) => {
        this.options.logger.warn({ err: error }, 'could not move webhook events to their queue');
      })
      .finally(() => {
        this.draining = null;
        if (this.again) {
          this.again = false;
          this.drain();
        }
      });
  }

  private async moveOutbox(): Promise<void> {
    const { store } = this.options;
    for (;;) {
      const pending = await store.pendingWebhooks(OUTBOX_PAGE);
      if (pending.length === 0) return;
      for (const request of pending) {
        await this.queue.add(request);
        await store.webhookQueued(request.event.id);
      }
    }
  }

  private async deliver(attempt: WebhookAttempt): Promise<WebhookOutcome> {
    const receiver = receiverOf(attempt.request.url);
    const busy = this.underWay.get(receiver) ?? 0;
    if (busy >= (this.options.perReceiver ?? 2)) {
      return { kind: 'later', delayMs: RECEIVER_BUSY_DELAY_MS * (1 + Math.random() / 2) };
    }
    this.underWay.set(receiver, busy + 1);
    try {
      return await this.post(attempt);
    } finally {
      const left = (this.underWay.get(receiver) ?? 1) - 1;
      if (left === 0) this.underWay.delete(receiver);
      else this.underWay.set(receiver, left);
    }
  }

  private async post({ request, attempt, maxAttempts }: WebhookAttempt): Promise<WebhookOutcome> {
    const { store, secret, allowPrivate, timeoutMs, logger } = this.options;
    const { event, url } = request;
    // Events queued by an older version name no owner: the job does.
    const owner =
      request.owner !== undefined
        ? request.owner
        : ((await store.get(event.job.id))?.owner ?? null);
    const body = JSON.stringify(event);
    const timestamp = Math.floor(Date.now() / 1_000);
    const at = new Date().toISOString();
    let outcome: Exclude<WebhookOutcome, { kind: 'later' }>;
    let status: number | null = null;
    try {
      const answer = await postWebhook({
        url,
        body,
        timeoutMs,
        allowPrivate,
        headers: {
          [WEBHOOK_HEADERS.id]: event.id,
          [WEBHOOK_HEADERS.timestamp]: String(timestamp),
          [WEBHOOK_HEADERS.signature]: signWebhook(
            webhookSecretFor(secret, owner),
            timestamp,
            body,
          ),
          [WEBHOOK_HEADERS.event]: event.type,
        },
      });
      status = answer.status;
      outcome =
        status >= 200 && status < 300
          ? { kind: 'delivered' }
          : { kind: 'retry', reason: `The receiver answered HTTP ${status}.` };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      outcome =
        error instanceof WebhookAddressRefused
          ? { kind: 'give-up', reason }
          : { kind: 'retry', reason: `No answer: ${reason}` };
    }
    const ok = outcome.kind === 'delivered';
    await store.recordWebhookDelivery(event.job.id, {
      eventId: event.id,
      type: event.type,
      attempt,
      status,
      ok,
      at,
      error: outcome.kind === 'delivered' ? null : outcome.reason,
    });
    const last = outcome.kind === 'give-up' || (!ok && attempt >= maxAttempts);
    const log = { jobId: event.job.id, eventId: event.id, attempt, status };
    if (ok) logger.debug(log, 'webhook delivered');
    else if (last)
      logger.warn(
        { ...log, reason: outcome.kind === 'delivered' ? null : outcome.reason },
        'webhook given up',
      );
    else logger.info(log, 'webhook delivery failed: trying again later');
    return outcome;
  }
}

/** The receiver a webhook URL names, as counted for `perReceiver`: its origin. */
function receiverOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
