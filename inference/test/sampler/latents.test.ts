import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reference } from '../../src/parity/reference.ts';
import {
  fractionalCoordinates,
  latentCoordinates,
  latentShapeOf,
  LatentGeometryError,
  packLatents,
  tokenCount,
  unpackLatents,
} from '../../src/sampler/latents.ts';
import { GOLDEN_DIR } from '../ltx-golden.ts';

let reference: Reference;
beforeAll(async () => {
  reference = await Reference.open(GOLDEN_DIR);
});
afterAll(async () => {
  await reference.close();
});

function goldenShape() {
  const { width, height, num_frames: frames } = reference.manifest.run;
  return latentShapeOf({ width, height, frames });
}

describe('latent geometry', () => {
  it('derives the reference latent grid from the video size', () => {
    const shape = goldenShape();
    const [batch, channels, frames, height, width] = reference.manifest.run.latent_shape;
    expect(shape).toEqual({ batch, channels, frames, height, width });
    expect(tokenCount(shape)).toBe(reference.manifest.run.num_tokens);
    expect(latentShapeOf({ width: 768, height: 512, frames: 121 })).toMatchObject({
      frames: 16,
      height: 16,
      width: 24,
    });
    expect(() => latentShapeOf({ width: 100, height: 64, frames: 9 })).toThrow(LatentGeometryError);
    expect(() => latentShapeOf({ width: 96, height: 64, frames: 10 })).toThrow(/8k \+ 1/);
  });

  it('gives the reference latent and fractional coordinates', async () => {
    const shape = goldenShape();
    expect(Array.from(latentCoordinates(shape))).toEqual(
      Array.from(await reference.int64('pipeline.latent_coords')),
    );
    const fractional = fractionalCoordinates(shape, reference.manifest.run.frame_rate);
    expect(Array.from(fractional)).toEqual(
      Array.from(await reference.float32('pipeline.fractional_coords')),
    );
    expect(Array.from(fractional)).toEqual(
      Array.from(await reference.float32('transformer.indices_grid')),
    );
  });

  it('uses the float32 reciprocal of the frame rate and the causal first frame', () => {
    const shape = { batch: 1, channels: 1, frames: 3, height: 1, width: 1 };
    const grid = fractionalCoordinates(shape, 30);
    const reciprocal = Math.fround(1 / 30);
    expect(Array.from(grid.slice(0, 3))).toEqual([
      0,
      Math.fround(1 * reciprocal),
      Math.fround(9 * reciprocal),
    ]);
    const plain = fractionalCoordinates(shape, 30, { causalTemporalPositioning: false });
    expect(plain[1]).toBe(Math.fround(8 * reciprocal));
  });

  it('packs [B, C, F, H, W] into tokens frame-major and back', async () => {
    const shape = { batch: 2, channels: 3, frames: 2, height: 2, width: 3 };
    const n = tokenCount(shape);
    const latents = Float32Array.from({ length: 2 * 3 * n }, (_, i) => i);
    const tokens = packLatents(latents, shape);
    // Token (f=1, h=0, w=2) of batch 1, channel 2.
    const token = (1 * 2 + 0) * 3 + 2;
    expect(tokens[(1 * n + token) * 3 + 2]).toBe(latents[(1 * 3 + 2) * n + token]);
    expect(Array.from(unpackLatents(tokens, shape))).toEqual(Array.from(latents));
    // The reference's final latents are the last step's tokens, unpacked.
    const golden = goldenShape();
    const lastTokens = await reference.float32('pipeline.step_7.latents_out');
    expect(Array.from(unpackLatents(lastTokens, golden))).toEqual(
      Array.from(await reference.float32('pipeline.final_latents')),
    );
    expect(() => packLatents(new Float32Array(5), shape)).toThrow(LatentGeometryError);
  });
});
