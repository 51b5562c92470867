/**
 * Job state and history in Redis. Each job is a JSON record; sorted sets index the history
 * (newest first) and the queue (rank = position); a set holds the running jobs.
 *
 * Every change is computed by the pure state machine (`applyJobEvent`) and written with a
 * compare-and-set Lua script (job-store-scripts.ts) that also moves the job between the sets and
 * publishes the new record on the job's channel, all in one atomic step: a subscriber never sees
 * a state that was not stored, nor misses one that was.
 */
import { NotFoundError, QueueFullError } from './errors.ts';
import { isFinalStatus, type Job, type JobView } from './job.ts';
import { decodeCursor, encodeCursor, type JobPage } from './job-page.ts';
import { isJobId, parseJob } from './job-record.ts';
import { searchHistory, searchText, searchWords } from './job-search.ts';
import {
  ADMIT_SCRIPT,
  RECORD_DELIVERY_SCRIPT,
  REMOVE_SCRIPT,
  UPDATE_SCRIPT,
} from './job-store-scripts.ts';
import { applyJobEvent, type JobEvent } from './job-state.ts';
import { queueScoreOffset } from './priority.ts';
import type { Redis } from './redis.ts';
import type { RedisKeys } from './redis-keys.ts';
import { webhookEventFor, type WebhookDelivery, type WebhookDeliveryRequest } from './webhooks.ts';

/** Compare-and-set retries before giving up: only a storm of updates to one job exhausts them. */
const MAX_UPDATE_TRIES = 20;

/** Jobs submitted together (`submitBatch`). */
export interface BatchRecord {
  readonly id: string;
  readonly owner: string | null;
  /** In submission order. */
  readonly jobIds: readonly string[];
  readonly createdAt: string;
}

export interface QueueCounts {
  readonly queued: number;
  readonly running: number;
}

