import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../../tests/helpers/redis.ts';
import type { FirstFrameImage, Job } from './job.ts';
import { newJob } from './job-state.ts';
import { JobStore } from './job-store.ts';
import { closeRedis, connectRedis, type Redis } from './redis.ts';
import { RedisKeys } from './redis-keys.ts';
import { RetentionSweeper } from './retention-sweeper.ts';
import { UploadStore } from './uploads.ts';

let redisServer: TestRedis;
let redis: Redis;

beforeAll(async () => {
  redisServer = await startTestRedis();
  redis = connectRedis(redisServer.url, { name: 'sweeper-test', role: 'requests' });
});

afterAll(async () => {
  await closeRedis(redis);
  await redisServer.stop();
});

const HOUR = 3_600_000;
const logger = pino({ level: 'silent' });

function aJob(createdAt: Date, batchId: string | null = null, image?: FirstFrameImage): Job {
  return {
    ...newJob({
      id: randomUUID(),
      settings: {
        prompt: 'p',
        negativePrompt: '',
        width: 64,
        height: 64,
        numFrames: 9,
        frameRate: 8,
        seed: 1,
        ...(image === undefined ? {} : { image }),
      },
      model: 'tiny-random',
      totalSteps: 8,
      now: createdAt,
    }),
    batchId,
  };
}

