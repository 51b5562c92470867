/**
 * The VAE encoder graph against an independent plain-TypeScript encoder written from the official
 * sources (naive-vae-encoder.ts), on the golden reference checkpoint and the tiny-random model:
 * posterior mean, log-variance and normalised latents (with a posterior draw) within 1e-4 in fp32 (measured up to 1.2e-5, on latents up to about 10).
 * The golden reference set has no encoder vectors; vae-encoder-official.int.test.ts checks the graph
 * against vectors made with the official ltx_video code (test/fixtures/vae-encoder-reference/),
 * and `npm run parity` compares `vae_encode.*` vectors when a reference set has them. This test
 * adds the tiny-random model, other sizes, causality, fp16 and input validation.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildVaeEncoderOnnx, ensureModelFiles, modelSpec } from '@zeus/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaeEncodeError, VaeEncoder } from '../../src/ltx/vae-encoder.ts';
import { maxAbsDiff } from '../../src/parity/compare.ts';
import { gaussian } from '../../src/sampler/noise.ts';
import { GOLDEN_DIR } from '../ltx-golden.ts';
import { naiveVaeEncode } from './naive-vae-encoder.ts';

const TOLERANCE = 1e-4;
const dirs: string[] = [];
let tinyCheckpoint: string;
const goldenCheckpoint = join(GOLDEN_DIR, 'checkpoint.safetensors');

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'zeus-vae-encoder-'));
  dirs.push(dir);
  return dir;
}

async function encoderFor(checkpoint: string, dtype: 'float32' | 'float16'): Promise<VaeEncoder> {
  const dir = await tempDir();
  await buildVaeEncoderOnnx(checkpoint, dir, { dtype });
  return VaeEncoder.load(dir, { device: 'cpu', intraOpThreads: 1 });
}

/** A smooth colour field in [−1, 1] with some texture: frames drift slowly. */
function smoothVideo(frames: number, height: number, width: number, seed: number): Float32Array {
  const out = new Float32Array(3 * frames * height * width);
  const jitter = gaussian(seed, 1, 0, out.length);
  for (let c = 0; c < 3; c++) {
    for (let f = 0; f < frames; f++) {
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const i = ((c * frames + f) * height + y) * width + x;
          const wave = Math.sin((x + 3 * f) / (7 + 3 * c) + seed) * Math.cos(y / (9 - c));
          out[i] = Math.max(-1, Math.min(1, 0.8 * wave + 0.05 * (jitter[i] ?? 0)));
        }
      }
    }
  }
  return out;
}

beforeAll(async () => {
  const dir = await tempDir();
  const files = await ensureModelFiles(modelSpec('tiny-random'), join(dir, 'tiny-random'));
  tinyCheckpoint = files.checkpoint;
});
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe.each([
  ['the golden reference checkpoint', () => goldenCheckpoint],
  ['the tiny-random model', () => tinyCheckpoint],
])('VAE encoder graph on %s', (_name, checkpoint) => {
  let encoder: VaeEncoder;
  beforeAll(async () => {
    encoder = await encoderFor(checkpoint(), 'float32');
  });
  afterAll(async () => {
    await encoder.release();
  });

  it.each([
    ['one image (the image-to-video case)', 1, 64, 96],
    ['a 9-frame video', 9, 64, 64],
  ])(
    'matches the independent implementation on %s within 1e-4',
    async (_case, frames, height, width) => {
      const shape = [1, 3, frames, height, width];
      const video = smoothVideo(frames, height, width, frames);
      const latentShape = encoder.latentShape(shape);
      const noise = gaussian(
        7,
        0,
        0,
        latentShape.reduce((a, b) => a * b, 1),
      );
      const ours = await encoder.encode({ data: video, shape }, noise);
      const naive = await naiveVaeEncode(checkpoint(), video, shape, noise);
      expect(ours.shape).toEqual(naive.shape);
      expect(ours.shape).toEqual([1, 128, (frames - 1) / 8 + 1, height / 32, width / 32]);
      const errors = {
        mean: maxAbsDiff(ours.mean, naive.mean),
        logvar: maxAbsDiff(ours.logvar, naive.logvar),
        latents: maxAbsDiff(ours.latents, naive.latents),
      };
      expect(errors.mean).toBeLessThan(TOLERANCE);
      expect(errors.logvar).toBeLessThan(TOLERANCE);
      expect(errors.latents).toBeLessThan(TOLERANCE);
      // Something to compare: the latents are neither zero nor constant.
      expect(Math.max(...ours.latents.map(Math.abs))).toBeGreaterThan(0.1);
    },
  );

  it('is causal: the first latent frame of a video is the encoding of its first frame alone', async () => {
    const video = smoothVideo(9, 64, 64, 3);
    const first = video.filter((_, i) => Math.floor(i / (64 * 64)) % 9 === 0);
    const whole = await encoder.encode({ data: video, shape: [1, 3, 9, 64, 64] });
    const alone = await encoder.encode({ data: first, shape: [1, 3, 1, 64, 64] });
    const plane = 2 * 2;
    const firstFrame = new Float32Array(128 * plane);
    for (let c = 0; c < 128; c++) {
      firstFrame.set(whole.mean.subarray(c * 2 * plane, c * 2 * plane + plane), c * plane);
    }
    expect(maxAbsDiff(firstFrame, alone.mean)).toBeLessThan(1e-5);
  });

  it('with zero noise gives the normalised posterior mean', async () => {
    const video = smoothVideo(1, 32, 64, 5);
    const mean = await encoder.encode({ data: video, shape: [1, 3, 1, 32, 64] });
    const naive = await naiveVaeEncode(checkpoint(), video, [1, 3, 1, 32, 64]);
    expect(maxAbsDiff(mean.latents, naive.latents)).toBeLessThan(TOLERANCE);
  });
});

describe('VAE encoder graph', () => {
  it('in fp16 stays close to fp32 (informative bound)', async () => {
    const fp32 = await encoderFor(goldenCheckpoint, 'float32');
    const fp16 = await encoderFor(goldenCheckpoint, 'float16');
    try {
      const video = { data: smoothVideo(1, 64, 96, 2), shape: [1, 3, 1, 64, 96] };
      const a = await fp32.encode(video);
      const b = await fp16.encode(video);
      expect(maxAbsDiff(a.latents, b.latents)).toBeLessThan(0.05);
    } finally {
      await Promise.all([fp32.release(), fp16.release()]);
    }
  });

  it('refuses sizes the VAE cannot encode, naming the rule', async () => {
    const encoder = await encoderFor(goldenCheckpoint, 'float32');
    try {
      for (const shape of [
        [1, 3, 2, 64, 64],
        [1, 3, 1, 40, 64],
        [1, 4, 1, 64, 64],
      ]) {
        const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
        await expect(encoder.encode({ data, shape })).rejects.toThrow(VaeEncodeError);
      }
    } finally {
      await encoder.release();
    }
  });
});
