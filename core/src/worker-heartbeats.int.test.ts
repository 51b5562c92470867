import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../../tests/helpers/redis.ts';
import { eventually } from '../../tests/helpers/eventually.ts';
import { ttlSince } from '../../tests/helpers/ttl.ts';
import { closeRedis, connectRedis, type Redis } from './redis.ts';
import { RedisKeys } from './redis-keys.ts';
import {
  compareWorkers,
  WorkerHeartbeats,
  workerView,
  type WorkerHeartbeat,
} from './worker-heartbeats.ts';

let redisServer: TestRedis;
let redis: Redis;

beforeAll(async () => {
  redisServer = await startTestRedis();
  redis = connectRedis(redisServer.url, { name: 'test', role: 'requests' });
});

afterAll(async () => {
  await closeRedis(redis);
  await redisServer.stop();
});

let prefixCounter = 0;
function fresh(goneRetentionMs?: number): { heartbeats: WorkerHeartbeats; keys: RedisKeys } {
  prefixCounter += 1;
  const keys = new RedisKeys(`heartbeats-test-${prefixCounter}`);
  return {
    heartbeats: new WorkerHeartbeats(
      redis,
      keys,
      goneRetentionMs === undefined ? {} : { goneRetentionMs },
    ),
    keys,
  };
}

function heartbeat(workerId: string, fields: Partial<WorkerHeartbeat> = {}): WorkerHeartbeat {
  return {
    workerId,
    model: 'tiny-random',
    device: 'auto',
    provider: null,
    modelReady: false,
    modelStatus: { state: 'LOADING', message: 'Loading the converted model.', progress: 0.5 },
    jobId: null,
    pid: 4242,
    hostname: 'gpu-node-1',
    startedAt: '2026-11-27T10:00:00.000Z',
    beatAt: new Date().toISOString(),
    ...fields,
  };
}

describe('workerView', () => {
  it('shows the provider once the model is loaded, the configured device before', () => {
    const loading = workerView(heartbeat('w'), true, 0);
    expect(loading).toMatchObject({
      device: 'auto',
      models: [],
      deviceNotices: [],
      status: 'ONLINE',
      modelReady: false,
    });
    const fellBack = workerView(
      heartbeat('w', {
        provider: 'cpu',
        models: [{ component: 'transformer', provider: 'cpu', precision: 'fp32' }],
        deviceNotices: ['device auto runs on cpu: cuda was refused: libcudnn.so.9: not found'],
      }),
      true,
      0,
    );
    expect(fellBack).toMatchObject({
      device: 'cpu',
      models: [{ component: 'transformer', provider: 'cpu', precision: 'fp32' }],
      deviceNotices: ['device auto runs on cpu: cuda was refused: libcudnn.so.9: not found'],
    });
    const ready = workerView(
      heartbeat('w', { provider: 'cuda', modelReady: true, jobId: 'job-1' }),
      true,
      3,
    );
    expect(ready).toMatchObject({
      id: 'w',
      host: 'gpu-node-1',
      device: 'cuda',
      modelReady: true,
      currentJobId: 'job-1',
      jobsDone: 3,
    });
  });

  it('a gone worker is neither ready nor holding a job', () => {
    const beat = heartbeat('w', { provider: 'cpu', modelReady: true, jobId: 'job-1' });
    expect(workerView(beat, false, 2)).toMatchObject({
      status: 'GONE',
      modelReady: false,
      currentJobId: null,
      jobsDone: 2,
      lastSeenAt: beat.beatAt,
    });
  });

  it('orders online workers first, then by id with numbers in order', () => {
    const views = [
      workerView(heartbeat('worker-10'), true, 0),
      workerView(heartbeat('worker-1'), false, 0),
      workerView(heartbeat('worker-2'), true, 0),
    ].sort(compareWorkers);
    expect(views.map((view) => `${view.id}:${view.status}`)).toEqual([
      'worker-2:ONLINE',
      'worker-10:ONLINE',
      'worker-1:GONE',
    ]);
  });
});

