/**
 * The distilled model's timestep schedule (docs/model/pipeline.md §4.1): `LinearQuadratic`, no
 * resolution shift. Timesteps and sigmas are the same numbers for this rectified-flow scheduler.
 */

/** The scheduler part of the checkpoint's embedded config (what the sampler reads of it). */
export interface SamplerSchedulerConfig {
  /** Only 'LinearQuadratic' is implemented (the 0.9.6-distilled checkpoint's). */
  readonly sampler: string;
  /** Resolution-dependent shift; must be null (absent) for the distilled model. */
  readonly shifting: string | null;
  /** Caps the number of steps. */
  readonly numTrainTimesteps: number;
}

export class ScheduleError extends Error {
  override readonly name = 'ScheduleError';
}

/** Noise level where the linear part of the schedule hands over to the quadratic part. */
const THRESHOLD_NOISE = 0.025;

/**
 * LinearQuadratic(n): n timesteps from 1 down, the first ⌊n/2⌋ linear to 1 − 0.025, the rest
 * on a parabola. Computed in float64 like the reference, returned as float32.
 */
export function linearQuadraticSchedule(steps: number): Float32Array {
  if (!Number.isInteger(steps) || steps < 1) {
    throw new ScheduleError(`The number of steps must be a positive integer, got ${steps}`);
  }
  if (steps === 1) return Float32Array.of(1);
  const linearSteps = Math.floor(steps / 2);
  const quadraticSteps = steps - linearSteps;
  const stepDiff = linearSteps - THRESHOLD_NOISE * steps;
  const quadraticCoef = stepDiff / (linearSteps * quadraticSteps ** 2);
  const linearCoef = THRESHOLD_NOISE / linearSteps - (2 * stepDiff) / quadraticSteps ** 2;
  const constant = quadraticCoef * linearSteps ** 2;
  const timesteps = new Float32Array(steps);
  for (let i = 0; i < steps; i++) {
    const sigma =
      i < linearSteps
        ? (i * THRESHOLD_NOISE) / linearSteps
        : quadraticCoef * i ** 2 + linearCoef * i + constant;
    timesteps[i] = 1 - sigma;
  }
  return timesteps;
}

/**
 * The timesteps a sampling run uses: the checkpoint's scheduler with `steps` steps, each
 * checked (rounded to 4 decimals, as the reference pipeline asserts) against the checkpoint's
 * `allowed_inference_steps` when the checkpoint lists them.
 */
export function samplingTimesteps(
  config: SamplerSchedulerConfig,
  steps: number,
  allowed?: readonly number[],
): Float32Array {
  if (config.sampler !== 'LinearQuadratic') {
    throw new ScheduleError(
      `Scheduler sampler "${config.sampler}" is not supported (only LinearQuadratic)`,
    );
  }
  if (config.shifting !== null) {
    throw new ScheduleError(`Scheduler shifting "${config.shifting}" is not supported`);
  }
  if (steps > config.numTrainTimesteps) {
    throw new ScheduleError(
      `${steps} steps exceed the scheduler's ${config.numTrainTimesteps} training timesteps`,
    );
  }
  const timesteps = linearQuadraticSchedule(steps);
  if (allowed !== undefined) {
    const allowedRounded = new Set(allowed.map(round4));
    const refused = Array.from(timesteps).filter((t) => !allowedRounded.has(round4(t)));
    if (refused.length > 0) {
      throw new ScheduleError(
        `${steps} steps give timesteps ${refused.map((t) => t.toFixed(4)).join(', ')} that the ` +
          `checkpoint does not allow (allowed: ${allowed.join(', ')})`,
      );
    }
  }
  return timesteps;
}

/** Rounds like Python's round(x, 4) on the float32 value, as a comparable number. */
function round4(value: number): number {
  return Math.round(value * 1e4);
}
