import { describe, expect, it } from 'vitest';
import {
  conditionedTimestep,
  conditionInitialLatents,
  ConditioningError,
  denoise,
  firstFrameMask,
  firstFrameTokens,
  keepConditionedTokens,
  lerp,
  noiseConditionedTokens,
  noiseDraws,
  SeededNoise,
  type LatentShape,
  type NoiseRequest,
  type NoiseSource,
} from '../../src/sampler/index.ts';

const f32 = Math.fround;
/** Two latent frames of 2×3, 4 channels: frame 0 is tokens 0–5. */
const shape: LatentShape = { batch: 1, channels: 4, frames: 2, height: 2, width: 3 };
const N = 12;
const C = 4;

function ramp(count: number, start: number, step: number): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => start + step * i);
}

describe('first-frame conditioning (official prepare_conditioning / denoising_step)', () => {
  it('masks exactly the first latent frame with the strength', () => {
    const mask = firstFrameMask(shape, 1);
    expect(Array.from(mask)).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(firstFrameMask(shape, 0.5)).slice(5, 7)).toEqual([0.5, 0]);
    expect(() => firstFrameMask(shape, 0)).toThrow(ConditioningError);
    expect(() => firstFrameMask(shape, 1.5)).toThrow(ConditioningError);
  });

  it('places the image latents [1, C, 1, h, w] at the first frame tokens in [B, N, C] layout', () => {
    const image = ramp(C * 6, 0, 1); // value = c·6 + n
    const tokens = firstFrameTokens(image, shape);
    expect(tokens).toHaveLength(N * C);
    // token n, channel c ← image[c·6 + n]
    expect(tokens[2 * C + 3]).toBe(3 * 6 + 2);
    expect(Array.from(tokens.subarray(6 * C))).toEqual(new Array<number>(6 * C).fill(0));
    expect(() => firstFrameTokens(new Float32Array(5), shape)).toThrow(ConditioningError);
  });

  it('lerps like torch.lerp: strength 1 is exactly the image, free tokens stay noise', () => {
    expect(lerp(0.3, 0.7, 1)).toBe(f32(0.7));
    expect(lerp(-1.25, 2.5, 0.25)).toBe(f32(-1.25 + 0.25 * 3.75));
    const noise = ramp(N * C, -1, 0.01);
    const image = firstFrameTokens(ramp(C * 6, 5, 0.5), shape);
    const init = conditionInitialLatents(noise, {
      mask: firstFrameMask(shape, 1),
      latents: image,
      channels: C,
      noiseScale: 0.15,
    });
    expect(Array.from(init.subarray(0, 6 * C))).toEqual(Array.from(image.subarray(0, 6 * C)));
    expect(Array.from(init.subarray(6 * C))).toEqual(Array.from(noise.subarray(6 * C)));
  });

  it("adds noiseScale·ε·t² to the hard-conditioned tokens' initial values, nothing elsewhere", () => {
    const mask = firstFrameMask(shape, 1);
    const init = ramp(N * C, 0, 0.1);
    const current = ramp(N * C, 10, -0.1);
    const epsilon = ramp(N * C, 1, 0.5);
    const t = f32(0.725);
    const out = noiseConditionedTokens(init, current, epsilon, mask, C, 0.15, t);
    for (let i = 0; i < 6 * C; i++) {
      expect(out[i]).toBe(
        f32((init[i] ?? 0) + f32(f32(f32(0.15) * (epsilon[i] ?? 0)) * f32(t * t))),
      );
    }
    expect(Array.from(out.subarray(6 * C))).toEqual(Array.from(current.subarray(6 * C)));
    // Soft conditioning (strength < 1) is not re-noised.
    const soft = noiseConditionedTokens(
      init,
      current,
      epsilon,
      firstFrameMask(shape, 0.8),
      C,
      0.15,
      t,
    );
    expect(Array.from(soft)).toEqual(Array.from(current));
  });

  it('gives conditioned tokens timestep min(t, 1 − strength)', () => {
    expect(conditionedTimestep(0.9094, 1)).toBe(0);
    expect(conditionedTimestep(0.9094, 0.25)).toBe(f32(0.75));
    expect(conditionedTimestep(0.421875, 0.25)).toBe(0.421875);
  });

  it('keeps hard-conditioned tokens through a step, takes the step elsewhere', () => {
    const mask = firstFrameMask(shape, 1);
    const stepped = ramp(N * C, 100, 1);
    const previous = ramp(N * C, -100, 1);
    const out = keepConditionedTokens(stepped, previous, mask, C, 0.9875);
    expect(Array.from(out.subarray(0, 6 * C))).toEqual(Array.from(previous.subarray(0, 6 * C)));
    expect(Array.from(out.subarray(6 * C))).toEqual(Array.from(stepped.subarray(6 * C)));
    // A token of strength 0.25 is denoised once t drops below 0.75.
    const soft = firstFrameMask(shape, 0.25);
    expect(keepConditionedTokens(stepped, previous, soft, C, 0.9)[0]).toBe(previous[0]);
    expect(keepConditionedTokens(stepped, previous, soft, C, 0.7)[0]).toBe(stepped[0]);
  });
});

