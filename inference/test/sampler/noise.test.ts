import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reference } from '../../src/parity/reference.ts';
import {
  gaussian,
  noiseDraws,
  NoiseError,
  philox4x32,
  ReplayNoise,
  SeededNoise,
} from '../../src/sampler/noise.ts';
import { GOLDEN_DIR } from '../ltx-golden.ts';

let reference: Reference;
beforeAll(async () => {
  reference = await Reference.open(GOLDEN_DIR);
});
afterAll(async () => {
  await reference.close();
});

function hex(words: Uint32Array): string[] {
  return Array.from(words, (word) => word.toString(16).padStart(8, '0'));
}

describe('Philox4x32-10', () => {
  it('reproduces the Random123 known-answer vectors', () => {
    const out = new Uint32Array(4);
    philox4x32(0, 0, 0, 0, 0, 0, out);
    expect(hex(out)).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
    const ones = 0xffffffff;
    philox4x32(ones, ones, ones, ones, ones, ones, out);
    expect(hex(out)).toEqual(['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']);
    philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, out);
    expect(hex(out)).toEqual(['d16cfe09', '94fdcceb', '5001e420', '24126ea1']);
  });
});

describe('SeededNoise', () => {
  it('is a standard normal sample', () => {
    const values = gaussian(42, 0, 0, 1 << 20);
    let sum = 0;
    let squares = 0;
    let beyond3 = 0;
    for (const value of values) {
      sum += value;
      squares += value * value;
      if (Math.abs(value) > 3) beyond3++;
    }
    const mean = sum / values.length;
    const variance = squares / values.length - mean * mean;
    // 2^20 draws: the standard error of the mean is 1e-3, of the variance 1.4e-3.
    expect(Math.abs(mean)).toBeLessThan(5e-3);
    expect(Math.abs(variance - 1)).toBeLessThan(7e-3);
    // P(|z| > 3) = 0.0027.
    expect(beyond3 / values.length).toBeGreaterThan(0.0023);
    expect(beyond3 / values.length).toBeLessThan(0.0031);
  });

  it('is deterministic, seed-dependent, and the same however it is split', () => {
    const whole = gaussian(7, 0, 0, 103);
    expect(Array.from(gaussian(7, 0, 0, 103))).toEqual(Array.from(whole));
    expect(Array.from(gaussian(8, 0, 0, 103))).not.toEqual(Array.from(whole));
    expect(Array.from(gaussian(7, 1, 0, 103))).not.toEqual(Array.from(whole));
    const pieces = [...gaussian(7, 0, 0, 5), ...gaussian(7, 0, 5, 2), ...gaussian(7, 0, 7, 96)];
    expect(pieces).toEqual(Array.from(whole));
    expect(() => new SeededNoise(-1)).toThrow(NoiseError);
    expect(() => new SeededNoise(1.5)).toThrow(NoiseError);
  });

  it('draws like the reference pipeline: step 0 repeats the initial noise', () => {
    const shape = [1, 18, 128];
    const noise = new SeededNoise(171198);
    const initial = noise.draw(noiseDraws.initial(shape));
    const step0 = noise.draw(noiseDraws.step(0, shape));
    const step1 = noise.draw(noiseDraws.step(1, shape));
    expect(Array.from(step0)).toEqual(Array.from(initial));
    expect(Array.from(step1)).not.toEqual(Array.from(initial));
    expect(Array.from(step1)).toEqual(Array.from(gaussian(171198, 0, 18 * 128, 18 * 128)));
  });

  it('has the same structure in the reference draws', async () => {
    expect(Array.from(await reference.float32('pipeline.noise.step_0'))).toEqual(
      Array.from(await reference.float32('pipeline.noise.initial')),
    );
  });
});

describe('ReplayNoise', () => {
  it("returns the reference's draws in rng_draw_order and checks each request", async () => {
    const order = reference.manifest.run.rng_draw_order;
    const draws = await Promise.all(
      order.map(async (draw) => ({
        name: draw.name.replace(/^pipeline\.noise\./, ''),
        shape: draw.shape,
        values: await reference.float32(draw.name),
      })),
    );
    const replay = new ReplayNoise(draws);
    const tokens = order[0]!.shape;
    expect(replay.draw(noiseDraws.initial(tokens))).toBe(draws[0]!.values);
    expect(() => replay.draw(noiseDraws.step(1, tokens))).toThrow(/recorded as "step_0"/);
    for (let step = 0; step < order.length - 2; step++) {
      expect(replay.draw(noiseDraws.step(step, tokens))).toBe(draws[step + 1]!.values);
    }
    expect(() => replay.draw(noiseDraws.decode([1, 2]))).toThrow(NoiseError);
    replay.draw(noiseDraws.decode(order.at(-1)!.shape));
    expect(replay.remaining).toBe(0);
    expect(() => replay.draw(noiseDraws.decode(order.at(-1)!.shape))).toThrow(/No recorded/);
  });
});
