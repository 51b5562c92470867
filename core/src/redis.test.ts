import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { isRedisUrl, redisSocketUrl, redisTarget } from './redis.ts';
import { redisSettings } from './settings.ts';

describe('REDIS_URL', () => {
  it('takes redis://, rediss:// and a Unix socket (unix:///path, with ?db=N)', () => {
    const read = (url: string): string =>
      loadConfig(z.object(redisSettings), { REDIS_URL: url }).REDIS_URL;
    for (const url of [
      'redis://127.0.0.1:6379',
      'rediss://:secret@redis.example.com:6380/2',
      'unix:///srv/zeus/.zeus/run/redis.sock',
      'unix:///tmp/redis.sock?db=3',
    ]) {
      expect(read(url)).toBe(url);
      expect(isRedisUrl(url)).toBe(true);
    }
  });

  it('names the forms when given something else', () => {
    for (const url of [
      'http://redis:6379',
      'unix://relative.sock',
      '/tmp/redis.sock',
      'unix:///tmp/r.sock?db=x',
    ]) {
      expect(() => loadConfig(z.object(redisSettings), { REDIS_URL: url })).toThrow(
        `REDIS_URL: must be a redis://, rediss:// or unix:///path/to/redis.sock URL (got ${JSON.stringify(url)})`,
      );
    }
  });

  it('reaches a socket by its path and database; a TCP URL is left to ioredis', () => {
    expect(redisTarget(redisSocketUrl('/tmp/zeus/redis.sock'))).toEqual({
      path: '/tmp/zeus/redis.sock',
      db: 0,
    });
    expect(redisTarget('unix:///tmp/zeus/redis.sock?db=2')).toEqual({
      path: '/tmp/zeus/redis.sock',
      db: 2,
    });
    expect(redisTarget('redis://127.0.0.1:6379/1')).toBe('redis://127.0.0.1:6379/1');
  });
});
