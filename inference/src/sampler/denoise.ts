/**
 * The distilled sampling loop (docs/model/pipeline.md §6.2): initial noise in token layout,
 * then per timestep one velocity prediction and one Euler step. The model is anything that
 * predicts velocities (the ONNX transformer in production), so this file stays pure.
 */
import {
  conditionedTimestep,
  conditioningStrength,
  conditionInitialLatents,
  keepConditionedTokens,
  noiseConditionedTokens,
  type FirstFrameConditioning,
} from './conditioning.ts';
import { eulerStep, stochasticStep } from './euler.ts';
import { tokenCount, type LatentShape } from './latents.ts';
import { drawAhead, noiseDraws, type NoiseSource } from './noise.ts';

/**
 * Predicts the velocity [B, N, C] of latent tokens at a timestep (conditioned tokens, if any,
 * at `conditionedTimestep`).
 */
export interface VelocityModel<Conditioning> {
  velocity(
    conditioning: Conditioning,
    latents: Float32Array,
    timestep: number,
    conditionedTimestep?: number,
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
  /**
   * The initial latents [B, N, C], already drawn (`noiseDraws.initial`); default: drawn here.
   * Image-to-video draws them first so that the encoder's posterior draw follows, as in the
   * official pipeline.
   */
  readonly initialLatents?: Float32Array;
  /** Image-to-video: the first latent frame conditioned on an image (see conditioning.ts). */
  readonly firstFrame?: FirstFrameConditioning;
}

/** Runs the loop and returns the final latent tokens [B, N, C] (unpackLatents() them). */
export async function denoise<Conditioning>(
  options: DenoiseOptions<Conditioning>,
): Promise<Float32Array> {
  const { shape, timesteps, noise } = options;
  const tokens = [shape.batch, tokenCount(shape), shape.channels];
  let latents = options.initialLatents ?? noise.draw(noiseDraws.initial(tokens));
  const first = options.firstFrame;
  const init = first === undefined ? undefined : conditionInitialLatents(latents, first);
  if (init !== undefined) latents = init;
  const strength = first === undefined ? 0 : conditioningStrength(first.mask);
  for (const [step, timestep] of timesteps.entries()) {
    options.signal?.throwIfAborted();
    if (first !== undefined && init !== undefined && first.noiseScale > 0) {
      const fresh = noise.draw(noiseDraws.conditioning(step, tokens));
      latents = noiseConditionedTokens(
        init,
        latents,
        fresh,
        first.mask,
        first.channels,
        first.noiseScale,
        timestep,
      );
    }
    // The step's noise is drawn in the same order as ever, its values computed while the
    // model runs where the source can (SeededNoise with a helper thread).
    const stepNoise =
      options.stochastic === false ? undefined : drawAhead(noise, noiseDraws.step(step, tokens));
    stepNoise?.catch(() => undefined); // awaited below; a failed run must not leave it unhandled
    const velocity =
      first === undefined
        ? await options.model.velocity(options.conditioning, latents, timestep)
        : await options.model.velocity(
            options.conditioning,
            latents,
            timestep,
            conditionedTimestep(timestep, strength),
          );
    const input = { sample: latents, velocity, timestep, schedule: timesteps };
    const stepped =
      stepNoise === undefined
        ? eulerStep(input)
        : stochasticStep({ ...input, noise: await stepNoise });
    latents =
      first === undefined
        ? stepped
        : keepConditionedTokens(stepped, latents, first.mask, first.channels, timestep);
    options.onStep?.(step, timesteps.length, latents);
  }
  return latents;
}
