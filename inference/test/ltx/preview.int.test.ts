/**
 * Live previews: the projection fitted on the tiny-random model's own VAE (deterministic, and
 * much closer to the decoder's output than an untrained projection on videos it was not fitted
 * on), its cache, and the per-step picture.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  convertVaeDecoder,
  convertVaeEncoder,
  ensureModelFiles,
  modelSpec,
  type ModelFiles,
} from '@zeus/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectPreview, previewFrame, previewSize } from '../../src/ltx/preview.ts';
import {
  blockMeans,
  cachedPreviewProjection,
  collectPreviewSamples,
  fitPreviewProjection,
  fitProjection,
  projectionError,
  syntheticVideo,
  type PreviewSamples,
} from '../../src/ltx/preview-fit.ts';
import { VaeDecoder } from '../../src/ltx/vae-decoder.ts';
import { VaeEncoder } from '../../src/ltx/vae-encoder.ts';
import { gaussian } from '../../src/sampler/noise.ts';

let dir: string;
let files: ModelFiles;
let encoder: VaeEncoder;
let decoder: VaeDecoder;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zeus-preview-'));
  files = await ensureModelFiles(modelSpec('tiny-random'), join(dir, 'tiny-random'));
  const options = {
    checkpointPath: files.checkpoint,
    cacheRoot: files.onnxDir,
    dtype: 'float32',
  } as const;
  encoder = await VaeEncoder.load((await convertVaeEncoder(options)).dir, { device: 'cpu' });
  decoder = await VaeDecoder.load((await convertVaeDecoder(options)).dir, { device: 'cpu' });
});
afterAll(async () => {
  await Promise.all([encoder.release(), decoder.release()]);
  await rm(dir, { recursive: true, force: true });
});

describe('the preview projection fit', () => {
  it('is fitted once, deterministically, kept in the conversion cache, and beats an untrained projection on videos it never saw', async () => {
    const options = {
      checkpointPath: files.checkpoint,
      cacheRoot: files.onnxDir,
      dtype: 'float32' as const,
      encoder,
      decoder,
    };
    const events: string[] = [];
    const cached = await cachedPreviewProjection({
      ...options,
      onProgress: (event) => events.push(event.kind),
    });
    expect(events).toContain('writing');
    expect(cached.samples).toBe(16 * 2 * 6 * 6);
    // Fitted again from scratch: the same numbers (the cached file keeps them exactly).
    const refit = await fitPreviewProjection(encoder, decoder);
    expect(Array.from(refit.projection.weights)).toEqual(Array.from(cached.projection.weights));
    expect(Array.from(refit.projection.bias)).toEqual(Array.from(cached.projection.bias));
    // Read back from the cache, nothing fitted or written.
    const again = await cachedPreviewProjection({
      ...options,
      onProgress: (event) => events.push(`again:${event.kind}`),
    });
    expect(events.filter((kind) => kind === 'again:writing')).toEqual([]);
    expect(Array.from(again.projection.weights)).toEqual(Array.from(cached.projection.weights));
    expect(
      (await readdir(files.onnxDir)).filter((name) => name.startsWith('ltx-preview-')),
    ).toHaveLength(1);

    // Videos the fit never saw: the decoder's own block colours against three projections.
    const heldOut = await collectPreviewSamples(encoder, decoder, { first: 100, count: 3 });
    const fitted = projectionError(cached.projection, heldOut);
    const channels = cached.projection.channels;
    const mean = [0, 0, 0];
    for (let s = 0; s < heldOut.count; s++) {
      for (let k = 0; k < 3; k++) mean[k] = (mean[k] ?? 0) + (heldOut.targets[s * 3 + k] ?? 0);
    }
    // The best constant colour (in hindsight: the held-out mean) and a random projection.
    const constant = projectionError(
      {
        channels,
        weights: new Float32Array(3 * channels),
        bias: Float32Array.from(mean, (sum) => sum / heldOut.count),
      },
      heldOut,
    );
    const random = projectionError(
      {
        channels,
        weights: gaussian(3, 0, 0, 3 * channels).map((value) => value / Math.sqrt(channels) / 4),
        bias: Float32Array.of(0.5, 0.5, 0.5),
      },
      heldOut,
    );
    console.log(
      `preview fit: held-out MSE ${fitted.toExponential(3)}, best constant ${constant.toExponential(3)}, ` +
        `random ${random.toExponential(3)}; fitting MSE ${cached.fittedMse.toExponential(3)} ` +
        `(constant ${cached.constantMse.toExponential(3)})`,
    );
    // Untrained (random) projection: thousands of times worse. The best constant colour is a
    // hard baseline on random weights, whose decoded block colours hardly vary (σ ≈ 1/255):
    // the fit still beats it on videos it never saw.
    expect(fitted).toBeLessThan(0.01 * random);
    expect(fitted).toBeLessThan(constant);
  });

  it('averages each latent cell over its pixels and frames', () => {
    // 9 frames of 64×32 decoded from 2×2×1 latents: frame 0 alone, then frames 1–8.
    const video = { frames: 9, height: 64, width: 32 };
    const frames = new Uint8Array(9 * 64 * 32 * 3);
    for (let t = 0; t < 9; t++) {
      for (let y = 0; y < 64; y++) {
        for (let x = 0; x < 32; x++)
          frames[((t * 64 + y) * 32 + x) * 3] = t === 0 ? 255 : y < 32 ? 51 : 102;
      }
    }
    const means = blockMeans(frames, video, { frames: 2, height: 2, width: 1 }, 8);
    expect(Array.from(means.filter((_, i) => i % 3 === 0))).toEqual([1, 1, 0.2, 0.4]);
  });

  it('fits an exactly linear relation exactly', () => {
    const channels = 4;
    const count = 50;
    const inputs = Float64Array.from(gaussian(5, 0, 0, count * channels));
    const targets = new Float64Array(count * 3);
    for (let s = 0; s < count; s++) {
      for (let k = 0; k < 3; k++) {
        targets[s * 3 + k] =
          0.1 * k + 0.3 * (inputs[s * channels + k] ?? 0) - 0.2 * (inputs[s * channels + 3] ?? 0);
      }
    }
    const samples: PreviewSamples = { channels, count, inputs, targets };
    const fit = fitProjection(samples, 0);
    expect(fit.fittedMse).toBeLessThan(1e-12);
    expect(fit.projection.weights[1 * channels + 1]).toBeCloseTo(0.3, 6);
    expect(fit.projection.bias[2]).toBeCloseTo(0.2, 6);
  });

  it('makes different synthetic videos in [−1, 1]', () => {
    const a = syntheticVideo(0, 2, 32);
    const b = syntheticVideo(1, 2, 32);
    expect(a).toHaveLength(3 * 2 * 32 * 32);
    expect(a.every((value) => value >= -1 && value <= 1)).toBe(true);
    expect(Array.from(a)).not.toEqual(Array.from(b));
    expect(Array.from(syntheticVideo(0, 2, 32))).toEqual(Array.from(a));
  });
});

describe('the per-step preview picture', () => {
  it('projects x̂₀ = x − t·v of the middle latent frame, one pixel per cell', () => {
    const shape = { batch: 1, channels: 2, frames: 3, height: 2, width: 3 };
    const tokens = 18;
    // red = x̂₀[0], green = x̂₀[1], blue = 0.5.
    const projection = {
      channels: 2,
      weights: Float32Array.of(1, 0, 0, 1, 0, 0),
      bias: Float32Array.of(0, 0, 0.5),
    };
    const latents = new Float32Array(tokens * 2).fill(0.9);
    const velocity = new Float32Array(tokens * 2).fill(0.5);
    const middle = previewFrame(shape) * 6;
    latents[middle * 2] = 2; // → x̂₀ = 2 − 0.5·0.5, clamped to 1
    const preview = projectPreview(projection, shape, latents, velocity, 0.5, 3);
    expect(preview).toMatchObject({ step: 3, width: 3, height: 2 });
    expect(Array.from(preview.rgb.subarray(0, 6))).toEqual([255, 166, 128, 166, 166, 128]);
  });

  it('is at most 512 pixels on the long side, in the video aspect', () => {
    expect(previewSize({ width: 768, height: 512 })).toEqual({ width: 512, height: 341 });
    expect(previewSize({ width: 256, height: 384 })).toEqual({ width: 256, height: 384 });
    expect(previewSize({ width: 1280, height: 1280 })).toEqual({ width: 512, height: 512 });
  });
});
