/**
 * The worker-overhead benchmark's worker, in its own process: the worker's job loop with the
 * model replaced by synthetic frames at a chosen decode rate. Everything around the model is
 * Zeus's own code: BullMQ delivery (`JobConsumer`), job updates (`JobStore.update`, which
 * publishes), throttled progress (`ProgressThrottle`), the MP4 writer (`Mp4Writer`: ffmpeg,
 * temporary file, fsync, rename), in the order the worker runs them.
 *
 * Frames come from a raw RGB24 file, in chunks of `chunkFrames` (the VAE decodes a latent frame
 * into 8 video frames at once), each chunk due at the decode rate; a frame is handed over as a
 * fresh copy, as it arrives from the model thread. `decodeFps` 0 hands them over as fast as the
 * writer takes them.
 *
 * Messages from the benchmark: `{ type: 'stop' }` closes and exits. For every job it runs it
 * sends `{ type: 'job', timings }` (epoch milliseconds).
 *
 *   argv: <json WorkerBenchSettings>
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  closeRedis,
  connectRedis,
  JobConsumer,
  JobStore,
  RedisKeys,
  videoUrlFor,
  type JobDelivery,
} from '@zeus/core';
import type { Mp4Encoding } from '../../inference/src/video/ffmpeg-args.ts';
import { Mp4Writer } from '../../inference/src/video/mp4-writer.ts';
import { ProgressThrottle } from '../../inference/src/worker/progress-throttle.ts';
import { reportResult, runChildMain, send } from '../lib/child.ts';

export interface WorkerBenchSettings {
  readonly redisUrl: string;
  readonly prefix: string;
  readonly generatedDir: string;
  readonly framesPath: string;
  readonly decodeFps: number;
  readonly chunkFrames: number;
  readonly denoisingSteps: number;
  readonly stepMs: number;
  readonly encoding: Pick<Mp4Encoding, 'encoder' | 'crf' | 'preset' | 'tune'>;
}

/** When each thing happened, in epoch milliseconds (comparable across processes). */
export interface JobTimings {
  readonly jobId: string;
  readonly startedAt: number;
  readonly firstFrameAt: number;
  readonly lastFrameAt: number;
  /** `out.mp4` renamed into place: complete, synced, playable. */
  readonly mp4ReadyAt: number;
  /** The SUCCEEDED record stored and published. */
  readonly succeededAt: number;
  /** Milliseconds the producer waited on the writer (backpressure). */
  readonly backpressureMs: number;
}

const now = (): number => performance.timeOrigin + performance.now();

runChildMain(async () => {
  const settings = JSON.parse(process.argv[2] ?? '') as WorkerBenchSettings;
  const video = await readFile(settings.framesPath);
  const keys = new RedisKeys(settings.prefix);
  const redis = connectRedis(settings.redisUrl, { name: 'bench-worker', role: 'background' });
  const consumerConnection = connectRedis(settings.redisUrl, {
    name: 'bench-worker-consumer',
    role: 'background',
  });
  const store = new JobStore(redis, keys, { maxQueued: 1_000 });

  const runJob = async ({ jobId }: JobDelivery): Promise<void> => {
    const job = await store.update(jobId, {
      type: 'start',
      workerId: 'bench-worker',
      totalSteps: settings.denoisingSteps,
    });
    const startedAt = now();
    const { attempts: attempt } = job;
    const { width, height, frameRate, numFrames } = job.settings;
    const frameBytes = width * height * 3;
    if (video.byteLength < numFrames * frameBytes) throw new Error('Not enough frames on file.');
    const progress = new ProgressThrottle({
      intervalMs: 250,
      publish: async (update) => {
        await store.update(jobId, { type: 'progress', attempt, ...update });
      },
      onError: (error) => {
        throw error;
      },
    });
    const writer = await Mp4Writer.open({
      directory: join(settings.generatedDir, jobId),
      width,
      height,
      frameRate,
      expectedFrames: numFrames,
      ...settings.encoding,
    });
    for (let step = 1; step <= settings.denoisingSteps; step += 1) {
      await sleep(settings.stepMs);
      progress.offer({ stage: 'DENOISING', step });
    }
    progress.offer({ stage: 'DECODING', step: settings.denoisingSteps });
    const decodeStart = now();
    let firstFrameAt = 0;
    let backpressureMs = 0;
    for (let index = 0; index < numFrames; index += 1) {
      if (settings.decodeFps > 0 && index % settings.chunkFrames === 0) {
        const due = decodeStart + ((index + settings.chunkFrames) * 1000) / settings.decodeFps;
        const wait = due - now();
        if (wait > 0) await sleep(wait);
      }
      // A fresh frame, as it arrives from the model thread.
      const frame = new Uint8Array(video.subarray(index * frameBytes, (index + 1) * frameBytes));
      if (index === 0) firstFrameAt = now();
      const before = now();
      await writer.write(frame);
      backpressureMs += now() - before;
    }
    const lastFrameAt = now();
    progress.offer({ stage: 'SAVING', step: settings.denoisingSteps });
    await writer.finish();
    const mp4ReadyAt = now();
    await progress.flush();
    await store.update(jobId, { type: 'succeed', attempt, videoUrl: videoUrlFor(jobId) });
    const timings: JobTimings = {
      jobId,
      startedAt,
      firstFrameAt,
      lastFrameAt,
      mp4ReadyAt,
      succeededAt: now(),
      backpressureMs,
    };
    send({ type: 'job', timings });
  };

  const consumer = new JobConsumer(
    consumerConnection,
    keys,
    {
      process: runJob,
      onGaveUp: (jobId, reason) => {
        send({ type: 'error', message: `job ${jobId} failed: ${reason}` });
      },
      onStalled: () => undefined,
      onError: () => undefined,
    },
    { lockDurationMs: 30_000, maxStalledCount: 1 },
  );
  await consumer.ready();
  send({ type: 'ready' });
  await new Promise<void>((resolve) => {
    process.once('message', () => {
      resolve();
    });
  });
  await consumer.close();
  await Promise.all([closeRedis(redis), closeRedis(consumerConnection)]);
  reportResult({});
});