describe('denoise with a conditioned first frame', () => {
  const timesteps = Float32Array.of(1, 0.9094, 0.725, 0.421875);

  /** Records the draws asked for, from a seeded source. */
  class RecordingNoise implements NoiseSource {
    readonly requests: NoiseRequest[] = [];
    readonly values = new Map<string, Float32Array>();
    private readonly source = new SeededNoise(9);
    draw(request: NoiseRequest): Float32Array {
      this.requests.push(request);
      const values = this.source.draw(request);
      this.values.set(request.name, values);
      return values;
    }
  }

  it('re-noises, keeps and times the conditioned tokens as the official loop does', async () => {
    const noise = new RecordingNoise();
    const initial = noise.draw(noiseDraws.initial([1, N, C]));
    const image = firstFrameTokens(ramp(C * 6, 2, 0.25), shape);
    const mask = firstFrameMask(shape, 1);
    const seen: { timestep: number; conditioned: number | undefined; first: number }[] = [];
    const tokens = await denoise<null>({
      model: {
        velocity: (_conditioning, latents, timestep, conditioned) => {
          seen.push({ timestep, conditioned, first: latents[0] ?? Number.NaN });
          return Promise.resolve(Float32Array.from(latents, (value) => value * 0.5 + 0.1));
        },
      },
      conditioning: null,
      shape,
      timesteps,
      noise,
      initialLatents: initial,
      firstFrame: { mask, latents: image, channels: C, noiseScale: 0.15 },
    });
    // The transformer saw the conditioned tokens at timestep 0, the others at t.
    expect(seen.map((call) => call.conditioned)).toEqual([0, 0, 0, 0]);
    expect(seen.map((call) => call.timestep)).toEqual(Array.from(timesteps));
    // Draw order: initial, then per step the conditioning noise before the step noise.
    expect(noise.requests.map((request) => `${request.generator}:${request.name}`)).toEqual([
      'pipeline:initial',
      'pipeline:conditioning_0',
      'global:step_0',
      'pipeline:conditioning_1',
      'global:step_1',
      'pipeline:conditioning_2',
      'global:step_2',
      'pipeline:conditioning_3',
      'global:step_3',
    ]);
    // The input of each step's transformer call was image + 0.15·ε·t² at the first token.
    for (const [step, call] of seen.entries()) {
      const epsilon = noise.values.get(`conditioning_${step}`)?.[0] ?? Number.NaN;
      const t = timesteps[step] ?? 0;
      expect(call.first).toBe(f32((image[0] ?? 0) + f32(f32(f32(0.15) * epsilon) * f32(t * t))));
    }
    // The result keeps the last step's noised image on the first frame…
    const lastEpsilon = noise.values.get('conditioning_3') ?? new Float32Array();
    const t = f32(0.421875);
    for (let i = 0; i < 6 * C; i++) {
      expect(tokens[i]).toBe(
        f32((image[i] ?? 0) + f32(f32(f32(0.15) * (lastEpsilon[i] ?? 0)) * f32(t * t))),
      );
    }
    // …and the other frame went through the scheduler (to t = 0: x − t·v).
    expect(tokens[6 * C]).not.toBe(initial[6 * C]);
  });

  it('without conditioning draws and computes exactly what it did before', async () => {
    const run = (): Promise<Float32Array> =>
      denoise<null>({
        model: {
          velocity: (_c, latents) => Promise.resolve(Float32Array.from(latents, (v) => v * 0.3)),
        },
        conditioning: null,
        shape,
        timesteps,
        noise: new SeededNoise(4),
      });
    const noise = new SeededNoise(4);
    const initial = noise.draw(noiseDraws.initial([1, N, C]));
    const explicit = await denoise<null>({
      model: {
        velocity: (_c, latents) => Promise.resolve(Float32Array.from(latents, (v) => v * 0.3)),
      },
      conditioning: null,
      shape,
      timesteps,
      noise,
      initialLatents: initial,
    });
    expect(Array.from(explicit)).toEqual(Array.from(await run()));
  });
});
