import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../../tests/helpers/redis.ts';
import { NotFoundError } from './errors.ts';
import type { JobView } from './job.ts';
import { newJob } from './job-state.ts';
import { JobStore } from './job-store.ts';
import { JobUpdateRelay } from './job-updates.ts';
import { closeRedis, connectRedis, type Redis } from './redis.ts';
import { RedisKeys } from './redis-keys.ts';

let redisServer: TestRedis;
let requests: Redis;
let subscriber: Redis;
let store: JobStore;
let relay: JobUpdateRelay;

beforeAll(async () => {
  redisServer = await startTestRedis();
  const keys = new RedisKeys('relay-test');
  requests = connectRedis(redisServer.url, { name: 'requests', role: 'requests' });
  subscriber = connectRedis(redisServer.url, { name: 'subscriber', role: 'background' });
  store = new JobStore(requests, keys, { maxQueued: 100 });
  relay = new JobUpdateRelay(subscriber, requests, keys, store);
});

afterAll(async () => {
  await closeRedis(subscriber);
  await closeRedis(requests);
  await redisServer.stop();
});

async function submit(): Promise<JobView> {
  return store.submit(
    newJob({
      id: randomUUID(),
      settings: {
        prompt: 'p',
        negativePrompt: '',
        width: 64,
        height: 64,
        numFrames: 9,
        frameRate: 8,
        seed: 1,
      },
      model: 'tiny-random',
      totalSteps: 2,
      now: new Date(),
    }),
  );
}

async function nextValue(stream: AsyncIterator<JobView>): Promise<JobView> {
  const result = await stream.next();
  if (result.done === true) throw new Error('stream ended early');
  return result.value;
}

describe('JobUpdateRelay', () => {
  it('emits the current state, every change, then completes after a final state', async () => {
    const job = await submit();
    const stream = await relay.open(job.id);
    expect(await nextValue(stream)).toMatchObject({ status: 'QUEUED', queuePosition: 1 });

    await store.update(job.id, { type: 'start', workerId: 'w', totalSteps: 2 });
    await store.update(job.id, { type: 'progress', attempt: 1, stage: 'DENOISING', step: 1 });
    await store.update(job.id, { type: 'progress', attempt: 1, stage: 'DENOISING', step: 2 });
    await store.update(job.id, { type: 'succeed', attempt: 1, videoUrl: '/v.mp4' });

    const seen: JobView[] = [];
    for await (const update of { [Symbol.asyncIterator]: () => stream }) seen.push(update);
    expect(seen.map((update) => [update.status, update.step, update.queuePosition])).toEqual([
      ['RUNNING', 0, null],
      ['RUNNING', 1, null],
      ['RUNNING', 2, null],
      ['SUCCEEDED', 2, null],
    ]);
    expect(seen.map((update) => update.version)).toEqual([2, 3, 4, 5]);
    expect(relay.openCount).toBe(0);
  });

  it('completes at once for a job that has already finished', async () => {
    const job = await submit();
    await store.update(job.id, { type: 'cancel' });
    const stream = await relay.open(job.id);
    expect((await nextValue(stream)).status).toBe('CANCELLED');
    expect((await stream.next()).done).toBe(true);
    expect(relay.openCount).toBe(0);
  });

  it('shows a queued job moving up as jobs ahead of it start', async () => {
    const first = await submit();
    const second = await submit();
    const third = await submit();
    const stream = await relay.open(third.id);
    expect((await nextValue(stream)).queuePosition).toBe(3);

    await store.update(first.id, { type: 'start', workerId: 'w', totalSteps: 2 });
    expect((await nextValue(stream)).queuePosition).toBe(2);
    await store.update(second.id, { type: 'start', workerId: 'w', totalSteps: 2 });
    expect((await nextValue(stream)).queuePosition).toBe(1);
    await store.update(third.id, { type: 'start', workerId: 'w', totalSteps: 2 });
    expect(await nextValue(stream)).toMatchObject({ status: 'RUNNING', queuePosition: null });
    await stream.return?.();
    for (const job of [first, second, third]) {
      await store.update(job.id, { type: 'cancel' });
    }
  });

  it('unsubscribes at once when the subscriber leaves while waiting', async () => {
    const job = await submit();
    const stream = await relay.open(job.id);
    await nextValue(stream);
    const pending = stream.next();
    expect(relay.openCount).toBe(1);
    await stream.return?.();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(relay.openCount).toBe(0);
    await store.update(job.id, { type: 'cancel' });
  });

  it('reads the job again after pub/sub reconnects, so no change is missed', async () => {
    const job = await submit();
    const stream = await relay.open(job.id);
    expect((await nextValue(stream)).status).toBe('QUEUED');
    const closed = new Promise((resolve) => subscriber.once('close', resolve));
    subscriber.disconnect(true);
    await closed;
    // Published while the subscriber is away: this message is lost, the resync is not.
    await store.update(job.id, { type: 'cancel' });
    expect((await nextValue(stream)).status).toBe('CANCELLED');
    expect((await stream.next()).done).toBe(true);
  });

  it('refuses unknown jobs without leaving a subscription behind', async () => {
    await expect(relay.open(randomUUID())).rejects.toBeInstanceOf(NotFoundError);
    expect(relay.openCount).toBe(0);
  });

  it('hands every subscriber of a job the same object for one change, and its own first state', async () => {
    const job = await submit();
    await store.update(job.id, { type: 'start', workerId: 'w', totalSteps: 2 });
    const streams = [await relay.open(job.id), await relay.open(job.id)];
    const [firstA, firstB] = await Promise.all(streams.map(nextValue));
    // The current state is read for each subscriber (the API executes it for each).
    expect(firstA).toEqual(firstB);
    expect(firstA).not.toBe(firstB);

    await store.update(job.id, { type: 'progress', attempt: 1, stage: 'DENOISING', step: 1 });
    const [changeA, changeB] = await Promise.all(streams.map(nextValue));
    // One relayed change is one object: the API executes it once for both (shared-subscriptions).
    expect(changeA).toBe(changeB);
    expect(changeA).toMatchObject({ status: 'RUNNING', step: 1, queuePosition: null });
    for (const stream of streams) await stream.return?.();
    expect(relay.openCount).toBe(0);
    await store.update(job.id, { type: 'cancel' });
  });

  it('drops events that are not newer than what was shown', async () => {
    const job = await submit();
    // The update lands between subscribing and reading: the read already includes it, so the
    // relayed copy of the same version must not be shown twice.
    const opening = relay.open(job.id);
    await store.update(job.id, { type: 'start', workerId: 'w', totalSteps: 2 });
    const stream = await opening;
    const first = await nextValue(stream);
    await store.update(job.id, { type: 'succeed', attempt: 1, videoUrl: '/v.mp4' });
    const versions = [first.version];
    for await (const update of { [Symbol.asyncIterator]: () => stream }) {
      versions.push(update.version);
    }
    expect(versions.at(-1)).toBe(3);
    expect(new Set(versions).size).toBe(versions.length);
    expect([...versions].sort()).toEqual(versions);
  });
});
