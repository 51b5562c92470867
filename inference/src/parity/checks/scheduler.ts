/**
 * Scheduler parity: the distilled schedule built from the reference checkpoint's scheduler
 * config (checked against its allowed_inference_steps), LinearQuadratic(n) for every n the
 * reference records, the three recorded Euler steps, and the latent coordinates.
 */
import { LtxCheckpoint } from '@zeus/models';
import {
  eulerStep,
  fractionalCoordinates,
  latentCoordinates,
  linearQuadraticSchedule,
  samplingTimesteps,
  stochasticStep,
  type LatentShape,
} from '../../sampler/index.ts';
import { maxAbsDiff } from '../compare.ts';
import type { Reference } from '../reference.ts';
import { tolerance as toleranceFor } from '../tolerances.ts';
import type { ParityCheck, ParityResult, ParityTarget } from '../types.ts';

export const schedulerCheck: ParityCheck = {
  component: 'scheduler',
  async run(reference: Reference, target: ParityTarget): Promise<ParityResult[]> {
    const tolerance = toleranceFor(reference, target, 'scheduler.*');
    const checkpoint = await LtxCheckpoint.open(reference.checkpointPath);
    const { scheduler, allowedInferenceSteps } = checkpoint.config;
    await checkpoint.close();
    const results: ParityResult[] = [];
    const compare = async (name: string, actual: ArrayLike<number>): Promise<void> => {
      results.push({
        name,
        maxAbsError: maxAbsDiff(actual, await reference.float32(name)),
        tolerance,
      });
    };

    const steps = reference.shape('scheduler.timesteps')[0] ?? 0;
    const timesteps = samplingTimesteps(scheduler, steps, allowedInferenceSteps);
    await compare('scheduler.timesteps', timesteps);
    if (reference.has('scheduler.sigmas')) await compare('scheduler.sigmas', timesteps);
    for (const { name } of reference.manifest.tensors) {
      const match = /^scheduler\.linear_quadratic_(\d+)$/.exec(name);
      if (match !== null) await compare(name, linearQuadraticSchedule(Number(match[1])));
    }

    const sample = await reference.float32('scheduler.step.sample');
    const velocity = await reference.float32('scheduler.step.model_output');
    const step = {
      sample,
      velocity,
      timestep: (await reference.float32('scheduler.step.timestep'))[0] ?? NaN,
      schedule: timesteps,
    };
    await compare('scheduler.step.prev_sample_deterministic', eulerStep(step));
    await compare(
      'scheduler.step.prev_sample_stochastic',
      stochasticStep({ ...step, noise: await reference.float32('scheduler.step.noise') }),
    );
    const last = {
      ...step,
      timestep: (await reference.float32('scheduler.step_last.timestep'))[0] ?? NaN,
    };
    await compare('scheduler.step_last.prev_sample_deterministic', eulerStep(last));

    // Latent geometry: integer coordinates exact, fractional ones to the scheduler tolerance.
    const [batch = 1, channels = 0, frames = 0, height = 0, width = 0] =
      reference.manifest.run.latent_shape;
    const shape: LatentShape = { batch, channels, frames, height, width };
    if (reference.has('pipeline.latent_coords')) {
      const expected = await reference.int64('pipeline.latent_coords');
      const actual = latentCoordinates(shape);
      results.push({
        name: 'pipeline.latent_coords',
        maxAbsError: maxAbsDiff(Array.from(actual, Number), Array.from(expected, Number)),
        tolerance: 0,
      });
    }
    if (reference.has('pipeline.fractional_coords')) {
      await compare(
        'pipeline.fractional_coords',
        fractionalCoordinates(shape, reference.manifest.run.frame_rate),
      );
    }
    return results;
  },
};