export class JobStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly options: { readonly maxQueued: number },
  ) {}

  get maxQueued(): number {
    return this.options.maxQueued;
  }

  /**
   * Stores a new QUEUED job in the queue, after those of its priority or higher;
   * `QueueFullError` when the queue is full.
   */
  async submit(job: Job): Promise<JobView> {
    const [stored] = await this.submitMany([job]);
    if (stored === undefined) throw new Error('The job was not stored.');
    return stored;
  }

  /**
   * Stores new QUEUED jobs of one owner, all or none: `QueueFullError` when the queue has no room
   * for every one of them. With `batch`, its record is stored in the same step.
   */
  async submitMany(jobs: readonly Job[], batch?: BatchRecord): Promise<JobView[]> {
    const owner = jobs[0]?.owner ?? null;
    if (jobs.some((job) => (job.owner ?? null) !== owner)) {
      throw new Error('Jobs submitted together must have one owner.');
    }
    const result = await this.redis.eval(
      ADMIT_SCRIPT,
      6 + jobs.length,
      this.keys.queued,
      this.keys.history,
      this.keys.submissionCounter,
      this.keys.batch(batch?.id ?? 'none'),
      owner === null ? this.keys.history : this.keys.ownerHistory(owner),
      this.keys.promptIndex,
      ...jobs.map((job) => this.keys.job(job.id)),
      this.options.maxQueued,
      this.keys.queueChangedChannel,
      jobs.length,
      owner === null ? '0' : '1',
      batch === undefined ? '' : JSON.stringify(batch),
      ...jobs.flatMap((job) => [
        job.id,
        JSON.stringify(job),
        queueScoreOffset(job.priority ?? 0),
        searchText(job.settings.prompt),
      ]),
    );
    if (!Array.isArray(result)) throw new QueueFullError(this.options.maxQueued);
    return jobs.map((job, index) => ({ ...job, queuePosition: Number(result[index]) }));
  }

  /** The job with its queue position, read together so they agree; null when unknown. */
  async get(jobId: string): Promise<JobView | null> {
    if (!isJobId(jobId)) return null;
    const [record, rank] = await this.execute(
      this.redis.multi().get(this.keys.job(jobId)).zrank(this.keys.queued, jobId),
    );
    if (typeof record !== 'string') return null;
    return withPosition(parseJob(record), rank);
  }

  /** Like `get`, but an unknown id is a `NotFoundError`. */
  async require(jobId: string): Promise<JobView> {
    const job = await this.get(jobId);
    if (job === null) throw new NotFoundError('job', jobId);
    return job;
  }

  /**
   * History, newest first. `after` is the `endCursor` of the previous page. With `owner`, only
   * the jobs that API key submitted. With `search`, only the jobs whose prompt contains each of
   * its words (job-search.ts): a page may then hold fewer jobs than `first`, even none, with
   * `hasNextPage` when older jobs are still to be searched from its `endCursor`.
   */
  async list(page: {
    readonly first: number;
    readonly after?: string | null;
    readonly owner?: string | null;
    readonly search?: string | null;
  }): Promise<JobPage> {
    const below = page.after == null ? '+inf' : `(${decodeCursor(page.after)}`;
    const history = page.owner == null ? this.keys.history : this.keys.ownerHistory(page.owner);
    const words = searchWords(page.search ?? '');
    if (words.length > 0) {
      return searchHistory(
        this.redis,
        this.keys,
        (ids) => this.getMany(ids),
        history,
        below,
        page.first,
        words,
      );
    }
    const [entries, totalCount] = await this.execute(
      this.redis
        .multi()
        .zrevrangebyscore(history, below, '-inf', 'WITHSCORES', 'LIMIT', 0, page.first + 1)
        .zcard(history),
    );
    const pairs = asStrings(entries);
    const ids: string[] = [];
    const orders: string[] = [];
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      ids.push(pairs[i] ?? '');
      orders.push(pairs[i + 1] ?? '');
    }
    const hasNextPage = ids.length > page.first;
    const pageIds = ids.slice(0, page.first);
    const jobs = await this.getMany(pageIds);
    const edges = pageIds.flatMap((id, index) => {
      const job = jobs.get(id);
      return job === undefined ? [] : [{ cursor: encodeCursor(orders[index] ?? '0'), job }];
    });
    return {
      jobs: edges,
      hasNextPage,
      endCursor: edges.at(-1)?.cursor ?? null,
      totalCount: Number(totalCount),
    };
  }

  /**
   * Applies an event through the state machine and stores the result atomically, publishing
   * it. Throws `NotFoundError` for an unknown job and `JobConflictError` when the event does
   * not apply (a final job, a stale attempt).
   */
  async update(jobId: string, event: JobEvent, now: () => Date = () => new Date()): Promise<Job> {
    for (let attempt = 0; attempt < MAX_UPDATE_TRIES; attempt += 1) {
      const record = isJobId(jobId) ? await this.redis.get(this.keys.job(jobId)) : null;
      if (record === null) throw new NotFoundError('job', jobId);
      const current = parseJob(record);
      const next = applyJobEvent(current, event, now());
      const nextRecord = JSON.stringify(next);
      const webhookEvent = webhookEventFor(current, next);
      const delivery: WebhookDeliveryRequest | null =
        webhookEvent === null || next.webhook == null
          ? null
          : { url: next.webhook.url, owner: next.owner ?? null, event: webhookEvent };
      const written = await this.redis.eval(
        UPDATE_SCRIPT,
        4,
        this.keys.job(jobId),
        this.keys.queued,
        this.keys.running,
        this.keys.webhookOutbox,
        record,
        nextRecord,
        jobId,
        next.status,
        this.keys.jobChannel(jobId),
        this.keys.queueChangedChannel,
        delivery?.event.id ?? '',
        delivery === null ? '' : JSON.stringify(delivery),
        this.keys.webhookOutboxChannel,
      );
      if (Number(written) === 1) return next;
    }
    throw new Error(`Job ${jobId} changed ${MAX_UPDATE_TRIES} times while being updated.`);
  }

  /**
   * Removes a finished job's records and its copy of its first-frame image, as read in `job`
   * (retention): false when it changed since or is gone. Its files are the caller's to remove
   * first.
   */
  async removeFinished(job: Job): Promise<boolean> {
    if (!isFinalStatus(job.status))
      throw new Error(`Job ${job.id} is ${job.status}, not finished.`);
    const record = await this.redis.get(this.keys.job(job.id));
    if (record === null || parseJob(record).version !== job.version) return false;
    const owner = job.owner ?? null;
    const removed = await this.redis.eval(
      REMOVE_SCRIPT,
      6,
      this.keys.job(job.id),
      this.keys.history,
      owner === null ? this.keys.history : this.keys.ownerHistory(owner),
      this.keys.webhookDeliveries(job.id),
      this.keys.jobImage(job.id),
      this.keys.promptIndex,
      record,
      job.id,
    );
    return Number(removed) === 1;
  }

  /**
   * The oldest jobs of the history, oldest first, from just after submission order `after`
   * (0: from the start), with each one's order: what the retention sweeper walks. A job whose
   * record is gone (removed in between) comes as null.
   */
  async oldest(
    count: number,
    after: number,
  ): Promise<{ readonly job: Job | null; readonly order: number }[]> {
    const pairs = asStrings(
      await this.redis.zrangebyscore(
        this.keys.history,
        `(${after}`,
        '+inf',
        'WITHSCORES',
        'LIMIT',
        0,
        count,
      ),
    );
    const entries: { id: string; order: number }[] = [];
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      entries.push({ id: pairs[i] ?? '', order: Number(pairs[i + 1]) });
    }
    if (entries.length === 0) return [];
    const records = await this.redis.mget(entries.map((entry) => this.keys.job(entry.id)));
    return entries.map((entry, index) => {
      const record = records[index];
      return { job: record == null ? null : parseJob(record), order: entry.order };
    });
  }

  /** A batch with its jobs still kept, in submission order; null when unknown. */
  async getBatch(batchId: string): Promise<{ batch: BatchRecord; jobs: JobView[] } | null> {
    if (!isJobId(batchId)) return null;
    const record = await this.redis.get(this.keys.batch(batchId));
    if (record === null) return null;
    const batch = JSON.parse(record) as BatchRecord;
    const jobs = await this.getMany(batch.jobIds);
    return { batch, jobs: batch.jobIds.flatMap((id) => jobs.get(id) ?? []) };
  }

  /** Removes a batch's record once none of its jobs is kept any more. */
  async removeBatchIfEmpty(batchId: string): Promise<void> {
    const found = await this.getBatch(batchId);
    if (found !== null && found.jobs.length === 0) await this.redis.del(this.keys.batch(batchId));
  }

  /** The queued jobs, first in line first, and the running ones: for time estimates. */
  async snapshot(): Promise<{ readonly queued: Job[]; readonly running: Job[] }> {
    const [queuedIds, runningIds] = await this.execute(
      this.redis.multi().zrange(this.keys.queued, 0, -1).smembers(this.keys.running),
    );
    const queued = asStrings(queuedIds);
    const running = asStrings(runningIds);
    const ids = [...queued, ...running];
    if (ids.length === 0) return { queued: [], running: [] };
    const records = await this.redis.mget(ids.map((id) => this.keys.job(id)));
    const jobs = records.map((record) => (record === null ? null : parseJob(record)));
    const present = (job: Job | null): job is Job => job !== null;
    return {
      queued: jobs
        .slice(0, queued.length)
        .filter(present)
        .filter((job) => job.status === 'QUEUED'),
      running: jobs
        .slice(queued.length)
        .filter(present)
        .filter((job) => job.status === 'RUNNING'),
    };
  }

  /** Records one webhook delivery attempt on its job (nothing if the job is gone). */
  async recordWebhookDelivery(jobId: string, delivery: WebhookDelivery): Promise<void> {
    await this.redis.eval(
      RECORD_DELIVERY_SCRIPT,
      2,
      this.keys.job(jobId),
      this.keys.webhookDeliveries(jobId),
      JSON.stringify(delivery),
    );
  }

  /** A job's webhook delivery attempts, oldest first. */
  async webhookDeliveries(jobId: string): Promise<WebhookDelivery[]> {
    if (!isJobId(jobId)) return [];
    const records = await this.redis.lrange(this.keys.webhookDeliveries(jobId), 0, -1);
    return records.map((record) => JSON.parse(record) as WebhookDelivery);
  }

  /** Webhook events written but not yet handed to the delivery queue (at most about `count`). */
  async pendingWebhooks(count: number): Promise<WebhookDeliveryRequest[]> {
    const found: WebhookDeliveryRequest[] = [];
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(this.keys.webhookOutbox, cursor, 'COUNT', count);
      cursor = next;
      for (let i = 1; i < flat.length; i += 2) {
        found.push(JSON.parse(flat[i] ?? '{}') as WebhookDeliveryRequest);
      }
    } while (cursor !== '0' && found.length < count);
    return found;
  }

  /** Takes a webhook event out of the outbox once the delivery queue holds it. */
  async webhookQueued(eventId: string): Promise<void> {
    await this.redis.hdel(this.keys.webhookOutbox, eventId);
  }

  async counts(): Promise<QueueCounts> {
    const [queued, running] = await this.execute(
      this.redis.multi().zcard(this.keys.queued).scard(this.keys.running),
    );
    return { queued: Number(queued), running: Number(running) };
  }

  /** Queued job ids, first in line first. */
  async queuedIds(): Promise<string[]> {
    return this.redis.zrange(this.keys.queued, 0, -1);
  }

  /** Running job ids. */
  async runningIds(): Promise<string[]> {
    return this.redis.smembers(this.keys.running);
  }

  private async getMany(jobIds: readonly string[]): Promise<Map<string, JobView>> {
    const found = new Map<string, JobView>();
    if (jobIds.length === 0) return found;
    const transaction = this.redis.multi().mget(jobIds.map((id) => this.keys.job(id)));
    for (const id of jobIds) transaction.zrank(this.keys.queued, id);
    const [records, ...ranks] = await this.execute(transaction);
    asNullableStrings(records).forEach((record, index) => {
      const id = jobIds[index];
      if (record !== null && id !== undefined) {
        found.set(id, withPosition(parseJob(record), ranks[index]));
      }
    });
    return found;
  }

  /** Runs a MULTI and returns each command's result, throwing the first command error. */
  private async execute(transaction: ReturnType<Redis['multi']>): Promise<unknown[]> {
    const results = await transaction.exec();
    if (results === null) throw new Error('Redis transaction was aborted.');
    return results.map(([error, value]) => {
      if (error !== null) throw error;
      return value;
    });
  }
}

function withPosition(job: Job, rank: unknown): JobView {
  const queuePosition = job.status === 'QUEUED' && typeof rank === 'number' ? rank + 1 : null;
  return { ...job, queuePosition };
}

function asStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

function asNullableStrings(value: unknown): (string | null)[] {
  return Array.isArray(value) ? value.map((item) => (item === null ? null : String(item))) : [];
}
