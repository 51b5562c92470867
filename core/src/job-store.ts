/**
 * Job state and history in Redis. Each job is a JSON record; sorted sets index the history
 * (newest first) and the queue (rank = position); a set holds the running jobs.
 *
 * Every change is computed by the pure state machine (`applyJobEvent`) and written with a
 * compare-and-set Lua script that also moves the job between the sets and publishes the new
 * record on the job's channel, all in one atomic step: a subscriber never sees a state that was
 * not stored, nor misses one that was.
 */
import { InvalidInputError, NotFoundError, QueueFullError } from './errors.ts';
import type { Job, JobView } from './job.ts';
import { applyJobEvent, type JobEvent } from './job-state.ts';
import type { Redis } from './redis.ts';
import type { RedisKeys } from './redis-keys.ts';

/**
 * Admits a job only while fewer than `maxQueued` are queued: the check and the insert are one
 * step, so concurrent submissions on several servers cannot overfill the queue. A job with an
 * owner also goes into its owner's history (KEYS[5]), with the same score.
 * Returns the queue position, or -1 when the queue is full.
 */
const ADMIT_SCRIPT = `
local queued, history, jobKey, counter = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local maxQueued, jobJson, jobId, queueChannel = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
if redis.call('ZCARD', queued) >= maxQueued then return -1 end
local order = redis.call('INCR', counter)
redis.call('SET', jobKey, jobJson)
redis.call('ZADD', history, order, jobId)
if KEYS[5] then redis.call('ZADD', KEYS[5], order, jobId) end
redis.call('ZADD', queued, order, jobId)
redis.call('PUBLISH', queueChannel, '{"reason":"submitted"}')
return redis.call('ZRANK', queued, jobId) + 1
`;

/**
 * Replaces a job record only if it is still exactly what the caller read (compare-and-set),
 * keeps the queued and running sets in step with the new status, and publishes the new record.
 * Returns 0 when the record changed in between, so the caller reads it again and retries.
 */
const UPDATE_SCRIPT = `
local jobKey, queued, running = KEYS[1], KEYS[2], KEYS[3]
local expected, jobJson, jobId, status = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local jobChannel, queueChannel = ARGV[5], ARGV[6]
if redis.call('GET', jobKey) ~= expected then return 0 end
redis.call('SET', jobKey, jobJson)
local leftQueue = 0
if status ~= 'QUEUED' then leftQueue = redis.call('ZREM', queued, jobId) end
if status == 'RUNNING' then
  redis.call('SADD', running, jobId)
else
  redis.call('SREM', running, jobId)
end
redis.call('PUBLISH', jobChannel, jobJson)
if leftQueue == 1 then redis.call('PUBLISH', queueChannel, '{"reason":"started"}') end
return 1
`;

/** Compare-and-set retries before giving up: only a storm of updates to one job exhausts them. */
const MAX_UPDATE_TRIES = 20;

const JOB_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Job ids are UUIDs: anything else cannot name a job, and never reaches a key or a path. */
export function isJobId(value: string): boolean {
  return JOB_ID_PATTERN.test(value);
}

export interface JobPage {
  readonly jobs: readonly { readonly cursor: string; readonly job: JobView }[];
  readonly hasNextPage: boolean;
  readonly endCursor: string | null;
  readonly totalCount: number;
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

  /** Stores a new QUEUED job at the end of the queue; `QueueFullError` when the queue is full. */
  async submit(job: Job): Promise<JobView> {
    const owner = job.owner ?? null;
    const position = Number(
      await this.redis.eval(
        ADMIT_SCRIPT,
        owner === null ? 4 : 5,
        this.keys.queued,
        this.keys.history,
        this.keys.job(job.id),
        this.keys.submissionCounter,
        ...(owner === null ? [] : [this.keys.ownerHistory(owner)]),
        this.options.maxQueued,
        JSON.stringify(job),
        job.id,
        this.keys.queueChangedChannel,
      ),
    );
    if (position < 0) throw new QueueFullError(this.options.maxQueued);
    return { ...job, queuePosition: position };
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
   * the jobs that API key submitted.
   */
  async list(page: {
    readonly first: number;
    readonly after?: string | null;
    readonly owner?: string | null;
  }): Promise<JobPage> {
    const below = page.after == null ? '+inf' : `(${decodeCursor(page.after)}`;
    const history = page.owner == null ? this.keys.history : this.keys.ownerHistory(page.owner);
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
      const next = applyJobEvent(parseJob(record), event, now());
      const nextRecord = JSON.stringify(next);
      const written = await this.redis.eval(
        UPDATE_SCRIPT,
        3,
        this.keys.job(jobId),
        this.keys.queued,
        this.keys.running,
        record,
        nextRecord,
        jobId,
        next.status,
        this.keys.jobChannel(jobId),
        this.keys.queueChangedChannel,
      );
      if (Number(written) === 1) return next;
    }
    throw new Error(`Job ${jobId} changed ${MAX_UPDATE_TRIES} times while being updated.`);
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

/** Parses a stored or relayed job record, checking the fields Zeus relies on. */
export function parseJob(record: unknown): Job {
  const value: unknown = typeof record === 'string' ? JSON.parse(record) : record;
  if (
    typeof value !== 'object' ||
    value === null ||
    !('id' in value) ||
    typeof value.id !== 'string' ||
    !('version' in value) ||
    typeof value.version !== 'number' ||
    !('status' in value) ||
    typeof value.status !== 'string'
  ) {
    throw new Error('Not a job record.');
  }
  return value as Job;
}

function encodeCursor(order: string): string {
  return Buffer.from(`job:${order}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const match = /^job:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (match?.[1] === undefined) {
    throw new InvalidInputError([
      {
        field: 'after',
        rule: 'cursor',
        message: 'after must be an endCursor returned by jobs.',
      },
    ]);
  }
  return Number(match[1]);
}

function asStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

function asNullableStrings(value: unknown): (string | null)[] {
  return Array.isArray(value) ? value.map((item) => (item === null ? null : String(item))) : [];
}
