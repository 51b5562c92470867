import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildVaeDecoderGraphs,
  buildVaeDecoderOnnx,
  convertVaeDecoder,
  parseVaeConfig,
  randomVaeWeights,
  SeededRandom,
} from '@zeus/models';
import { TINY_STREAM_VAE_CONFIG } from '@zeus/models/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaeDecodeError, type LatentVideo } from '../../src/ltx/vae-decode-io.ts';
import { VaeDecoder, type DecodedVideo } from '../../src/ltx/vae-decoder.ts';
import { maxAbsDiff } from '../../src/parity/compare.ts';
import { vaeCheck } from '../../src/parity/checks/vae.ts';
import { Reference } from '../../src/parity/reference.ts';
import { CPU_FP32, passed } from '../../src/parity/types.ts';
import { GOLDEN_DIR } from '../ltx-golden.ts';

const dirs: string[] = [];
let reference: Reference;
let decoder: VaeDecoder;

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'zeus-vae-test-'));
  dirs.push(dir);
  return dir;
}

beforeAll(async () => {
  reference = await Reference.open(GOLDEN_DIR);
  const dir = await tempDir();
  await buildVaeDecoderOnnx(reference.checkpointPath, dir, {
    dtype: 'float32',
    floatOutputs: true,
  });
  decoder = await VaeDecoder.load(dir, { device: 'cpu', intraOpThreads: 1 });
});
afterAll(async () => {
  await decoder.release();
  await reference.close();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Deterministic pseudo-random values in [−2, 2) (latents and noise of any size). */
function randomLatents(shape: readonly number[], seed: number): LatentVideo {
  const random = new SeededRandom(seed);
  const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () =>
    random.between(-2, 2),
  );
  return { data, shape };
}

/** Largest 8-bit difference and how many values differ. */
function frameDifference(a: Uint8Array, b: Uint8Array): { largest: number; differing: number } {
  expect(a.length).toBe(b.length);
  let largest = 0;
  let differing = 0;
  for (let i = 0; i < a.length; i++) {
    const diff = Math.abs((a[i] ?? 0) - (b[i] ?? 0));
    if (diff > 0) differing++;
    largest = Math.max(largest, diff);
  }
  return { largest, differing };
}

async function collect(
  target: VaeDecoder,
  latents: LatentVideo,
  noise: LatentVideo,
  chunkFrames: number,
): Promise<{ video: DecodedVideo; batches: { start: number; count: number }[] }> {
  const batches: { start: number; count: number }[] = [];
  for await (const batch of target.decodeFrames(latents, noise, { chunkFrames })) {
    expect(batch.frames.length).toBe(batch.count * batch.height * batch.width * 3);
    batches.push({ start: batch.start, count: batch.count });
  }
  return { video: await target.decode(latents, noise, { chunkFrames }), batches };
}

describe('VAE decoder parity (golden reference set, fp32)', () => {
  it('matches vae_decode.*, the float video and the 8-bit frames within the manifest tolerances', async () => {
    const results = await vaeCheck.run(reference, CPU_FP32);
    expect(results.map((result) => result.name)).toEqual(
      expect.arrayContaining([
        'vae_decode.output',
        'vae_decode.debug.conv_in_out',
        'vae_decode.debug.up_block_6_out',
        'vae_decode.debug.conv_norm_out_out',
        'vae_decode.latents_unnormalized',
        'pipeline.video_float',
        'pipeline.video_uint8',
      ]),
    );
    for (const result of results) {
      expect(passed(result), `${result.name}: ${result.maxAbsError} ${result.note ?? ''}`).toBe(
        true,
      );
    }
    const output = results.find((result) => result.name === 'vae_decode.output');
    expect(output?.tolerance).toBe(reference.tolerance('vae_decode.*', 0));
    const frames = results.find((result) => result.name === 'pipeline.video_uint8');
    expect(frames?.maxAbsError).toBeLessThanOrEqual(1);
  });
});

describe('chunked decoding', () => {
  it('gives the one-pass result when the chunks really split the video', async () => {
    // 8 latent frames: 57 video frames, enough for the stream to split on the golden widths.
    const shape = [1, 128, 8, 2, 3];
    const latents = randomLatents(shape, 1);
    const noise = randomLatents(shape, 2);
    const onePass = await decoder.decode(latents, noise);
    expect(onePass.count).toBe(57);
    expect(decoder.plan(8)).toHaveLength(1);
    for (const chunkFrames of [1, 9]) {
      const plan = decoder.plan(8, { chunkFrames });
      expect(plan.length).toBeGreaterThan(1);
      const { video, batches } = await collect(decoder, latents, noise, chunkFrames);
      expect(batches.map((batch) => batch.count)).toEqual(plan.map((call) => call.outputFrames));
      expect(batches.map((batch) => batch.start)).toEqual(
        batches.map((_, index) => batches.slice(0, index).reduce((sum, b) => sum + b.count, 0)),
      );
      expect(video.count).toBe(onePass.count);
      // Convolutions over fewer frames may sum in another order: float rounding only.
      expect(maxAbsDiff(video.decoded ?? [], onePass.decoded ?? [])).toBeLessThan(1e-5);
      const { largest, differing } = frameDifference(video.frames, onePass.frames);
      expect(largest).toBeLessThanOrEqual(1);
      expect(differing / onePass.frames.length).toBeLessThan(1e-3);
    }
  });

  it('streams other upsampler kinds too (time-only and space-only depth-to-space)', async () => {
    const config = parseVaeConfig(TINY_STREAM_VAE_CONFIG);
    const graphs = buildVaeDecoderGraphs(config, randomVaeWeights(7), {
      dtype: 'float32',
      floatOutputs: true,
    });
    const random = await VaeDecoder.load(
      {
        first: await graphs.first.toBytes(),
        next: await graphs.next.toBytes(),
        layout: graphs.layout,
        dtype: 'float32',
        timestepScaleMultiplier: 1000,
      },
      { device: 'cpu', intraOpThreads: 1 },
    );
    try {
      const shape = [1, 8, 12, 3, 2];
      const latents = randomLatents(shape, 3);
      const noise = randomLatents(shape, 4);
      const onePass = await random.decode(latents, noise);
      expect(onePass.count).toBe(2 * 12 - 1);
      expect([onePass.height, onePass.width]).toEqual([3 * 2 * 2, 2 * 2 * 2]);
      expect(random.plan(12, { chunkFrames: 2 }).length).toBeGreaterThan(2);
      const { video } = await collect(random, latents, noise, 2);
      expect(maxAbsDiff(video.decoded ?? [], onePass.decoded ?? [])).toBeLessThan(1e-5);
    } finally {
      await random.release();
    }
  });
});

describe('spatial tiles', () => {
  // 6 × 7 latent cells (192 × 224 pixels) in 4-cell tiles sharing 2: 2 × 3 tiles.
  const shape = [1, 128, 3, 6, 7];
  const tiling = { cells: 4, overlap: 2 };

  /** PSNR of 8-bit frames against a reference, in dB. */
  function psnr(frames: Uint8Array, reference: Uint8Array): number {
    let squared = 0;
    for (let i = 0; i < reference.length; i++) {
      squared += ((frames[i] ?? 0) - (reference[i] ?? 0)) ** 2;
    }
    return 10 * Math.log10(255 ** 2 / (squared / reference.length));
  }

  it('decodes a frame larger than a tile as blended tiles, nearer the whole frame as tiles grow', async () => {
    // 12 × 12 cells (384 pixels square): 5 × 5 small tiles, then 2 × 2 large ones.
    const square = [1, 128, 2, 12, 12];
    const latents = randomLatents(square, 11);
    const noise = randomLatents(square, 12);
    const whole = await decoder.decode(latents, noise);
    const small = await decoder.decode(latents, noise, { tiling });
    const large = await decoder.decode(latents, noise, { tiling: { cells: 8, overlap: 4 } });
    for (const tiled of [small, large]) {
      expect([tiled.count, tiled.height, tiled.width]).toEqual([whole.count, 384, 384]);
      expect(tiled.frames).toHaveLength(whole.frames.length);
      // No float outputs from tiles.
      expect(tiled.decoded).toBeUndefined();
    }
    // Tiles lack their neighbours' context near their edges, which the blend hides: not the
    // same frames, but close, and closer with more context (figures printed for the record;
    // the golden weights are random, so a real model's seams are not these).
    const smallPsnr = psnr(small.frames, whole.frames);
    const largePsnr = psnr(large.frames, whole.frames);
    console.log(
      `tiled vs whole VAE decode, golden tiny weights, 384x384: 4-cell tiles ${smallPsnr.toFixed(1)} dB, ` +
        `8-cell tiles ${largePsnr.toFixed(1)} dB`,
    );
    expect(smallPsnr).toBeGreaterThan(20);
    expect(largePsnr).toBeGreaterThan(smallPsnr + 5);
  });

  it('streams tiles in time as it streams whole frames', async () => {
    const longShape = [1, 128, 8, 6, 7];
    const latents = randomLatents(longShape, 13);
    const noise = randomLatents(longShape, 14);
    const onePass = await decoder.decode(latents, noise, { tiling });
    const batches: number[] = [];
    for await (const batch of decoder.decodeFrames(latents, noise, { tiling, chunkFrames: 9 })) {
      expect([batch.height, batch.width]).toEqual([192, 224]);
      expect(batch.start).toBe(batches.reduce((sum, count) => sum + count, 0));
      batches.push(batch.count);
    }
    expect(batches).toEqual(decoder.plan(8, { chunkFrames: 9 }).map((call) => call.outputFrames));
    expect(batches.length).toBeGreaterThan(1);
    const streamed = await decoder.decode(latents, noise, { tiling, chunkFrames: 9 });
    expect(streamed.count).toBe(onePass.count);
    const { largest } = frameDifference(streamed.frames, onePass.frames);
    expect(largest).toBeLessThanOrEqual(1);
  });

  it('decodes a frame that fits in one tile exactly as without tiles', async () => {
    const latents = randomLatents(shape, 15);
    const noise = randomLatents(shape, 16);
    const whole = await decoder.decode(latents, noise);
    const oneTile = await decoder.decode(latents, noise, { tiling: { cells: 8, overlap: 2 } });
    expect(Buffer.from(oneTile.frames).equals(Buffer.from(whole.frames))).toBe(true);
  });
});

describe('fp16 weights', () => {
  it('converts once through the cache and stays close to the reference', async () => {
    const cacheRoot = await tempDir();
    const events: string[] = [];
    const converted = await convertVaeDecoder({
      checkpointPath: reference.checkpointPath,
      cacheRoot,
      dtype: 'float16',
      onProgress: (event) => events.push(event.kind),
    });
    expect(converted.fromCache).toBe(false);
    expect(events).toContain('writing');
    expect(await readdir(converted.dir)).toEqual(
      expect.arrayContaining(['model.onnx', 'next.onnx', 'vae-decoder.json']),
    );
    const again = await convertVaeDecoder({
      checkpointPath: reference.checkpointPath,
      cacheRoot,
      dtype: 'float16',
    });
    expect(again.fromCache).toBe(true);
    expect(again.dir).toBe(converted.dir);

    const fp16 = await VaeDecoder.load(converted.dir, { device: 'cpu', intraOpThreads: 1 });
    try {
      const latents = await latentVideo('pipeline.final_latents');
      const noise = await latentVideo('pipeline.noise.decode');
      const video = await fp16.decode(latents, noise, {
        noiseScale: (await reference.float32('vae_decode.decode_noise_scale'))[0] ?? NaN,
        timestep: (await reference.float32('vae_decode.timestep'))[0] ?? NaN,
      });
      const { largest, differing } = frameDifference(
        video.frames,
        await reference.uint8('pipeline.video_uint8'),
      );
      expect(largest).toBeLessThanOrEqual(2);
      expect(differing / video.frames.length).toBeLessThan(0.05);
    } finally {
      await fp16.release();
    }
  });
});

describe('input checks', () => {
  it('refuses latents and noise that do not match', async () => {
    const latents = randomLatents([1, 128, 3, 2, 3], 5);
    const run = (noise: LatentVideo): Promise<DecodedVideo> => decoder.decode(latents, noise);
    await expect(run(randomLatents([1, 128, 3, 2, 2], 6))).rejects.toThrow(VaeDecodeError);
    await expect(run(randomLatents([1, 128, 3, 2, 2], 6))).rejects.toThrow(/does not match/);
    await expect(
      decoder.decode({ data: latents.data, shape: [128, 3, 2, 3] }, latents),
    ).rejects.toThrow(/\[1, channels, frames, height, width\]/);
  });
});

async function latentVideo(name: string): Promise<LatentVideo> {
  return { data: await reference.float32(name), shape: reference.shape(name) };
}
