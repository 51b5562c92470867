import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../../tests/helpers/redis.ts';
import { ttlSince } from '../../tests/helpers/ttl.ts';
import { JobTimingsStore, WORKER_TIMINGS_TTL_SECONDS } from './job-timings.ts';
import { closeRedis, connectRedis, type Redis } from './redis.ts';
import { RedisKeys } from './redis-keys.ts';

let redisServer: TestRedis;
let redis: Redis;

beforeAll(async () => {
  redisServer = await startTestRedis();
  redis = connectRedis(redisServer.url, { name: 'timings-test', role: 'requests' });
});

afterAll(async () => {
  await closeRedis(redis);
  await redisServer.stop();
});

const measured = (stepSeconds: number) => ({
  setupSeconds: null,
  stepSeconds,
  decodeSeconds: 10 * stepSeconds,
  saveSeconds: 0.1,
});

describe('JobTimingsStore (real Redis)', () => {
  it("gives a worker its own figures once it has some, and the installation's before", async () => {
    const keys = new RedisKeys(`zeus-test-${randomUUID()}`);
    const store = new JobTimingsStore(redis, keys);
    // A fast GPU and a slow one finish jobs of the same size.
    await store.record('tiny-random', 6144, measured(0.1), 'fast');
    await store.record('tiny-random', 6144, measured(1.0), 'slow');

    expect((await store.forWorker('tiny-random', 6144, 'fast'))?.stepSeconds).toBeCloseTo(0.1);
    expect((await store.forWorker('tiny-random', 6144, 'slow'))?.stepSeconds).toBeCloseTo(1.0);
    expect((await store.forWorker('tiny-random', 6144, 'slow'))?.decodeSeconds).toBeCloseTo(10);
    // The installation's averages mix both; a worker with no job of this size yet gets them.
    const installation = await store.get('tiny-random', 6144);
    expect(installation?.samples).toBe(2);
    expect(installation?.stepSeconds).toBeGreaterThan(0.1);
    expect(installation?.stepSeconds).toBeLessThan(1.0);
    expect(await store.forWorker('tiny-random', 6144, 'new')).toEqual(installation);
    // Another size: scaled from the installation's nearest measured size (half the tokens).
    const scaled = await store.forWorker('tiny-random', 3072, 'fast');
    expect(scaled?.stepSeconds).toBeCloseTo((installation?.stepSeconds ?? 0) / 2);
    expect(scaled?.samples).toBe(0);
    // Without a worker id only the installation's averages change.
    await store.record('tiny-random', 96, measured(0.5));
    expect(await redis.exists(keys.workerJobTimings('tiny-random', 'fast'))).toBe(1);
    expect((await store.forWorker('tiny-random', 96, 'fast'))?.stepSeconds).toBeCloseTo(0.5);
  });

  it('has nothing to go on before any job finished', async () => {
    const store = new JobTimingsStore(redis, new RedisKeys(`zeus-test-${randomUUID()}`));
    expect(await store.forWorker('tiny-random', 6144, 'first')).toBeNull();
  });

  it("lets a worker's own figures expire after its last job", async () => {
    const keys = new RedisKeys(`zeus-test-${randomUUID()}`);
    const store = new JobTimingsStore(redis, keys);
    const ttl = ttlSince(WORKER_TIMINGS_TTL_SECONDS * 1_000);
    await store.record('tiny-random', 6144, measured(0.2), 'gone-soon');
    ttl.seconds(await redis.ttl(keys.workerJobTimings('tiny-random', 'gone-soon')));
    // The installation's averages do not expire.
    expect(await redis.ttl(keys.jobTimings('tiny-random'))).toBe(-1);
  });
});
