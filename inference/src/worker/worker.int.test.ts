/**
 * The worker in this process against a real Redis, running the LTX pipeline on the tiny-random
 * model set (generated into a temporary models folder) on ONNX Runtime and writing MP4s with
 * ffmpeg: success, failures, repair of a half-submitted job, handing a job back on shutdown,
 * and getting the real model's files from a Hub that is down at first.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  closeRedis,
  connectRedis,
  createLogger,
  JobQueue,
  JobStore,
  JobUpdateRelay,
  loadConfig,
  newJob,
  openOutputStore,
  RedisKeys,
  storageEnvironment,
  WorkerHeartbeats,
  type Job,
  type JobView,
  type Redis,
} from '@zeus/core';
import { startHubServer, writeTinyHubRepos } from '@zeus/models/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reservePort } from '../../../deploy/ports.ts';
import { eventually } from '../../../tests/helpers/eventually.ts';
import { startTestRedis, type TestRedis } from '../../../tests/helpers/redis.ts';
import { startTestS3 } from '../../../tests/helpers/s3-server.ts';
import { decodeYuv, psnr } from '../../../tests/helpers/frames.ts';
import { probeVideo } from '../../../tests/helpers/video.ts';
import { workerEnvironment } from './config.ts';
import { startWorker, type RunningWorker } from './worker.ts';

let redisServer: TestRedis;
let dir: string;
const connections: Redis[] = [];

beforeAll(async () => {
  redisServer = await startTestRedis();
  dir = await mkdtemp(join(tmpdir(), 'zeus-worker-test-'));
});

afterAll(async () => {
  await Promise.all(connections.map(closeRedis));
  await redisServer.stop();
  await rm(dir, { recursive: true, force: true });
});

let prefixCounter = 0;

/** A fresh installation (own key prefix) with its store, queue and relay. */
function installation(generatedDir = join(dir, `generated-${prefixCounter + 1}`)) {
  prefixCounter += 1;
  const prefix = `worker-test-${prefixCounter}`;
  const keys = new RedisKeys(prefix);
  const redis = connectRedis(redisServer.url, { name: 'test', role: 'requests' });
  const subscriber = connectRedis(redisServer.url, { name: 'test-sub', role: 'background' });
  connections.push(redis, subscriber);
  const store = new JobStore(redis, keys, { maxQueued: 100 });
  const queue = new JobQueue(redis, keys);
  const relay = new JobUpdateRelay(subscriber, redis, keys, store);
  const heartbeats = new WorkerHeartbeats(redis, keys);
  /** Starts a worker; `ready` (default) waits until it has loaded its model. */
  const start = async (
    workerId: string,
    env: Record<string, string> = {},
    { ready = true } = {},
  ): Promise<RunningWorker> => {
    const worker = await startWorker(
      loadConfig(workerEnvironment, {
        REDIS_URL: redisServer.url,
        ZEUS_REDIS_PREFIX: prefix,
        ZEUS_MODEL: 'tiny-random',
        ZEUS_MODELS_DIR: join(dir, 'models'),
        ZEUS_DEVICE: 'cpu',
        ZEUS_GENERATED_DIR: generatedDir,
        ZEUS_WORKER_ID: workerId,
        // Its status server on any free port: tests run side by side.
        ZEUS_WORKER_HOST: '127.0.0.1',
        ZEUS_WORKER_PORT: '0',
        ...env,
      }),
      createLogger('worker', 'silent'),
    );
    if (ready) await worker.ready;
    return worker;
  };
  const submit = async (size: Partial<Job['settings']> = {}): Promise<JobView> => {
    const job = await store.submit(
      newJob({
        id: randomUUID(),
        settings: {
          prompt: 'a paper boat on a river',
          negativePrompt: '',
          width: 64,
          height: 64,
          numFrames: 9,
          frameRate: 8,
          seed: 3,
          ...size,
        },
        model: 'tiny-random',
        totalSteps: 8,
        now: new Date(),
      }),
    );
    return job;
  };
  /** Resolves with the job's final state (or the first state matching `until`). */
  const watch = async (id: string, until: (job: JobView) => boolean): Promise<JobView> => {
    const stream = await relay.open(id);
    try {
      for await (const update of { [Symbol.asyncIterator]: () => stream }) {
        if (until(update)) return update;
      }
    } finally {
      await stream.return?.();
    }
    throw new Error('the job never reached the expected state');
  };
  const final = (job: JobView): boolean =>
    ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(job.status);
  return { store, queue, heartbeats, start, submit, watch, final, generatedDir };
}

