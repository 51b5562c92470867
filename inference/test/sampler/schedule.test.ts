import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxAbsDiff } from '../../src/parity/compare.ts';
import { Reference } from '../../src/parity/reference.ts';
import {
  linearQuadraticSchedule,
  samplingTimesteps,
  ScheduleError,
} from '../../src/sampler/schedule.ts';
import { eulerStep, nextTimestep, stochasticStep } from '../../src/sampler/euler.ts';
import { GOLDEN_DIR } from '../ltx-golden.ts';

let reference: Reference;
beforeAll(async () => {
  reference = await Reference.open(GOLDEN_DIR);
});
afterAll(async () => {
  await reference.close();
});

const distilled = { sampler: 'LinearQuadratic', shifting: null, numTrainTimesteps: 1000 };

describe('LinearQuadratic schedule', () => {
  it.each([1, 4, 20])('equals the reference for %i steps', async (steps) => {
    const expected = await reference.float32(`scheduler.linear_quadratic_${steps}`);
    expect(Array.from(linearQuadraticSchedule(steps))).toEqual(Array.from(expected));
  });

  it('gives the run timesteps, all allowed by the checkpoint', async () => {
    const expected = await reference.float32('scheduler.timesteps');
    const allowed = reference.manifest.run['allowed_inference_steps'] as number[];
    const timesteps = samplingTimesteps(distilled, expected.length, allowed);
    expect(Array.from(timesteps)).toEqual(Array.from(expected));
  });

  it('refuses schedules the checkpoint does not allow, and other samplers', () => {
    const allowed = [1.0, 0.9937, 0.9875, 0.9812, 0.975, 0.9094, 0.725, 0.4219];
    expect(() => samplingTimesteps(distilled, 6, allowed)).toThrow(/does not allow/);
    expect(() => samplingTimesteps({ ...distilled, sampler: 'Uniform' }, 8)).toThrow(ScheduleError);
    expect(() => samplingTimesteps({ ...distilled, shifting: 'SD3' }, 8)).toThrow(/shifting/);
    expect(() => linearQuadraticSchedule(0)).toThrow(ScheduleError);
  });
});

describe('Euler steps', () => {
  async function stepInputs(prefix: string) {
    return {
      sample: await reference.float32('scheduler.step.sample'),
      velocity: await reference.float32('scheduler.step.model_output'),
      timestep: (await reference.float32(`${prefix}.timestep`))[0]!,
      schedule: await reference.float32('scheduler.timesteps'),
    };
  }

  it('finds the next lower timestep, and 0 after the last', () => {
    const schedule = linearQuadraticSchedule(8);
    expect(nextTimestep(schedule, schedule[3]!)).toBe(schedule[4]);
    expect(nextTimestep(schedule, schedule[7]!)).toBe(0);
    expect(nextTimestep(schedule, 1)).toBe(schedule[1]);
  });

  it('matches the reference deterministic step', async () => {
    const input = await stepInputs('scheduler.step');
    const expected = await reference.float32('scheduler.step.prev_sample_deterministic');
    expect(maxAbsDiff(eulerStep(input), expected)).toBeLessThanOrEqual(1e-6);
  });

  it('matches the reference stochastic step with the recorded noise', async () => {
    const input = await stepInputs('scheduler.step');
    const noise = await reference.float32('scheduler.step.noise');
    const expected = await reference.float32('scheduler.step.prev_sample_stochastic');
    expect(maxAbsDiff(stochasticStep({ ...input, noise }), expected)).toBeLessThanOrEqual(1e-6);
  });

  it('matches the reference last step, where the next timestep is 0', async () => {
    const input = await stepInputs('scheduler.step_last');
    const expected = await reference.float32('scheduler.step_last.prev_sample_deterministic');
    expect(maxAbsDiff(eulerStep(input), expected)).toBeLessThanOrEqual(1e-6);
    // Stochastic at the last step: the noise is multiplied by t_next = 0.
    const noise = new Float32Array(input.sample.length).fill(1e3);
    expect(maxAbsDiff(stochasticStep({ ...input, noise }), expected)).toBeLessThanOrEqual(1e-6);
  });

  it('rejects inputs of different sizes', () => {
    const input = {
      sample: new Float32Array(4),
      velocity: new Float32Array(3),
      timestep: 1,
      schedule: [1],
    };
    expect(() => eulerStep(input)).toThrow(/Velocity has 3 values/);
    expect(() =>
      stochasticStep({ ...input, velocity: new Float32Array(4), noise: new Float32Array(2) }),
    ).toThrow(/Noise has 2 values/);
  });
});
