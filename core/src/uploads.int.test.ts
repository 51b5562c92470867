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

describe('UploadStore quotas (real Redis)', () => {
  const image = (bytes: number): Uint8Array => new Uint8Array(bytes).fill(7);
  const sized = (bytes: number) => ({ ...info, bytes });

  it("refuses a caller's upload over its quota, and keeps nothing of it", async () => {
    const quotaKeys = new RedisKeys(`uploads-quota-${randomUUID()}`);
    const store = new UploadStore(redis, quotaKeys, {
      ttlSeconds: 120,
      quota: { perCallerBytes: 1_000, totalBytes: 10_000 },
    });
    await store.put(image(600), sized(600), null, 'ip:192.0.2.1');
    await expect(store.put(image(600), sized(600), null, 'ip:192.0.2.1')).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      details: { retryAfterSeconds: expect.any(Number) as unknown },
    });
    // Another caller has its own quota.
    await store.put(image(600), sized(600), null, 'ip:192.0.2.2');
    const stored = await redis.keys(quotaKeys.upload('*'));
    expect(stored).toHaveLength(2);
    // The counter lasts one window: the upload TTL.
    const ttl = await redis.ttl(quotaKeys.uploadBytes('ip:192.0.2.1'));
    expect(ttl).toBeGreaterThan(100);
    expect(ttl).toBeLessThanOrEqual(120);
    expect(Number(await redis.get(quotaKeys.uploadBytes('ip:192.0.2.1')))).toBe(600);
  });

  it('refuses any upload once all callers together reach the total', async () => {
    const quotaKeys = new RedisKeys(`uploads-quota-${randomUUID()}`);
    const store = new UploadStore(redis, quotaKeys, {
      ttlSeconds: 120,
      quota: { perCallerBytes: 1_000, totalBytes: 2_000 },
    });
    // Many identities (a /64's worth of addresses, many keys) cannot pass the total.
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 10; i += 1) {
      try {
        await store.put(image(900), sized(900), null, `ip:2001:db8:${i}::`);
        accepted += 1;
      } catch (error) {
        expect(error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryable: true });
        refused += 1;
      }
    }
    expect({ accepted, refused }).toEqual({ accepted: 2, refused: 8 });
    expect(Number(await redis.get(quotaKeys.uploadBytes(null)))).toBe(1_800);
  });
});
