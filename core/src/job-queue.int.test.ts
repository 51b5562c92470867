import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deferred } from '../../tests/helpers/deferred.ts';
import { eventually } from '../../tests/helpers/eventually.ts';
import { startTestRedis, type TestRedis } from '../../tests/helpers/redis.ts';
import {
  JobConsumer,
  JobQueue,
  lostJobReturnBoundMs,
  stalledCheckIntervalMs,
  type JobConsumerHandlers,
} from './job-queue.ts';
import { closeRedis, connectRedis, type Redis } from './redis.ts';
import { RedisKeys } from './redis-keys.ts';

let redisServer: TestRedis;
const connections: Redis[] = [];

beforeAll(async () => {
  redisServer = await startTestRedis();
});

afterAll(async () => {
  await Promise.all(connections.map(closeRedis));
  await redisServer.stop();
});

function connect(role: 'requests' | 'background'): Redis {
  const redis = connectRedis(redisServer.url, { name: 'queue-test', role });
  connections.push(redis);
  return redis;
}

let prefixCounter = 0;
function freshKeys(): RedisKeys {
  prefixCounter += 1;
  return new RedisKeys(`queue-test-${prefixCounter}`);
}

function handlers(overrides: Partial<JobConsumerHandlers>): JobConsumerHandlers {
  return {
    process: async () => {},
    onGaveUp: () => {},
    onStalled: () => {},
    onError: () => {},
    ...overrides,
  };
}

describe("a lost worker's job", () => {
  it('is back in the queue within the lock plus the check interval (at most 5 s)', () => {
    expect(stalledCheckIntervalMs(2_000)).toBe(2_000);
    expect(lostJobReturnBoundMs(2_000)).toBe(4_000);
    // The default lock (ZEUS_JOB_LOCK_MS): 15 s, the heartbeat's TTL.
    expect(lostJobReturnBoundMs(15_000)).toBe(20_000);
    expect(lostJobReturnBoundMs(120_000)).toBe(125_000);
  });
});

