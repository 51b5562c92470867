import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../../tests/helpers/redis.ts';
import { ttlSince } from '../../tests/helpers/ttl.ts';
import { closeRedis, connectRedis, type Redis } from './redis.ts';
import { RedisKeys } from './redis-keys.ts';
import { JOB_IMAGE_TTL_SECONDS, UploadStore } from './uploads.ts';

let server: TestRedis;
let redis: Redis;
const keys = new RedisKeys('uploads-test');

beforeAll(async () => {
  server = await startTestRedis();
  redis = connectRedis(server.url, { name: 'test', role: 'requests' });
});
afterAll(async () => {
  await closeRedis(redis);
  await server.stop();
});

const info = { type: 'png', width: 40, height: 30, bytes: 5 } as const;

describe('UploadStore (real Redis)', () => {
  it('keeps the bytes as sent, with a TTL, and describes the upload', async () => {
    const store = new UploadStore(redis, keys, { ttlSeconds: 120 });
    const bytes = Uint8Array.of(0, 255, 1, 128, 7);
    const before = Date.now();
    const ttl = ttlSince(120_000);
    const upload = await store.put(bytes, info, 'alice');
    const after = Date.now();
    expect(upload).toMatchObject({ ...info, owner: 'alice' });
    // It expires 120 s after it was stored.
    expect(Date.parse(upload.expiresAt)).toBeGreaterThanOrEqual(before + 120_000);
    expect(Date.parse(upload.expiresAt)).toBeLessThanOrEqual(after + 120_000);
    expect(await store.describe(upload.uploadId)).toEqual(upload);
    ttl.seconds(await redis.ttl(keys.upload(upload.uploadId)));
    expect(await store.describe(randomUUID())).toBeNull();
    expect(await store.describe('../../etc/passwd')).toBeNull();
  });

  it('copies an upload to a job, which keeps it after the upload is gone', async () => {
    const store = new UploadStore(redis, keys, { ttlSeconds: 120 });
    const bytes = Uint8Array.of(9, 8, 7, 6, 5);
    const upload = await store.put(bytes, info, null);
    const jobA = randomUUID();
    const jobB = randomUUID();
    const jobTtl = ttlSince(JOB_IMAGE_TTL_SECONDS * 1_000);
    expect(await store.attachToJob(upload.uploadId, jobA)).toBe(true);
    expect(await store.attachToJob(upload.uploadId, jobB)).toBe(true);
    await redis.del(keys.upload(upload.uploadId));
    expect(Array.from((await store.jobImage(jobA)) ?? [])).toEqual(Array.from(bytes));
    jobTtl.seconds(await redis.ttl(keys.jobImage(jobA)));
    expect(await store.attachToJob(upload.uploadId, randomUUID())).toBe(false);
    const retry = randomUUID();
    expect(await store.copyJobImage(jobA, retry)).toBe(true);
    expect(Array.from((await store.jobImage(retry)) ?? [])).toEqual(Array.from(bytes));
    expect(await store.copyJobImage(randomUUID(), randomUUID())).toBe(false);
    await store.removeJobImage(jobA);
    expect(await store.jobImage(jobA)).toBeNull();
    expect(await store.jobImage(jobB)).not.toBeNull();
  });
});