describe('worker', () => {
  it('generates a queued job into generated/<id>/out.mp4 and says so', async () => {
    const zeus = installation();
    const worker = await zeus.start('worker-a');
    const online = await zeus.heartbeats.online();
    expect(online).toMatchObject([
      {
        workerId: 'worker-a',
        modelReady: true,
        model: 'tiny-random',
        modelStatus: { state: 'READY' },
      },
    ]);

    const job = await zeus.submit({ width: 96, height: 64, numFrames: 17, frameRate: 10 });
    const finished = zeus.watch(job.id, zeus.final);
    await zeus.queue.add(job.id);
    expect(await finished).toMatchObject({
      status: 'SUCCEEDED',
      attempts: 1,
      workerId: 'worker-a',
      videoUrl: `/generated/${job.id}/out.mp4`,
      posterUrl: `/generated/${job.id}/poster.jpg`,
    });
    expect(await probeVideo(join(zeus.generatedDir, job.id, 'out.mp4'))).toMatchObject({
      codec: 'h264',
      pixelFormat: 'yuv420p',
      width: 96,
      height: 64,
      frames: 17,
      frameRate: '10/1',
    });
    // The poster beside it is the video's first frame, at its size (never scaled up).
    const posterPath = join(zeus.generatedDir, job.id, 'poster.jpg');
    expect(await probeVideo(posterPath)).toMatchObject({ codec: 'mjpeg', width: 96, height: 64 });
    const poster = await decodeYuv(posterPath);
    const firstFrame = await decodeYuv(join(zeus.generatedDir, job.id, 'out.mp4'), 1);
    expect(psnr(poster, firstFrame)).toBeGreaterThan(30);

    await worker.close();
    expect(await zeus.heartbeats.online()).toEqual([]);
  });

  it('with ZEUS_VAE_TILE, decodes frames larger than a tile in blended tiles', async () => {
    // The same job (same seed) by a worker decoding whole frames and by one decoding 128-pixel
    // tiles: a 256x192 frame is 3 × 2 tiles there. The videos are not the same (the tiles
    // lack each other's context at the seams) but close.
    const zeus = installation();
    const videos: string[] = [];
    for (const tile of ['off', '128']) {
      const worker = await zeus.start(`worker-tile-${tile}`, { ZEUS_VAE_TILE: tile });
      const job = await zeus.submit({ width: 256, height: 192, numFrames: 9, frameRate: 8 });
      const finished = zeus.watch(job.id, zeus.final);
      await zeus.queue.add(job.id);
      expect((await finished).status).toBe('SUCCEEDED');
      await worker.close();
      const path = join(zeus.generatedDir, job.id, 'out.mp4');
      expect(await probeVideo(path)).toMatchObject({ width: 256, height: 192, frames: 9 });
      videos.push(path);
    }
    const [whole, tiled] = await Promise.all(videos.map((path) => decodeYuv(path)));
    if (whole === undefined || tiled === undefined) throw new Error('no frames');
    expect(Buffer.from(tiled).equals(Buffer.from(whole))).toBe(false);
    const close = psnr(tiled, whole);
    console.log(
      `worker, tiny-random 256x192, 128-pixel tiles vs whole frames: ${close.toFixed(1)} dB`,
    );
    expect(close).toBeGreaterThan(20);
  });

  it('with ZEUS_STORAGE=s3, puts the video and previews in the bucket and keeps nothing local', async () => {
    const s3 = await startTestS3('zeus-worker-test');
    try {
      const zeus = installation();
      const worker = await zeus.start('worker-s3', s3.env);
      const job = await zeus.submit({ width: 96, height: 64, numFrames: 17, frameRate: 10 });
      const finished = zeus.watch(job.id, zeus.final);
      await zeus.queue.add(job.id);
      expect(await finished).toMatchObject({
        status: 'SUCCEEDED',
        videoUrl: `/generated/${job.id}/out.mp4`,
      });
      const bucket = await openOutputStore(
        loadConfig(storageEnvironment, s3.env),
        zeus.generatedDir,
      );
      const video = await bucket.read(job.id, 'out.mp4');
      expect(video).toMatchObject({ contentType: 'video/mp4' });
      const downloaded = join(dir, `${job.id}.mp4`);
      await writeFile(downloaded, video?.body as Readable);
      expect(await probeVideo(downloaded)).toMatchObject({ width: 96, height: 64, frames: 17 });
      expect(await bucket.stat(job.id, 'preview-8.jpg')).toMatchObject({
        contentType: 'image/jpeg',
      });
      expect((await finished).posterUrl).toBe(`/generated/${job.id}/poster.jpg`);
      expect(await bucket.stat(job.id, 'poster.jpg')).toMatchObject({
        contentType: 'image/jpeg',
      });
      expect(existsSync(zeus.generatedDir)).toBe(false);
      expect(existsSync(join(tmpdir(), 'zeus-staging', job.id))).toBe(false);
      // The worker says what it runs on, and counts the job.
      expect(await zeus.heartbeats.list()).toMatchObject([
        { id: 'worker-s3', status: 'ONLINE', device: 'cpu', jobsDone: 1, currentJobId: null },
      ]);
      await bucket.close();
      await worker.close();
    } finally {
      await s3.stop();
    }
  });

  it('fails a job it cannot save with STORAGE_FAILED and a plain message', async () => {
    const notAFolder = join(dir, 'not-a-folder');
    await writeFile(notAFolder, 'a file where the video folder should be');
    const zeus = installation(notAFolder);
    const worker = await zeus.start('worker-b');
    const job = await zeus.submit();
    const finished = zeus.watch(job.id, zeus.final);
    await zeus.queue.add(job.id);
    const failed = await finished;
    expect(failed).toMatchObject({
      status: 'FAILED',
      error: {
        code: 'STORAGE_FAILED',
        message: expect.stringMatching(/could not be saved/) as unknown,
      },
    });
    expect(failed.error?.message).not.toContain(dir);
    await worker.close();
  });

  it('runs a stored job that never reached BullMQ (a crash between the two writes)', async () => {
    const zeus = installation();
    const job = await zeus.submit();
    const finished = zeus.watch(job.id, zeus.final);
    // Not added to the queue: the worker finds it on start, and runs it once its model is ready.
    const worker = await zeus.start('worker-c', {}, { ready: false });
    expect((await finished).status).toBe('SUCCEEDED');
    await worker.close();
  });

  it('hands its job back to the queue when it stops, and another worker finishes it', async () => {
    const zeus = installation();
    const first = await zeus.start('worker-d1');
    const job = await zeus.submit({ width: 512, height: 320, numFrames: 65 });
    const running = zeus.watch(job.id, (update) => update.status === 'RUNNING');
    await zeus.queue.add(job.id);
    expect((await running).workerId).toBe('worker-d1');
    await first.close();
    expect(await zeus.queue.pendingIds()).toEqual(new Set([job.id]));

    const finished = zeus.watch(job.id, zeus.final);
    const second = await zeus.start('worker-d2');
    expect(await finished).toMatchObject({
      status: 'SUCCEEDED',
      attempts: 2,
      workerId: 'worker-d2',
    });
    await second.close();
  });

  it('refuses a prompt over the token limit with INVALID_JOB, saying by how much', async () => {
    const zeus = installation();
    const worker = await zeus.start('worker-e');
    // Straight into the store, past the API's own check.
    const job = await zeus.submit({
      prompt: Array.from({ length: 300 }, (_, i) => `word${i}`).join(' '),
    });
    const finished = zeus.watch(job.id, zeus.final);
    await zeus.queue.add(job.id);
    expect(await finished).toMatchObject({
      status: 'FAILED',
      error: {
        code: 'INVALID_JOB',
        message: expect.stringMatching(
          /limit is 255 tokens \(256 with the end-of-sequence token\)/,
        ) as unknown,
      },
    });
    await worker.close();
  });

  it('says the Hub cannot be reached, retries later, and gets ready once it can', async () => {
    // The Hub's address answers nothing at first (connection refused); later a proxy there
    // forwards to a local Hub serving the tiny model under the real names.
    const hub = await startHubServer({ repos: (await writeTinyHubRepos(join(dir, 'hub'))).repos });
    // Reserved: refused until the proxy listens on it, and no one else's meanwhile.
    const reservation = await reservePort();
    const { port } = reservation;
    const proxy = createServer((client) => {
      const upstream = connect(Number(new URL(hub.url).port), '127.0.0.1');
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    const zeus = installation();
    try {
      const worker = await zeus.start(
        'worker-f',
        {
          ZEUS_MODEL: 'ltxv-2b-0.9.6-distilled',
          ZEUS_MODELS_DIR: join(dir, 'models-hub'),
          HF_ENDPOINT: `http://127.0.0.1:${port}`,
          ZEUS_MODEL_RETRY_MS: '500',
        },
        { ready: false },
      );
      const failed = await eventually(async () => {
        const [beat] = await zeus.heartbeats.online();
        expect(beat?.modelStatus?.state).toBe('FAILED');
        return beat;
      }, 30_000);
      expect(failed?.modelReady).toBe(false);
      expect(failed?.modelStatus?.message).toMatch(
        /^Could not download Lightricks\/LTX-Video\/ltxv-2b-0\.9\.6-distilled-04-25\.safetensors: the Hub at http:\/\/127\.0\.0\.1:\d+ cannot be reached \(.*ECONNREFUSED.*\)\. Check the network, or set HF_ENDPOINT to a reachable mirror\. The worker tries again in \d+ s\.$/,
      );
      expect(failed?.modelStatus?.message).not.toContain(dir);

      await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
      await worker.ready;
      expect(await zeus.heartbeats.online()).toMatchObject([
        { workerId: 'worker-f', modelReady: true, modelStatus: { state: 'READY' } },
      ]);
      await worker.close();
    } finally {
      reservation.release();
      await new Promise((resolve) => proxy.close(resolve));
      await hub.close();
    }
  });
});