describe('WorkerHeartbeats on Redis', () => {
  it('lists workers online, with the jobs each has done', async () => {
    const { heartbeats } = fresh();
    await heartbeats.beat(heartbeat('w-2', { provider: 'cpu', modelReady: true }), 10_000);
    await heartbeats.beat(heartbeat('w-1', { jobId: 'a-job' }), 10_000);
    await heartbeats.jobDone('w-2');
    await heartbeats.jobDone('w-2');
    const workers = await heartbeats.list();
    expect(workers).toMatchObject([
      { id: 'w-1', status: 'ONLINE', currentJobId: 'a-job', jobsDone: 0, device: 'auto' },
      { id: 'w-2', status: 'ONLINE', currentJobId: null, jobsDone: 2, device: 'cpu' },
    ]);
    expect((await heartbeats.online()).map((beat) => beat.workerId).sort()).toEqual(['w-1', 'w-2']);
  });

  it('shows a worker whose heartbeat expired as GONE, and one stopped cleanly too', async () => {
    const { heartbeats } = fresh();
    await heartbeats.beat(heartbeat('dies', { jobId: 'its-job', modelReady: true }), 300);
    await heartbeats.beat(heartbeat('stops'), 60_000);
    await heartbeats.beat(heartbeat('stays'), 60_000);
    await heartbeats.remove('stops');
    await eventually(async () => {
      const workers = await heartbeats.list();
      expect(workers.map((worker) => `${worker.id}:${worker.status}`)).toEqual([
        'stays:ONLINE',
        'dies:GONE',
        'stops:GONE',
      ]);
      expect(workers[1]).toMatchObject({ currentJobId: null, modelReady: false });
    }, 5_000);
    expect((await heartbeats.online()).map((beat) => beat.workerId)).toEqual(['stays']);
  });

  it('drops gone workers once their last heartbeat is older than the retention', async () => {
    const { heartbeats, keys } = fresh(60_000);
    const longAgo = new Date(Date.now() - 120_000).toISOString();
    await heartbeats.beat(heartbeat('old', { beatAt: longAgo }), 1_000);
    const recordTtl = ttlSince(60_000);
    await heartbeats.beat(heartbeat('recent'), 10_000);
    expect((await heartbeats.list()).map((worker) => worker.id)).toEqual(['recent']);
    // The next beat trims the index; the records expire by themselves, after the retention.
    expect(await redis.zrange(keys.workersSeen, 0, -1)).toEqual(['recent']);
    recordTtl.milliseconds(await redis.pttl(keys.workerRecord('recent')));
    // Seen from an hour on, even the recent one is gone from the list.
    expect(await heartbeats.list(new Date(Date.now() + 3_600_000))).toEqual([]);
  });

  it('finds online workers without walking the keyspace (no SCAN)', async () => {
    const { heartbeats, keys } = fresh();
    // A large keyspace beside the workers: reading who is online must not depend on it.
    const filler = redis.pipeline();
    for (let i = 0; i < 2_000; i += 1) filler.set(`${keys.prefix}:job:filler-${i}`, 'x');
    await filler.exec();
    await heartbeats.beat(heartbeat('w-1'), 10_000);
    const scans = async (): Promise<number> => {
      const stats = await redis.info('commandstats');
      return Number(/cmdstat_scan:calls=(\d+)/.exec(stats)?.[1] ?? 0);
    };
    const before = await scans();
    expect((await heartbeats.online()).map((beat) => beat.workerId)).toEqual(['w-1']);
    expect(await scans()).toBe(before);
  });

  it('a restarted worker with the same id replaces its old entry and keeps its count', async () => {
    const { heartbeats } = fresh();
    await heartbeats.beat(heartbeat('w', { pid: 1 }), 10_000);
    await heartbeats.jobDone('w');
    await heartbeats.remove('w');
    await heartbeats.beat(heartbeat('w', { pid: 2 }), 10_000);
    expect(await heartbeats.list()).toMatchObject([
      { id: 'w', pid: 2, status: 'ONLINE', jobsDone: 1 },
    ]);
  });
});
