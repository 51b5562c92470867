/**
 * Relays job changes between processes over Redis pub/sub (graphql-redis-subscriptions), one
 * channel per job. The job store publishes every new record in the same atomic step that
 * stores it; this module turns those messages into a stream of job states for one subscriber.
 */
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { isFinalStatus, type Job, type JobView } from './job.ts';
import { parseJob } from './job-record.ts';
import type { JobStore } from './job-store.ts';
import type { Redis } from './redis.ts';
import type { RedisKeys } from './redis-keys.ts';

type InboxMessage =
  | { readonly kind: 'job'; readonly job: Job }
  /** The queue moved: a queued job reads its position again. */
  | { readonly kind: 'queue-moved' }
  /** Pub/sub reconnected, so messages may have been lost: read the job again. */
  | { readonly kind: 'resync' };

/** Messages received but not yet consumed, with a waiter for the next one. */
class Inbox {
  private readonly messages: InboxMessage[] = [];
  private waiter: ((message: InboxMessage | null) => void) | null = null;
  private closed = false;

  push(message: InboxMessage): void {
    if (this.closed) return;
    if (this.waiter !== null) {
      const wake = this.waiter;
      this.waiter = null;
      wake(message);
      return;
    }
    // These read the whole current state when taken: one waiting of each kind is enough.
    if (message.kind !== 'job' && this.messages.some((m) => m.kind === message.kind)) return;
    this.messages.push(message);
  }

  /** The next message, or null once closed. */
  async take(): Promise<InboxMessage | null> {
    const message = this.messages.shift();
    if (message !== undefined) return message;
    if (this.closed) return null;
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  close(): void {
    this.closed = true;
    this.messages.length = 0;
    const wake = this.waiter;
    this.waiter = null;
    wake?.(null);
  }
}

/**
 * Views of relayed records, by record and queue position. Every subscriber of a job gets the
 * same parsed record for one message, and so the same view object: the API executes each
 * subscription event once for all subscribers that share it (server's shared-subscriptions.ts).
 */
const relayedViews = new WeakMap<Job, Map<number | null, JobView>>();

function relayedView(job: Job, queuePosition: number | null): JobView {
  let byPosition = relayedViews.get(job);
  if (byPosition === undefined) {
    byPosition = new Map();
    relayedViews.set(job, byPosition);
  }
  let view = byPosition.get(queuePosition);
  if (view === undefined) {
    view = { ...job, queuePosition };
    byPosition.set(queuePosition, view);
  }
  return view;
}

/**
 * One subscriber's view of one job: the current state first, then each newer state, ending
 * after a final one. A plain iterator rather than an async generator so that `return()` (the
 * client went away) unsubscribes at once, even while waiting for the next change.
 */
class JobUpdateStream implements AsyncIterableIterator<JobView> {
  private last: JobView | null = null;
  private finished = false;

  constructor(
    private readonly jobId: string,
    private readonly first: JobView,
    private readonly inbox: Inbox,
    private readonly store: JobStore,
    private readonly unsubscribe: () => void,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<JobView, undefined>> {
    if (this.finished) return { done: true, value: undefined };
    if (this.last === null) return this.emit(this.first);
    if (isFinalStatus(this.last.status)) return this.end();
    for (;;) {
      const message = await this.inbox.take();
      if (message === null) return this.end();
      // Relayed records are viewed without waiting: one fewer turn per update and subscriber.
      const view = this.viewOf(message);
      const candidate = view instanceof Promise ? await view : view;
      if (candidate !== null && this.isNewer(candidate)) return this.emit(candidate);
    }
  }

  return(): Promise<IteratorResult<JobView, undefined>> {
    return Promise.resolve(this.end());
  }

  throw(error?: unknown): Promise<IteratorResult<JobView, undefined>> {
    this.end();
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }

  private viewOf(message: InboxMessage): JobView | null | Promise<JobView | null> {
    if (message.kind === 'queue-moved' && this.last?.status !== 'QUEUED') return null;
    if (message.kind !== 'job') return this.store.get(this.jobId);
    // A relayed record has no queue position: only a QUEUED job has one, and a job leaves the
    // queue in the same step that changes its status, so the last known position still holds.
    const queuePosition =
      message.job.status === 'QUEUED' ? (this.last?.queuePosition ?? null) : null;
    return relayedView(message.job, queuePosition);
  }

  /** Newer version, or the same version with a new queue position. */
  private isNewer(candidate: JobView): boolean {
    const last = this.last;
    if (last === null) return true;
    if (candidate.version !== last.version) return candidate.version > last.version;
    return candidate.queuePosition !== last.queuePosition;
  }

  private emit(view: JobView): IteratorResult<JobView, undefined> {
    this.last = view;
    return { done: false, value: view };
  }

  private end(): IteratorResult<JobView, undefined> {
    if (!this.finished) {
      this.finished = true;
      this.inbox.close();
      this.unsubscribe();
    }
    return { done: true, value: undefined };
  }
}

export class JobUpdateRelay {
  private readonly pubsub: RedisPubSub;
  private readonly openInboxes = new Set<Inbox>();

  /**
   * `subscriber` becomes a subscriber-mode connection owned by the relay; `publisher` is only
   * used by graphql-redis-subscriptions for its own `publish`, which Zeus does not call (the
   * job store publishes inside its Lua scripts).
   */
  constructor(
    subscriber: Redis,
    publisher: Redis,
    private readonly keys: RedisKeys,
    private readonly store: JobStore,
  ) {
    this.pubsub = new RedisPubSub({ subscriber, publisher });
    // Messages published while the connection was down are lost: after reconnecting, every
    // stream reads its job again so it cannot miss a final state.
    let connectedBefore = subscriber.status === 'ready';
    subscriber.on('ready', () => {
      // The first connection has lost nothing: streams read the job after subscribing.
      if (connectedBefore) {
        for (const inbox of this.openInboxes) inbox.push({ kind: 'resync' });
      }
      connectedBefore = true;
    });
  }

  /**
   * Subscribes to a job's updates. Subscribes first, then reads the current state, so no change
   * falls between the two. Throws `NotFoundError` for an unknown job.
   */
  async open(jobId: string): Promise<AsyncIterableIterator<JobView>> {
    const inbox = new Inbox();
    const subscriptionIds: number[] = [];
    const unsubscribe = (): void => {
      this.openInboxes.delete(inbox);
      for (const id of subscriptionIds.splice(0)) this.pubsub.unsubscribe(id);
    };
    try {
      this.openInboxes.add(inbox);
      subscriptionIds.push(
        await this.pubsub.subscribe<unknown>(this.keys.jobChannel(jobId), (message) => {
          let job: Job;
          try {
            job = parseJob(message);
          } catch {
            // Not a record this version understands: the stored state is the truth.
            inbox.push({ kind: 'resync' });
            return;
          }
          inbox.push({ kind: 'job', job });
        }),
      );
      subscriptionIds.push(
        await this.pubsub.subscribe<unknown>(this.keys.queueChangedChannel, () => {
          inbox.push({ kind: 'queue-moved' });
        }),
      );
      const current = await this.store.require(jobId);
      return new JobUpdateStream(jobId, current, inbox, this.store, unsubscribe);
    } catch (error) {
      unsubscribe();
      throw error;
    }
  }

  /** Subscriptions open now (for tests and health reporting). */
  get openCount(): number {
    return this.openInboxes.size;
  }
}