describe('RetentionSweeper on Redis', () => {
  it('removes expired jobs, files first, and keeps the rest', async () => {
    const keys = new RedisKeys(`sweep-${randomUUID().slice(0, 8)}`);
    const store = new JobStore(redis, keys, { maxQueued: 100 });
    const now = new Date('2026-03-01T12:00:00.000Z');
    const at = (hoursAgo: number): Date => new Date(now.getTime() - hoursAgo * HOUR);
    const batchId = randomUUID();

    // Finished 5 h ago (expired with a 2 h retention), in a batch of one.
    const old = await store.submit(aJob(at(6), batchId));
    await redis.set(
      keys.batch(batchId),
      JSON.stringify({ id: batchId, owner: null, jobIds: [old.id], createdAt: at(6) }),
    );
    await store.update(old.id, { type: 'cancel' }, () => at(5));
    // Created long ago but still queued: never expires.
    const stillQueued = await store.submit(aJob(at(5)));
    // Finished 1 h ago: kept for another hour.
    const recent = await store.submit(aJob(at(4)));
    await store.update(recent.id, { type: 'cancel' }, () => at(1));
    // Created 30 min ago: where the walk stops.
    const newest = await store.submit(aJob(at(0.5)));
    await store.update(newest.id, { type: 'cancel' }, () => at(0.4));

    const events: string[] = [];
    const sweeper = new RetentionSweeper(store, redis, keys, {
      retentionMs: 2 * HOUR,
      holder: 'test',
      logger,
      now: () => now,
      removeFiles: async (jobId) => {
        // The record is still there while the files go.
        events.push(`files ${jobId} (record kept: ${String((await store.get(jobId)) !== null)})`);
      },
    });
    expect(await sweeper.sweep()).toEqual({ removed: 1 });
    expect(events).toEqual([`files ${old.id} (record kept: true)`]);
    expect(await store.get(old.id)).toBeNull();
    expect(await redis.exists(keys.batch(batchId))).toBe(0);
    for (const kept of [stillQueued, recent, newest]) {
      expect(await store.get(kept.id)).not.toBeNull();
    }
    const history = await store.list({ first: 10 });
    expect(history.jobs.map((edge) => edge.job.id)).toEqual([newest.id, recent.id, stillQueued.id]);
    expect(history.totalCount).toBe(3);
    // Nothing more to do.
    expect(await sweeper.sweep()).toEqual({ removed: 0 });
  });

  it("removes a failed or cancelled image-to-video job's copy of its image with its record", async () => {
    const keys = new RedisKeys(`sweep-${randomUUID().slice(0, 8)}`);
    const store = new JobStore(redis, keys, { maxQueued: 100 });
    const uploads = new UploadStore(redis, keys, { ttlSeconds: 3600 });
    const now = new Date('2026-03-01T12:00:00.000Z');
    const at = (hoursAgo: number): Date => new Date(now.getTime() - hoursAgo * HOUR);
    const upload = await uploads.put(
      Uint8Array.of(1, 2, 3),
      { type: 'png', width: 64, height: 64, bytes: 3 },
      null,
    );
    const image: FirstFrameImage = {
      uploadId: upload.uploadId,
      type: upload.type,
      width: upload.width,
      height: upload.height,
      bytes: upload.bytes,
    };
    // As the API submits them: the job's record, then the upload copied to the job.
    const withImage = async (createdHoursAgo: number): Promise<Job> => {
      const job = await store.submit(aJob(at(createdHoursAgo), null, image));
      expect(await uploads.attachToJob(upload.uploadId, job.id)).toBe(true);
      return job;
    };
    // Failed by a worker 5 h ago; cancelled while queued 5 h ago: both expired (2 h retention).
    const failed = await withImage(6);
    await store.update(failed.id, { type: 'start', workerId: 'w', totalSteps: 8 }, () => at(6));
    await store.update(
      failed.id,
      { type: 'fail', attempt: 1, code: 'ENCODER_FAILED', message: 'ffmpeg exited' },
      () => at(5),
    );
    const cancelled = await withImage(6);
    await store.update(cancelled.id, { type: 'cancel' }, () => at(5));
    // Failed 1 h ago: kept, and so is its image (a retry copies it).
    const recent = await withImage(3);
    await store.update(recent.id, { type: 'fail', code: 'WORKER_LOST', message: 'x' }, () => at(1));
    for (const job of [failed, cancelled, recent]) {
      expect((await store.get(job.id))?.status).toMatch(/^(FAILED|CANCELLED)$/);
      expect(await uploads.jobImage(job.id)).not.toBeNull();
    }

    const sweeper = new RetentionSweeper(store, redis, keys, {
      retentionMs: 2 * HOUR,
      holder: 'test',
      logger,
      now: () => now,
      removeFiles: () => Promise.resolve(),
    });
    expect(await sweeper.sweep()).toEqual({ removed: 2 });
    for (const swept of [failed, cancelled]) {
      expect(await store.get(swept.id)).toBeNull();
      expect(await redis.exists(keys.jobImage(swept.id))).toBe(0);
    }
    expect(await store.get(recent.id)).not.toBeNull();
    expect(Array.from((await uploads.jobImage(recent.id)) ?? [])).toEqual([1, 2, 3]);
  });

  it('sweeps in one process at a time', async () => {
    const keys = new RedisKeys(`sweep-${randomUUID().slice(0, 8)}`);
    const store = new JobStore(redis, keys, { maxQueued: 100 });
    const job = await store.submit(aJob(new Date(Date.now() - 10 * HOUR)));
    await store.update(job.id, { type: 'cancel' }, () => new Date(Date.now() - 9 * HOUR));
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = new RetentionSweeper(store, redis, keys, {
      retentionMs: HOUR,
      holder: 'slow',
      logger,
      removeFiles: () => blocked,
    });
    const other = new RetentionSweeper(store, redis, keys, {
      retentionMs: HOUR,
      holder: 'other',
      logger,
      removeFiles: () => Promise.resolve(),
    });
    const first = slow.sweep();
    // The slow sweep holds the lock once it is removing files.
    await new Promise((resolve) => setImmediate(resolve));
    while ((await redis.exists(keys.retentionLock)) === 0)
      await new Promise((r) => setImmediate(r));
    expect(await other.sweep()).toEqual({ removed: null });
    release();
    expect(await first).toEqual({ removed: 1 });
    expect(await redis.exists(keys.retentionLock)).toBe(0);
    expect(await other.sweep()).toEqual({ removed: 0 });
  });
});
