import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipelineCheck } from '../../src/parity/checks/pipeline.ts';
import { schedulerCheck } from '../../src/parity/checks/scheduler.ts';
import { transformerCheck } from '../../src/parity/checks/transformer.ts';
import { Reference } from '../../src/parity/reference.ts';
import { passed } from '../../src/parity/types.ts';
import { GOLDEN_DIR } from '../ltx-golden.ts';

let reference: Reference;
beforeAll(async () => {
  reference = await Reference.open(GOLDEN_DIR);
});
afterAll(async () => {
  await reference.close();
});

describe('parity with the official implementation (golden reference set)', () => {
  it('scheduler: timesteps, schedules, steps and coordinates within tolerance', async () => {
    const results = await schedulerCheck.run(reference);
    const names = results.map((result) => result.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'scheduler.timesteps',
        'scheduler.linear_quadratic_20',
        'scheduler.step.prev_sample_stochastic',
        'scheduler.step_last.prev_sample_deterministic',
      ]),
    );
    for (const result of results) {
      expect(result.tolerance, result.name).toBeLessThanOrEqual(1e-6);
      expect(passed(result), `${result.name}: ${result.maxAbsError}`).toBe(true);
    }
  });

  it('transformer: output and intermediates within 1e-4 in fp32', async () => {
    const results = await transformerCheck.run(reference);
    const fp32 = results.filter((result) => !result.name.endsWith('(fp16)'));
    expect(fp32.map((result) => result.name)).toEqual(
      expect.arrayContaining([
        'transformer.output',
        'transformer.debug.rope_cos',
        'transformer.debug.block_0_out',
        'transformer.debug.norm_out_out',
      ]),
    );
    for (const result of fp32) {
      expect(result.tolerance, result.name).toBeLessThanOrEqual(1e-4);
      expect(result.maxAbsError, result.name).toBeLessThanOrEqual(result.tolerance);
    }
    const fp16 = results.find((result) => result.name === 'transformer.output (fp16)');
    expect(fp16?.maxAbsError).toBeLessThan(1e-2);
  });

  it("pipeline: the worker's LtxPipeline replayed with the recorded noise follows every step to the frames", async () => {
    const results = await pipelineCheck.run(reference);
    const byName = new Map(results.map((result) => [result.name, result]));
    const steps = reference.manifest.run.timesteps.length;
    for (let step = 0; step < steps; step++) {
      for (const tensor of ['latents_in', 'noise_pred', 'latents_out']) {
        const result = byName.get(`pipeline.step_${step}.${tensor}`);
        expect(result, `step ${step} ${tensor}`).toBeDefined();
        expect(result?.tolerance).toBeLessThanOrEqual(1e-3);
      }
    }
    expect(byName.get('pipeline.final_latents')?.tolerance).toBeLessThanOrEqual(1e-3);
    expect(byName.get('pipeline.video_float')?.tolerance).toBeLessThanOrEqual(2e-3);
    const frames = byName.get('pipeline.video_uint8');
    expect(frames?.maxAbsError).toBeLessThanOrEqual(1);
    const exact = Number(/([\d.]+) % of pixels exact/.exec(frames?.note ?? '')?.[1]);
    expect(exact).toBeGreaterThanOrEqual(99);
    expect(results.filter((result) => !passed(result))).toEqual([]);
  });
});
