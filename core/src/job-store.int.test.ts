import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../../tests/helpers/redis.ts';
import { InvalidInputError, JobConflictError, NotFoundError, QueueFullError } from './errors.ts';
import type { Job } from './job.ts';
import { newJob } from './job-state.ts';
import { JobStore } from './job-store.ts';
import { closeRedis, connectRedis, type Redis } from './redis.ts';
import { RedisKeys } from './redis-keys.ts';

let redisServer: TestRedis;
let redis: Redis;
let listener: Redis;

beforeAll(async () => {
  redisServer = await startTestRedis();
  redis = connectRedis(redisServer.url, { name: 'test', role: 'requests' });
  listener = connectRedis(redisServer.url, { name: 'test-listener', role: 'background' });
});

afterAll(async () => {
  await closeRedis(redis);
  await closeRedis(listener);
  await redisServer.stop();
});

let prefixCounter = 0;
function freshStore(maxQueued = 100): { store: JobStore; keys: RedisKeys } {
  prefixCounter += 1;
  const keys = new RedisKeys(`store-test-${prefixCounter}`);
  return { store: new JobStore(redis, keys, { maxQueued }), keys };
}

function aJob(prompt = 'a lighthouse at dusk'): Job {
  return newJob({
    id: randomUUID(),
    settings: {
      prompt,
      negativePrompt: '',
      width: 64,
      height: 64,
      numFrames: 9,
      frameRate: 8,
      seed: 7,
    },
    model: 'tiny-random',
    totalSteps: 8,
    now: new Date(),
  });
}

