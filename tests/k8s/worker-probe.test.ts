/**
 * The workers' Kubernetes probe, as rendered into its ConfigMap, run with `node` against a real
 * Redis holding heartbeats written by the worker's own code (WorkerHeartbeats).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  closeRedis,
  connectRedis,
  RedisKeys,
  WorkerHeartbeats,
  type ModelStatus,
  type Redis,
} from '@zeus/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort } from '../../deploy/ports.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { find, generatedName } from './manifests.ts';
import { checkKustomize, KUSTOMIZE_DIR, renderKustomization } from './render.ts';

interface ProbeResult {
  readonly status: number;
  readonly output: string;
}

let redis: TestRedis;
let client: Redis;
let dir: string;
let script: string;

beforeAll(async () => {
  await checkKustomize();
  const objects = await renderKustomization(join(KUSTOMIZE_DIR, 'overlays/default'));
  const configMap = find(objects, 'ConfigMap', generatedName(objects, 'zeus-worker-probe'));
  dir = await mkdtemp(join(tmpdir(), 'zeus-worker-probe-'));
  script = join(dir, 'worker-probe.mjs');
  await writeFile(script, configMap.data?.['worker-probe.mjs'] ?? '');
  redis = await startTestRedis();
  client = connectRedis(redis.url, { name: 'probe-test', role: 'requests' });
});

afterAll(async () => {
  await closeRedis(client);
  await redis.stop();
  await rm(dir, { recursive: true, force: true });
});

/** `node worker-probe.mjs <mode>` with only these variables (and PATH). */
function probe(mode: string, env: Record<string, string>): Promise<ProbeResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script, mode],
      { env: { PATH: process.env['PATH'], ...env }, timeout: 15_000 },
      (error, stdout, stderr) => {
        const status = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ status, output: `${stdout}${stderr}`.trim() });
      },
    );
  });
}

async function beat(
  heartbeats: WorkerHeartbeats,
  workerId: string,
  modelReady: boolean,
  modelStatus?: ModelStatus,
): Promise<void> {
  const now = new Date().toISOString();
  await heartbeats.beat(
    {
      workerId,
      model: 'tiny-random',
      device: 'cuda',
      modelReady,
      ...(modelStatus === undefined ? {} : { modelStatus }),
      jobId: null,
      pid: 1,
      hostname: workerId,
      startedAt: now,
      beatAt: now,
    },
    15_000,
  );
}

