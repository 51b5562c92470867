/**
 * The worker on a GPU execution provider, end to end: the whole stack (Caddy, the API servers,
 * Redis, BullMQ) with one worker running tiny-random on ONNX Runtime's WebGPU provider
 * (`ZEUS_DEVICE=webgpu`; Dawn on SwiftShader's Vulkan driver, so no GPU is needed). A job goes
 * through the queue, publishes every step and its previews, and lands as an MP4 whose frames
 * are compared with the same job run on the CPU provider.
 *
 * What the comparison can expect: WebGPU in fp32 gives the CPU's 8-bit frames to within one
 * level on 0.01 % of pixels (docs/PARITY.md, "8-bit frames"), far above 60 dB on its own. The
 * CPU's frames are therefore written through the worker's own MP4 encoder (Mp4Writer, x264 with
 * the same settings): the two MP4s then differ only by what x264 makes of those few pixels, and
 * must agree to well above 50 dB. The same CPU frames against the decoded MP4 without encoding
 * measure the codec's loss (> 35 dB, as the image-to-video test asks of the CPU worker); the
 * CPU run of another seed must fail that bar, which shows what a wrong video scores. Measured
 * here: the two MP4s identical (∞ dB: the frames were), 38.7 dB against the CPU's raw frames,
 * 26.0 dB against another seed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GenerationSettings } from '@zeus/core';
import { ensureModelFiles, modelSpec } from '@zeus/models';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../deploy/local-stack.ts';
import { LtxPipeline } from '../../inference/src/ltx/pipeline.ts';
import { Mp4Writer } from '../../inference/src/video/mp4-writer.ts';
import { decodeYuv, psnr, rgbToYuv } from '../helpers/frames.ts';
import { graphqlRequest, webSocketClient } from '../helpers/graphql.ts';
import { swiftShaderEnv } from '../helpers/swiftshader.ts';
import { startTinyStack } from '../helpers/tiny-stack.ts';
import { probeVideo } from '../helpers/video.ts';

const SETTINGS: GenerationSettings = {
  prompt: 'a paper boat drifting down a rainy street',
  negativePrompt: '',
  width: 96,
  height: 64,
  numFrames: 17,
  frameRate: 8,
  seed: 31,
};

let stack: LocalStack;
let dir: string;
/** The CPU run's frames of SETTINGS, and of the next seed. */
let cpu: Uint8Array[];
let cpuOtherSeed: Uint8Array[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zeus-e2e-webgpu-'));
  // The CPU run first, in this process, on the worker's model folder. Loading it also fits the
  // live-preview projection, which is cached per checkpoint and precision whatever the device
  // (preview-fit.ts): fitting it on SwiftShader would take minutes; the worker reuses it.
  const videos = await cpuFrames([SETTINGS, { ...SETTINGS, seed: SETTINGS.seed + 1 }]);
  cpu = videos[0] ?? [];
  cpuOtherSeed = videos[1] ?? [];
  ({ stack } = await startTinyStack(
    'e2e-webgpu',
    {
      ZEUS_DEVICE: 'webgpu',
      // The worker's process reaches SwiftShader through these (throws if it is not installed).
      ...swiftShaderEnv(),
      // The tiny model's steps are short: publish every one.
      ZEUS_PROGRESS_INTERVAL_MS: '0',
    },
    dir,
  ));
}, 240_000);
afterAll(async () => {
  await stack.stop();
  await rm(dir, { recursive: true, force: true });
});

const FIELDS = 'id status stage step totalSteps videoUrl previewUrl error { code message }';

interface Watched {
  readonly id: string;
  readonly status: string;
  readonly stage: string;
  readonly step: number;
  readonly totalSteps: number;
  readonly videoUrl: string | null;
  readonly previewUrl: string | null;
  readonly error: { readonly code: string; readonly message: string } | null;
}

/** Every state `jobUpdated` sends until the job is over. */
async function follow(jobId: string): Promise<Watched[]> {
  const socket = webSocketClient(stack.webSocketUrl);
  const updates: Watched[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      socket.client.subscribe<{ jobUpdated: Watched }>(
        {
          query: `subscription ($id: ID!) { jobUpdated(id: $id) { ${FIELDS} } }`,
          variables: { id: jobId },
        },
        {
          next: (result) => {
            if (result.data == null) reject(new Error(JSON.stringify(result.errors)));
            else updates.push(result.data.jobUpdated);
          },
          error: (error: unknown) => {
            reject(new Error(JSON.stringify(error)));
          },
          complete: resolve,
        },
      );
    });
  } finally {
    void socket.client.dispose();
    await socket.closed;
  }
  return updates;
}

/** The jobs' 8-bit frames from LtxPipeline on the CPU, with the worker's model files. */
async function cpuFrames(jobs: readonly GenerationSettings[]): Promise<Uint8Array[][]> {
  const files = await ensureModelFiles(
    modelSpec('tiny-random'),
    join(dir, 'models', 'tiny-random'),
  );
  const pipeline = new LtxPipeline({ name: 'tiny-random', files, device: 'cpu' });
  await pipeline.load();
  const videos: Uint8Array[][] = [];
  try {
    for (const settings of jobs) {
      const frames: Uint8Array[] = [];
      await pipeline.generate(settings, {
        onProgress: () => undefined,
        frames: {
          write: (frame) => {
            frames.push(frame);
            return Promise.resolve();
          },
        },
        signal: new AbortController().signal,
      });
      videos.push(frames);
    }
  } finally {
    await pipeline.dispose();
  }
  return videos;
}

