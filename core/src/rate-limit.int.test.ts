import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../../tests/helpers/redis.ts';
import { RateLimitedError } from './errors.ts';
import { describeRateLimit, parseRateLimit, RedisRateLimiter } from './rate-limit.ts';
import { closeRedis, connectRedis, type Redis } from './redis.ts';
import { RedisKeys } from './redis-keys.ts';

describe('parseRateLimit', () => {
  it('reads <count>/<duration> and off', () => {
    expect(parseRateLimit('30/60s')).toEqual({ points: 30, durationSeconds: 60 });
    expect(parseRateLimit('100/1h')).toEqual({ points: 100, durationSeconds: 3_600 });
    expect(parseRateLimit('10/m')).toEqual({ points: 10, durationSeconds: 60 });
    expect(parseRateLimit(' 5/S ')).toEqual({ points: 5, durationSeconds: 1 });
    expect(parseRateLimit('2/15m')).toEqual({ points: 2, durationSeconds: 900 });
    expect(parseRateLimit('off')).toBeNull();
    expect(parseRateLimit('OFF')).toBeNull();
  });

  it('says what is wrong', () => {
    expect(() => parseRateLimit('30')).toThrow(/must be <count>\/<duration>/);
    expect(() => parseRateLimit('30/60')).toThrow(/must be <count>\/<duration>/);
    expect(() => parseRateLimit('-1/60s')).toThrow(/must be <count>\/<duration>/);
    expect(() => parseRateLimit('1.5/60s')).toThrow(/must be <count>\/<duration>/);
    expect(() => parseRateLimit('0/60s')).toThrow(/at least 1/);
    expect(() => parseRateLimit('5/0s')).toThrow(/between 1 second and 24 hours/);
    expect(() => parseRateLimit('5/25h')).toThrow(/between 1 second and 24 hours/);
  });

  it('describes a limit in words', () => {
    expect(describeRateLimit({ points: 30, durationSeconds: 60 })).toBe('30 per minute');
    expect(describeRateLimit({ points: 5, durationSeconds: 1 })).toBe('5 per second');
    expect(describeRateLimit({ points: 2, durationSeconds: 900 })).toBe('2 per 15 minutes');
    expect(describeRateLimit({ points: 9, durationSeconds: 7_200 })).toBe('9 per 2 hours');
    expect(describeRateLimit({ points: 9, durationSeconds: 3_600 })).toBe('9 per hour');
    expect(describeRateLimit({ points: 3, durationSeconds: 45 })).toBe('3 per 45 seconds');
  });
});

describe('RedisRateLimiter on Redis', () => {
  let redisServer: TestRedis;
  let redisA: Redis;
  let redisB: Redis;

  beforeAll(async () => {
    redisServer = await startTestRedis();
    redisA = connectRedis(redisServer.url, { name: 'a', role: 'requests' });
    redisB = connectRedis(redisServer.url, { name: 'b', role: 'requests' });
  });

  afterAll(async () => {
    await closeRedis(redisA);
    await closeRedis(redisB);
    await redisServer.stop();
  });

  it('shares one count between replicas, per caller, and says when to retry', async () => {
    const keys = new RedisKeys('rate-test');
    const options = { name: 'submit', what: 'submissions', limit: parseRateLimit('3/60s')! };
    // Two servers, each with its own connection: one limit.
    const serverA = new RedisRateLimiter(redisA, keys, options);
    const serverB = new RedisRateLimiter(redisB, keys, options);
    await serverA.consume('ip:10.0.0.1');
    await serverB.consume('ip:10.0.0.1');
    await serverA.consume('ip:10.0.0.1');
    const refused = await serverB.consume('ip:10.0.0.1').then(
      () => null,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(RateLimitedError);
    const error = refused as RateLimitedError;
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.retryable).toBe(true);
    expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(59);
    expect(error.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(error.message).toBe(
      `Too many submissions: at most 3 per minute. Try again in ${error.retryAfterSeconds} seconds.`,
    );
    expect(error.details).toEqual({
      retryAfterSeconds: error.retryAfterSeconds,
      limit: '3 per minute',
    });
    // Another caller has its own count.
    await serverB.consume('ip:10.0.0.2');
    expect(await redisA.keys('rate-test:rate-limit:submit:*')).toHaveLength(2);
  });

  it('lets the caller in again once the window has passed', async () => {
    const limiter = new RedisRateLimiter(redisA, new RedisKeys('rate-test-window'), {
      name: 'submit',
      what: 'submissions',
      limit: { points: 1, durationSeconds: 1 },
    });
    await limiter.consume('key:alice');
    await expect(limiter.consume('key:alice')).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      retryAfterSeconds: 1,
    });
    // The window is the rule being tested: waiting it out is the point.
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    await expect(limiter.consume('key:alice')).resolves.toBeUndefined();
  });

  it('counts a batch as that many submissions', async () => {
    const limiter = new RedisRateLimiter(redisA, new RedisKeys('rate-test-batch'), {
      name: 'submit',
      what: 'submissions',
      limit: { points: 5, durationSeconds: 60 },
    });
    await limiter.consume('key:alice', 4);
    await expect(limiter.consume('key:alice', 2)).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    await expect(limiter.consume('key:bob', 5)).resolves.toBeUndefined();
    await expect(limiter.consume('key:bob')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  });
});
