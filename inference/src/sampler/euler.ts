/**
 * Rectified-flow Euler steps (docs/model/pipeline.md §4.2), in float32 arithmetic operation by
 * operation like the reference (every product and sum rounded to float32), so that one step
 * agrees with it to the last bit or so.
 */
import { ScheduleError } from './schedule.ts';

const f32 = Math.fround;

/** The reference's tolerance when looking for the next lower timestep. */
const NEXT_TIMESTEP_MARGIN = f32(1e-6);

/**
 * The timestep after `t`: the largest schedule value strictly below t − 1e−6 (float32), or 0
 * when there is none (the reference pads the schedule with a trailing 0).
 */
export function nextTimestep(schedule: ArrayLike<number>, t: number): number {
  const limit = f32(f32(t) - NEXT_TIMESTEP_MARGIN);
  let next = 0;
  for (let i = 0; i < schedule.length; i++) {
    const value = schedule[i] ?? 0;
    if (value < limit && value > next) next = value;
  }
  return next;
}

export interface StepInput {
  /** Latents x at timestep t, any layout (usually tokens [B, N, C]). */
  readonly sample: Float32Array;
  /** Velocity v predicted by the transformer for `sample`, same layout. */
  readonly velocity: Float32Array;
  /** Current timestep t ∈ (0, 1]. */
  readonly timestep: number;
  /** The run's timesteps, to find the next one. */
  readonly schedule: ArrayLike<number>;
}

/** Deterministic Euler step: x' = x − (t − t_next)·v. */
export function eulerStep(input: StepInput): Float32Array {
  checkLengths(input);
  const t = f32(input.timestep);
  const dt = f32(t - nextTimestep(input.schedule, t));
  const { sample, velocity } = input;
  const out = new Float32Array(sample.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = f32((sample[i] ?? 0) - f32(dt * (velocity[i] ?? 0)));
  }
  return out;
}

/**
 * Stochastic step (the distilled model's sampler): predict x̂₀ = x − t·v, then re-noise it to
 * the next timestep with fresh Gaussian `noise` ε: x' = (1 − t_next)·x̂₀ + t_next·ε. The
 * reference draws ε even at the last step, where t_next = 0 multiplies it away.
 */
export function stochasticStep(input: StepInput & { readonly noise: Float32Array }): Float32Array {
  checkLengths(input);
  if (input.noise.length !== input.sample.length) {
    throw new ScheduleError(
      `Noise has ${input.noise.length} values, the sample ${input.sample.length}`,
    );
  }
  const t = f32(input.timestep);
  // The reference forms t_next as t − (t − t_next); exact for these schedules, kept for parity.
  const next = f32(t - f32(t - nextTimestep(input.schedule, t)));
  const keep = f32(1 - next);
  const { sample, velocity, noise } = input;
  const out = new Float32Array(sample.length);
  for (let i = 0; i < out.length; i++) {
    const denoised = f32((sample[i] ?? 0) - f32(t * (velocity[i] ?? 0)));
    out[i] = f32(f32(keep * denoised) + f32(next * (noise[i] ?? 0)));
  }
  return out;
}

function checkLengths(input: StepInput): void {
  if (input.velocity.length !== input.sample.length) {
    throw new ScheduleError(
      `Velocity has ${input.velocity.length} values, the sample ${input.sample.length}`,
    );
  }
}