describe('ready', () => {
  test('fails while the worker has no heartbeat, or is loading its model; passes once loaded', async () => {
    const heartbeats = new WorkerHeartbeats(client, new RedisKeys('zeus'));
    const env = { REDIS_URL: redis.url, ZEUS_WORKER_ID: 'zeus-worker-abc-1' };
    expect(await probe('ready', env)).toEqual({
      status: 1,
      output: 'no heartbeat from zeus-worker-abc-1 in the last 15 s',
    });
    await beat(heartbeats, 'zeus-worker-abc-1', false);
    expect(await probe('ready', env)).toEqual({
      status: 1,
      output: 'zeus-worker-abc-1 is not ready for jobs',
    });
    await beat(heartbeats, 'zeus-worker-abc-1', false, {
      state: 'DOWNLOADING',
      message: 'Downloading the model files: 42%.',
      progress: 0.42,
    });
    expect(await probe('ready', env)).toEqual({
      status: 1,
      output: 'zeus-worker-abc-1 is not ready for jobs: Downloading the model files: 42%.',
    });
    await beat(heartbeats, 'zeus-worker-abc-1', true);
    expect(await probe('ready', env)).toEqual({
      status: 0,
      output: 'zeus-worker-abc-1 has its model loaded',
    });
  });

  test('reads the heartbeat under ZEUS_REDIS_PREFIX, and only its own worker', async () => {
    const heartbeats = new WorkerHeartbeats(client, new RedisKeys('studio-b'));
    await beat(heartbeats, 'zeus-worker-abc-2', true);
    const env = { REDIS_URL: redis.url, ZEUS_REDIS_PREFIX: 'studio-b' };
    expect((await probe('ready', { ...env, ZEUS_WORKER_ID: 'zeus-worker-abc-2' })).status).toBe(0);
    expect((await probe('ready', { ...env, ZEUS_WORKER_ID: 'zeus-worker-abc-3' })).status).toBe(1);
    // The default prefix is "zeus", as the worker's.
    expect(
      (await probe('ready', { REDIS_URL: redis.url, ZEUS_WORKER_ID: 'zeus-worker-abc-2' })).status,
    ).toBe(1);
  });

  test("logs in with the URL's user and password and reads its database", async () => {
    await client.call('ACL', 'SETUSER', 'zeus-probe', 'on', '>s3cret:/@', '~*', '+@all');
    const db2 = connectRedis(`${redis.url}/2`, { name: 'probe-test-db2', role: 'requests' });
    try {
      await beat(new WorkerHeartbeats(db2, new RedisKeys('zeus')), 'zeus-worker-abc-4', true);
    } finally {
      await closeRedis(db2);
    }
    const port = new URL(redis.url).port;
    const withUser = (password: string) => ({
      REDIS_URL: `redis://zeus-probe:${encodeURIComponent(password)}@127.0.0.1:${port}/2`,
      ZEUS_WORKER_ID: 'zeus-worker-abc-4',
    });
    expect(await probe('ready', withUser('s3cret:/@'))).toEqual({
      status: 0,
      output: 'zeus-worker-abc-4 has its model loaded',
    });
    const refused = await probe('ready', withUser('wrong'));
    expect(refused.status).toBe(1);
    expect(refused.output).toMatch(/^Redis refused: WRONGPASS/);
    // Database 0 holds no heartbeat of that worker.
    expect(
      (
        await probe('ready', {
          ...withUser('s3cret:/@'),
          REDIS_URL: withUser('s3cret:/@').REDIS_URL.replace(/\/2$/, ''),
        })
      ).status,
    ).toBe(1);
  });

  test('fails when Redis cannot be reached', async () => {
    const closed = `redis://127.0.0.1:${await freePort()}`;
    const result = await probe('ready', { REDIS_URL: closed, ZEUS_WORKER_ID: 'zeus-worker-abc-1' });
    expect(result.status).toBe(1);
    expect(result.output).toMatch(/^Redis unreachable \(.*ECONNREFUSED/);
  });
});

describe('live', () => {
  test('passes while the worker beats, loading or not; fails when the heartbeat is gone', async () => {
    const heartbeats = new WorkerHeartbeats(client, new RedisKeys('zeus'));
    const env = { REDIS_URL: redis.url, ZEUS_WORKER_ID: 'zeus-worker-live-1' };
    expect(await probe('live', env)).toEqual({
      status: 1,
      output: 'no heartbeat from zeus-worker-live-1 in the last 15 s',
    });
    await beat(heartbeats, 'zeus-worker-live-1', false);
    expect((await probe('live', env)).status).toBe(0);
    await heartbeats.remove('zeus-worker-live-1');
    expect((await probe('live', env)).status).toBe(1);
  });

  test('passes when Redis cannot be reached or refuses: restarting the worker would not help', async () => {
    const closed = `redis://127.0.0.1:${await freePort()}`;
    const unreachable = await probe('live', { REDIS_URL: closed, ZEUS_WORKER_ID: 'w' });
    expect(unreachable.status).toBe(0);
    expect(unreachable.output).toMatch(/^Redis unreachable .*: not the worker's fault$/);
    const port = new URL(redis.url).port;
    const refused = await probe('live', {
      REDIS_URL: `redis://zeus-probe:wrong@127.0.0.1:${port}`,
      ZEUS_WORKER_ID: 'w',
    });
    expect(refused.status).toBe(0);
  });
});

test('says how to call it, and what is missing', async () => {
  expect(await probe('', {})).toEqual({
    status: 2,
    output: 'usage: node worker-probe.mjs ready|live',
  });
  expect(await probe('ready', { REDIS_URL: redis.url })).toEqual({
    status: 1,
    output: 'ZEUS_WORKER_ID is not set: the probe cannot find the heartbeat',
  });
});