describe('JobStore on Redis', () => {
  it('stores submitted jobs with their queue positions', async () => {
    const { store } = freshStore();
    const first = await store.submit(aJob('first'));
    const second = await store.submit(aJob('second'));
    expect(first.queuePosition).toBe(1);
    expect(second.queuePosition).toBe(2);
    expect(await store.get(second.id)).toEqual(second);
    expect(await store.counts()).toEqual({ queued: 2, running: 0 });
    expect(await store.queuedIds()).toEqual([first.id, second.id]);
  });

  it('says NOT_FOUND for unknown and malformed ids', async () => {
    const { store } = freshStore();
    expect(await store.get(randomUUID())).toBeNull();
    expect(await store.get('../../etc/passwd')).toBeNull();
    await expect(store.require(randomUUID())).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.update(randomUUID(), { type: 'cancel' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('pages through the history newest first', async () => {
    const { store } = freshStore();
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push((await store.submit(aJob(`job ${i}`))).id);
    const newestFirst = [...ids].reverse();

    const page1 = await store.list({ first: 2 });
    expect(page1.jobs.map((edge) => edge.job.id)).toEqual(newestFirst.slice(0, 2));
    expect(page1).toMatchObject({ hasNextPage: true, totalCount: 5 });
    const page2 = await store.list({ first: 2, after: page1.endCursor });
    expect(page2.jobs.map((edge) => edge.job.id)).toEqual(newestFirst.slice(2, 4));
    const page3 = await store.list({ first: 2, after: page2.endCursor });
    expect(page3.jobs.map((edge) => edge.job.id)).toEqual(newestFirst.slice(4));
    expect(page3.hasNextPage).toBe(false);
    expect(page3.jobs[0]?.job.queuePosition).toBe(1);

    await expect(store.list({ first: 2, after: 'not-a-cursor' })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    const empty = await freshStore().store.list({ first: 10 });
    expect(empty).toEqual({ jobs: [], hasNextPage: false, endCursor: null, totalCount: 0 });
  });

  it("lists an owner's jobs apart, with the same cursors, while the history keeps them all", async () => {
    const { store } = freshStore();
    const owned = (owner: string | null, prompt: string): Job => ({ ...aJob(prompt), owner });
    const alice1 = await store.submit(owned('alice', 'a1'));
    const bob1 = await store.submit(owned('bob', 'b1'));
    const anonymous = await store.submit(owned(null, 'n1'));
    const alice2 = await store.submit(owned('alice', 'a2'));
    const alice3 = await store.submit(owned('alice', 'a3'));
    expect((await store.get(alice1.id))?.owner).toBe('alice');
    expect((await store.get(anonymous.id))?.owner).toBeNull();

    const first = await store.list({ first: 2, owner: 'alice' });
    expect(first.jobs.map(({ job }) => job.id)).toEqual([alice3.id, alice2.id]);
    expect(first).toMatchObject({ hasNextPage: true, totalCount: 3 });
    const second = await store.list({ first: 2, after: first.endCursor, owner: 'alice' });
    expect(second.jobs.map(({ job }) => job.id)).toEqual([alice1.id]);
    expect(second.hasNextPage).toBe(false);
    expect((await store.list({ first: 10, owner: 'bob' })).jobs.map(({ job }) => job.id)).toEqual([
      bob1.id,
    ]);
    expect((await store.list({ first: 10, owner: 'carol' })).totalCount).toBe(0);
    expect((await store.list({ first: 10 })).totalCount).toBe(5);
  });

  it('admits no more than maxQueued, even under concurrent submissions', async () => {
    const { store } = freshStore(5);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => store.submit(aJob())),
    );
    const admitted = results.filter((result) => result.status === 'fulfilled');
    const refused = results.flatMap((result) =>
      result.status === 'rejected' ? [result.reason as unknown] : [],
    );
    expect(admitted).toHaveLength(5);
    expect(refused).toHaveLength(15);
    for (const reason of refused) {
      expect(reason).toBeInstanceOf(QueueFullError);
      expect((reason as QueueFullError).code).toBe('QUEUE_FULL');
    }
    expect((await store.counts()).queued).toBe(5);
    expect((await store.list({ first: 100 })).totalCount).toBe(5);
  });

  it('moves jobs through the sets and publishes each new record with it', async () => {
    const { store, keys } = freshStore();
    const ahead = await store.submit(aJob('ahead'));
    const behind = await store.submit(aJob('behind'));

    const published: string[] = [];
    const queueMoves: string[] = [];
    await listener.subscribe(keys.jobChannel(ahead.id), keys.queueChangedChannel);
    const received = new Promise<void>((resolve) => {
      listener.on('message', (channel: string, message: string) => {
        if (channel === keys.queueChangedChannel) queueMoves.push(message);
        else published.push(message);
        if (published.length === 2) resolve();
      });
    });

    const running = await store.update(ahead.id, {
      type: 'start',
      workerId: 'worker-a',
      totalSteps: 8,
    });
    expect(running).toMatchObject({ status: 'RUNNING', attempts: 1, version: 2 });
    expect(await store.counts()).toEqual({ queued: 1, running: 1 });
    expect((await store.require(behind.id)).queuePosition).toBe(1);
    expect((await store.require(ahead.id)).queuePosition).toBeNull();

    const done = await store.update(ahead.id, {
      type: 'succeed',
      attempt: 1,
      videoUrl: `/generated/${ahead.id}/out.mp4`,
    });
    await received;
    expect(published.map((message) => JSON.parse(message) as Job)).toEqual([running, done]);
    expect(queueMoves).toEqual(['{"reason":"started"}']);
    expect(await store.counts()).toEqual({ queued: 1, running: 0 });
    await listener.unsubscribe();
  });

  it('lets exactly one attempt succeed when a presumed-dead worker comes back', async () => {
    const { store } = freshStore();
    const job = await store.submit(aJob());
    await store.update(job.id, { type: 'start', workerId: 'old', totalSteps: 8 });
    await store.update(job.id, { type: 'start', workerId: 'new', totalSteps: 8 });

    const outcomes = await Promise.allSettled([
      store.update(job.id, { type: 'succeed', attempt: 1, videoUrl: '/old' }),
      store.update(job.id, { type: 'succeed', attempt: 2, videoUrl: '/new' }),
      store.update(job.id, { type: 'succeed', attempt: 2, videoUrl: '/new-again' }),
    ]);
    const succeeded = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    expect(succeeded).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(JobConflictError);
    }
    const stored = await store.require(job.id);
    expect(stored).toMatchObject({ status: 'SUCCEEDED', attempts: 2, workerId: 'new' });
    expect(stored.videoUrl).toMatch(/^\/new/);
  });

  it('serialises concurrent progress updates without losing versions', async () => {
    const { store } = freshStore();
    const job = await store.submit(aJob());
    await store.update(job.id, { type: 'start', workerId: 'w', totalSteps: 8 });
    await Promise.all(
      Array.from({ length: 10 }, () =>
        store.update(job.id, { type: 'progress', attempt: 1, stage: 'ENCODING_PROMPT', step: 0 }),
      ),
    );
    expect((await store.require(job.id)).version).toBe(2 + 10);
  });

  it('queues higher priorities first and keeps positions right as jobs leave', async () => {
    const { store } = freshStore();
    const normal1 = await store.submit(aJob('normal 1'));
    const low = await store.submit({ ...aJob('low'), priority: -5 });
    const normal2 = await store.submit(aJob('normal 2'));
    const high = await store.submit({ ...aJob('high'), priority: 7 });
    expect(high.queuePosition).toBe(1);
    expect(await store.queuedIds()).toEqual([high.id, normal1.id, normal2.id, low.id]);
    expect((await store.require(low.id)).queuePosition).toBe(4);
    // Cancelling a queued job moves the ones behind it up.
    await store.update(normal1.id, { type: 'cancel' });
    expect((await store.require(normal2.id)).queuePosition).toBe(2);
    expect((await store.require(low.id)).queuePosition).toBe(3);
    expect(await store.counts()).toEqual({ queued: 3, running: 0 });
  });

  it('admits a batch all or nothing against the queue bound, with its record', async () => {
    const { store } = freshStore(5);
    await store.submit(aJob('already waiting'));
    await store.submit(aJob('already waiting too'));
    const tooMany = [aJob('a'), aJob('b'), aJob('c'), aJob('d')];
    await expect(store.submitMany(tooMany)).rejects.toBeInstanceOf(QueueFullError);
    expect(await store.counts()).toEqual({ queued: 2, running: 0 });
    expect(await store.get(tooMany[0]?.id ?? '')).toBeNull();

    const batchId = randomUUID();
    const jobs = [aJob('x'), aJob('y'), aJob('z')].map((job) => ({ ...job, batchId }));
    const stored = await store.submitMany(jobs, {
      id: batchId,
      owner: null,
      jobIds: jobs.map((job) => job.id),
      createdAt: new Date().toISOString(),
    });
    expect(stored.map((job) => job.queuePosition)).toEqual([3, 4, 5]);
    const found = await store.getBatch(batchId);
    expect(found?.jobs.map((job) => job.id)).toEqual(jobs.map((job) => job.id));
    expect(found?.jobs[2]?.queuePosition).toBe(5);
    expect(await store.getBatch(randomUUID())).toBeNull();
    await expect(store.submit(aJob('one more'))).rejects.toBeInstanceOf(QueueFullError);
  });

  it('writes a webhook event with the change it reports, in the same step', async () => {
    const { store } = freshStore();
    const job = await store.submit({
      ...aJob(),
      webhook: { url: 'https://example.com/hook', events: 'FINAL' },
    });
    await store.update(job.id, { type: 'start', workerId: 'w', totalSteps: 8 });
    expect(await store.pendingWebhooks(10)).toEqual([]);
    const done = await store.update(job.id, { type: 'succeed', attempt: 1, videoUrl: '/v' });
    const pending = await store.pendingWebhooks(10);
    expect(pending).toEqual([
      {
        url: 'https://example.com/hook',
        // Whose secret signs it (webhookSecretFor).
        owner: job.owner ?? null,
        event: expect.objectContaining({
          id: `${job.id}.${done.version}`,
          type: 'job.succeeded',
        }) as unknown,
      },
    ]);
    await store.webhookQueued(`${job.id}.${done.version}`);
    expect(await store.pendingWebhooks(10)).toEqual([]);

    const delivery = {
      eventId: `${job.id}.${done.version}`,
      type: 'job.succeeded' as const,
      attempt: 1,
      status: 200,
      ok: true,
      at: new Date().toISOString(),
      error: null,
    };
    await store.recordWebhookDelivery(job.id, delivery);
    expect(await store.webhookDeliveries(job.id)).toEqual([delivery]);
    // Never recorded on a job that is gone.
    const gone = randomUUID();
    await store.recordWebhookDelivery(gone, delivery);
    expect(await store.webhookDeliveries(gone)).toEqual([]);
  });

  it('removes a finished job and everything of it, and pages on without it', async () => {
    const { store, keys } = freshStore();
    const owned = { ...aJob(), owner: 'alice' };
    const first = await store.submit(owned);
    const second = await store.submit({ ...aJob(), owner: 'alice' });
    const third = await store.submit({ ...aJob(), owner: 'alice' });
    // Not finished: never removed.
    await expect(store.removeFinished(first)).rejects.toThrow(/not finished/);
    const cancelled = await store.update(second.id, { type: 'cancel' });
    await store.recordWebhookDelivery(second.id, {
      eventId: 'e',
      type: 'job.cancelled',
      attempt: 1,
      status: 500,
      ok: false,
      at: new Date().toISOString(),
      error: 'HTTP 500',
    });
    // A stale reading is not removed.
    expect(await store.removeFinished({ ...cancelled, version: cancelled.version - 1 })).toBe(
      false,
    );
    expect(await store.removeFinished(cancelled)).toBe(true);
    expect(await store.get(second.id)).toBeNull();
    expect(await redis.exists(keys.webhookDeliveries(second.id))).toBe(0);
    expect(await redis.hexists(keys.promptIndex, second.id)).toBe(0);
    expect(await store.removeFinished(cancelled)).toBe(false);

    for (const owner of [null, 'alice']) {
      const page1 = await store.list({ first: 1, owner });
      expect(page1.jobs.map((edge) => edge.job.id)).toEqual([third.id]);
      expect(page1.totalCount).toBe(2);
      const page2 = await store.list({ first: 1, after: page1.endCursor, owner });
      expect(page2.jobs.map((edge) => edge.job.id)).toEqual([first.id]);
      expect(page2.hasNextPage).toBe(false);
    }
    const oldest = await store.oldest(10, 0);
    expect(oldest.map((entry) => entry.job?.id)).toEqual([first.id, third.id]);
    expect((await store.oldest(10, oldest[0]?.order ?? 0)).map((entry) => entry.job?.id)).toEqual([
      third.id,
    ]);
  });

  describe('prompt search', () => {
    const ids = (page: { jobs: readonly { job: Job }[] }): string[] =>
      page.jobs.map(({ job }) => job.id);

    it('finds jobs whose prompt holds every word, in any case, newest first, a page at a time', async () => {
      const { store } = freshStore(1_000);
      const fox1 = await store.submit(aJob('A red Fox running through snow'));
      await store.submit(aJob('A lighthouse in fog'));
      const fox2 = await store.submit(aJob('The fox sleeps, snow falling'));
      const fox3 = await store.submit(aJob('SNOWY field with a FOX'));
      await store.submit(aJob('foxglove flowers in spring'));

      const page1 = await store.list({ first: 2, search: '  fox   SNOW ' });
      expect(ids(page1)).toEqual([fox3.id, fox2.id]);
      expect(page1).toMatchObject({ hasNextPage: true, totalCount: 5 });
      const page2 = await store.list({ first: 2, after: page1.endCursor, search: 'fox snow' });
      expect(ids(page2)).toEqual([fox1.id]);
      expect(page2.hasNextPage).toBe(false);
      // Part of a word matches (typed halfway); Unicode is compared after NFKC and lower case.
      expect(ids(await store.list({ first: 10, search: 'lightho' }))).toHaveLength(1);
      const accented = await store.submit(aJob('Ｃafé ÉCLAIR at dawn'));
      expect(ids(await store.list({ first: 10, search: 'café éclair' }))).toEqual([accented.id]);
      expect(ids(await store.list({ first: 10, search: 'zebra' }))).toEqual([]);
      // A blank search is no search.
      expect(ids(await store.list({ first: 10, search: '   ' }))).toHaveLength(6);
    });

    it("searches only the caller's own jobs with keys on", async () => {
      const { store } = freshStore();
      const mine = await store.submit({ ...aJob('an owl at dusk'), owner: 'alice' });
      await store.submit({ ...aJob('an owl at night'), owner: 'bob' });
      const page = await store.list({ first: 10, owner: 'alice', search: 'owl' });
      expect(ids(page)).toEqual([mine.id]);
      expect(page).toMatchObject({ hasNextPage: false, totalCount: 1 });
    });

    it('looks at a bounded number of jobs a request, and goes on from its cursor', async () => {
      const { store, keys } = freshStore(30_000);
      // 12,501 jobs, the one matching at the very bottom: more than one request's budget.
      const oldest = await store.submit(aJob('the needle in the haystack'));
      for (let batch = 0; batch < 25; batch += 1) {
        await store.submitMany(Array.from({ length: 500 }, () => aJob('hay')));
      }
      expect(await redis.zcard(keys.history)).toBe(12_501);
      const first = await store.list({ first: 20, search: 'needle' });
      // 10,000 jobs looked at, none matched: an empty page that says to go on.
      expect(ids(first)).toEqual([]);
      expect(first.hasNextPage).toBe(true);
      expect(first.endCursor).not.toBeNull();
      const second = await store.list({ first: 20, after: first.endCursor, search: 'needle' });
      expect(ids(second)).toEqual([oldest.id]);
      expect(second.hasNextPage).toBe(false);
    });

    it('indexes jobs from before the index the first time a search meets them', async () => {
      const { store, keys } = freshStore();
      const old = await store.submit(aJob('an old tram in Lisbon'));
      await redis.del(keys.promptIndex);
      expect(ids(await store.list({ first: 5, search: 'TRAM' }))).toEqual([old.id]);
      expect(await redis.hget(keys.promptIndex, old.id)).toBe('an old tram in lisbon');
    });
  });
});