describe('JobQueue and JobConsumer (BullMQ)', () => {
  it('delivers a job id once, however often it is added', async () => {
    const keys = freshKeys();
    const queue = new JobQueue(connect('requests'), keys);
    const jobId = randomUUID();
    await queue.add(jobId);
    await queue.add(jobId);
    expect(await queue.pendingIds()).toEqual(new Set([jobId]));

    const delivered: string[] = [];
    const done = deferred();
    const consumer = new JobConsumer(
      connect('background'),
      keys,
      handlers({
        process: ({ jobId: id }) => {
          delivered.push(id);
          done.resolve(undefined);
          return Promise.resolve();
        },
      }),
      { lockDurationMs: 5_000, maxStalledCount: 1 },
    );
    await done.promise;
    await consumer.close();
    await queue.add(randomUUID());
    expect(delivered).toEqual([jobId]);
    await queue.close();
  });

  it("gives a dead worker's job to another worker once its lock expires", async () => {
    const keys = freshKeys();
    const redis = connect('requests');
    const queue = new JobQueue(redis, keys);
    const jobId = randomUUID();
    await queue.add(jobId);
    // BullMQ's keys for the job's lock and for the stalled-job check's turn.
    const lockKey = `${keys.bullmqPrefix}:generate:${jobId}:lock`;
    const stalledCheckKey = `${keys.bullmqPrefix}:generate:stalled-check`;

    const taken = deferred();
    const dying = new JobConsumer(
      connect('background'),
      keys,
      handlers({
        // Never finishes: the worker "dies" holding the job.
        process: () => {
          taken.resolve(undefined);
          return new Promise(() => {});
        },
      }),
      { lockDurationMs: 1_000, maxStalledCount: 1 },
    );
    await taken.promise;
    // The lock is the consumer's lockDurationMs (1 s), not BullMQ's default (30 s): a TTL only
    // runs down, so however busy the machine, it can be no longer than what was set.
    const lockTtl = await redis.pttl(lockKey);
    expect(lockTtl).toBeGreaterThan(0);
    expect(lockTtl).toBeLessThanOrEqual(1_000);
    // A forced close stops renewing the lock without finishing the job, as a crash would.
    await dying.close(true);

    const stalled = deferred<string>();
    const retried = deferred<string>();
    const survivor = new JobConsumer(
      connect('background'),
      keys,
      handlers({
        process: ({ jobId: id }) => {
          retried.resolve(id);
          return Promise.resolve();
        },
        onStalled: (id) => {
          stalled.resolve(id);
        },
      }),
      { lockDurationMs: 1_000, maxStalledCount: 1 },
    );
    // The stalled-job check runs every stalledCheckIntervalMs (1 s here), not every 30 s: each
    // check holds its turn for that long. Together with the lock these make the bound docs/operations/scaling.md gives
    // (lostJobReturnBoundMs, its arithmetic checked above); how long the return takes on this
    // machine is a benchmark's figure (npm run bench -- --only recovery), not this test's.
    const checkTtl = await eventually(async () => {
      const ttl = await redis.pttl(stalledCheckKey);
      if (ttl < 0) throw new Error('no stalled-job check yet');
      return ttl;
    }, 10_000);
    expect(checkTtl).toBeLessThanOrEqual(stalledCheckIntervalMs(1_000));
    // The lost job comes back: found stalled, then delivered again, to the survivor.
    expect(await stalled.promise).toBe(jobId);
    expect(await retried.promise).toBe(jobId);
    await survivor.close();
    await queue.close();
  });

  it('hands a released job back to the queue', async () => {
    const keys = freshKeys();
    const queue = new JobQueue(connect('requests'), keys);
    const jobId = randomUUID();
    await queue.add(jobId);

    const taken = deferred();
    const shuttingDown = deferred();
    const first = new JobConsumer(
      connect('background'),
      keys,
      handlers({
        process: async (delivery) => {
          taken.resolve(undefined);
          await shuttingDown.promise;
          await delivery.release();
        },
      }),
      { lockDurationMs: 5_000, maxStalledCount: 1 },
    );
    await taken.promise;
    // As a worker shuts down: stop taking jobs, then hand back the one in hand.
    const closing = first.close();
    shuttingDown.resolve(undefined);
    await closing;
    const retried = deferred<string>();
    const second = new JobConsumer(
      connect('background'),
      keys,
      handlers({
        process: ({ jobId: id }) => {
          retried.resolve(id);
          return Promise.resolve();
        },
      }),
      { lockDurationMs: 5_000, maxStalledCount: 1 },
    );
    expect(await retried.promise).toBe(jobId);
    await second.close();
    await queue.close();
  });

  /** The ids of the first `count` jobs a consumer is given from the queue, in order. */
  async function deliveryOrder(keys: RedisKeys, count: number): Promise<string[]> {
    const delivered: string[] = [];
    const done = deferred();
    const consumer = new JobConsumer(
      connect('background'),
      keys,
      handlers({
        process: ({ jobId }) => {
          delivered.push(jobId);
          if (delivered.length === count) done.resolve(undefined);
          return Promise.resolve();
        },
      }),
      { lockDurationMs: 5_000, maxStalledCount: 1 },
    );
    await done.promise;
    await consumer.close();
    return delivered;
  }

  it('delivers higher priorities first, equal ones in the order added, and removes on request', async () => {
    const keys = freshKeys();
    const queue = new JobQueue(connect('requests'), keys);
    const ids = Array.from({ length: 6 }, () => randomUUID());
    const priorities = [0, -5, 10, 0, 3, 3];
    await queue.addMany(ids.map((id, index) => ({ id, priority: priorities[index] ?? 0 })));
    // A cancelled job leaves the queue before any worker sees it.
    const removedId = ids[3] ?? '';
    expect(await queue.remove(removedId)).toBe(true);

    const delivered = await deliveryOrder(keys, 5);
    expect(delivered).toEqual([ids[2], ids[4], ids[5], ids[0], ids[1]]);
    await queue.close();
  });

  it('orders jobs added one at a time (no transaction) and in a batch by the same rules', async () => {
    const keys = freshKeys();
    const queue = new JobQueue(connect('requests'), keys);
    const [a, b, c, d] = Array.from({ length: 4 }, () => randomUUID());
    if (a === undefined || b === undefined || c === undefined || d === undefined) throw new Error();
    await queue.add(a, 0);
    await queue.addMany([
      { id: b, priority: 3 },
      { id: c, priority: 0 },
    ]);
    await queue.add(d, 3);
    await queue.add(a, 10); // already queued: stays where it is

    const delivered = await deliveryOrder(keys, 4);
    expect(delivered).toEqual([b, d, a, c]);
    await queue.close();
  });
});
