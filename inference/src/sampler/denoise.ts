/**
 * The distilled sampling loop (PIPELINE_FACTS §6, steps 2–4): initial noise in token layout,
 * then per timestep one velocity prediction and one Euler step. The model is anything that
 * predicts velocities (the ONNX transformer in production), so this file stays pure.
 */
import { eulerStep, stochasticStep } from './euler.ts';
import { tokenCount, type LatentShape } from './latents.ts';
import { noiseDraws, type NoiseSource } from './noise.ts';

/** Predicts the velocity [B, N, C] of latent tokens at a timestep. */
export interface VelocityModel<Conditioning> {
  velocity(
    conditioning: Conditioning,
    latents: Float32Array,
    timestep: number,
  ): Promise<Float32Array>;
}

export interface DenoiseOptions<Conditioning> {
  readonly model: VelocityModel<Conditioning>;
  /** Inputs constant over the run (text, positions), as the model wants them. */
  readonly conditioning: Conditioning;
  readonly shape: LatentShape;
  /** From samplingTimesteps(). */
  readonly timesteps: Float32Array;
  /** SeededNoise for generation, ReplayNoise to follow a recorded run. */
  readonly noise: NoiseSource;
  /** Stochastic steps (the distilled model's setting, default) or deterministic Euler. */
  readonly stochastic?: boolean;
  /** Called after each step with the new latent tokens (e.g. for progress or previews). */
  readonly onStep?: (step: number, steps: number, latents: Float32Array) => void;
  /** Checked before each step. */
  readonly signal?: AbortSignal;
}

/** Runs the loop and returns the final latent tokens [B, N, C] (unpackLatents() them). */
export async function denoise<Conditioning>(
  options: DenoiseOptions<Conditioning>,
): Promise<Float32Array> {
  const { shape, timesteps, noise } = options;
  const tokens = [shape.batch, tokenCount(shape), shape.channels];
  let latents = noise.draw(noiseDraws.initial(tokens));
  for (const [step, timestep] of timesteps.entries()) {
    options.signal?.throwIfAborted();
    const velocity = await options.model.velocity(options.conditioning, latents, timestep);
    const input = { sample: latents, velocity, timestep, schedule: timesteps };
    latents =
      options.stochastic === false
        ? eulerStep(input)
        : stochasticStep({ ...input, noise: noise.draw(noiseDraws.step(step, tokens)) });
    options.onStep?.(step, timesteps.length, latents);
  }
  return latents;
}