/** Frames written to an MP4 by the worker's encoder (Mp4Writer, x264), decoded back. */
async function throughEncoder(frames: readonly Uint8Array[], name: string): Promise<Uint8Array> {
  const directory = join(dir, name);
  const writer = await Mp4Writer.open({
    directory,
    width: SETTINGS.width,
    height: SETTINGS.height,
    frameRate: SETTINGS.frameRate,
    expectedFrames: frames.length,
  });
  for (const frame of frames) await writer.write(frame);
  await writer.finish();
  return decodeYuv(writer.path);
}

describe('a worker with ZEUS_DEVICE=webgpu', () => {
  it('runs every model on webgpu, as the workers query says', async () => {
    const response = await graphqlRequest<{
      workers: {
        device: string;
        ready: boolean;
        models: { component: string; provider: string; precision: string }[];
        deviceNotices: string[];
      }[];
    }>(
      stack.graphqlUrl,
      '{ workers { device ready models { component provider precision } deviceNotices } }',
    );
    expect(response.errors).toBeUndefined();
    const [worker] = response.data?.workers ?? [];
    expect(worker?.ready).toBe(true);
    expect(worker?.device).toBe('webgpu');
    expect(worker?.models.map((model) => model.component).sort()).toEqual([
      'VAE decoder',
      'VAE encoder',
      'text encoder',
      'transformer',
    ]);
    // SwiftShader has no float16 shaders: fp32, and the log and the query say why.
    for (const model of worker?.models ?? []) {
      expect(model).toMatchObject({ provider: 'webgpu', precision: 'fp32' });
    }
    expect(worker?.deviceNotices.join('\n')).toMatch(/fp32 instead of fp16/);
  });

  it('takes a job through the queue to an MP4 whose frames match the CPU run', async () => {
    const submitted = await graphqlRequest<{ submitPrompt: Watched }>(
      stack.graphqlUrl,
      `mutation ($input: PromptInput!) { submitPrompt(input: $input) { ${FIELDS} } }`,
      {
        input: {
          prompt: SETTINGS.prompt,
          width: SETTINGS.width,
          height: SETTINGS.height,
          numFrames: SETTINGS.numFrames,
          frameRate: SETTINGS.frameRate,
          seed: SETTINGS.seed,
        },
      },
    );
    expect(submitted.errors).toBeUndefined();
    const jobId = submitted.data?.submitPrompt.id ?? '';
    expect(jobId).not.toBe('');
    const jobs = await follow(jobId);
    const last = jobs.at(-1);
    expect(last?.status, JSON.stringify(last?.error)).toBe('SUCCEEDED');

    // Progress: every denoising step, in order; previews served by Caddy as JPEGs.
    const steps = [
      ...new Set(jobs.filter((job) => job.stage === 'DENOISING').map((job) => job.step)),
    ];
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(steps.at(-1)).toBe(last?.totalSteps);
    const previews = [...new Set(jobs.flatMap((job) => job.previewUrl ?? []))];
    expect(previews.length).toBeGreaterThanOrEqual(1);
    const preview = await fetch(`${stack.url}${previews.at(-1) ?? ''}`);
    expect(preview.status).toBe(200);
    expect(await sharp(Buffer.from(await preview.arrayBuffer())).metadata()).toMatchObject({
      format: 'jpeg',
      width: SETTINGS.width,
      height: SETTINGS.height,
    });

    // The MP4, as users download it.
    const mp4 = await fetch(`${stack.url}${last?.videoUrl ?? ''}`);
    expect(mp4.status).toBe(200);
    const video = join(dir, 'webgpu.mp4');
    await writeFile(video, new Uint8Array(await mp4.arrayBuffer()));
    expect(await probeVideo(video)).toMatchObject({
      codec: 'h264',
      width: SETTINGS.width,
      height: SETTINGS.height,
      frames: SETTINGS.numFrames,
    });
    const webgpu = await decodeYuv(video);

    // The CPU run of the same job, and of another seed.
    expect(cpu.length).toBe(SETTINGS.numFrames);
    const encodedCpu = await throughEncoder(cpu, 'cpu-encoded');
    const rawCpu = await rgbToYuv(cpu, SETTINGS.width, SETTINGS.height);
    const otherSeed = await rgbToYuv(cpuOtherSeed, SETTINGS.width, SETTINGS.height);
    const bothEncoded = psnr(webgpu, encodedCpu);
    const codec = psnr(webgpu, rawCpu);
    const wrong = psnr(webgpu, otherSeed);
    console.log(
      `webgpu worker vs CPU: both through x264 ${bothEncoded.toFixed(1)} dB, against the ` +
        `CPU's raw frames ${codec.toFixed(1)} dB; against the CPU run of another seed ` +
        `${wrong.toFixed(1)} dB`,
    );
    expect(bothEncoded).toBeGreaterThan(50);
    expect(codec).toBeGreaterThan(35);
    expect(wrong).toBeLessThan(35);
  });
});
