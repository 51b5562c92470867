import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTransformerGraph, LtxCheckpoint } from '@zeus/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LtxTransformer } from '../../src/ltx/transformer.ts';
import { maxAbsDiff } from '../../src/parity/compare.ts';
import { Reference } from '../../src/parity/reference.ts';
import {
  fractionalCoordinates,
  latentShapeOf,
  denoise,
  ReplayNoise,
  samplingTimesteps,
  unpackLatents,
} from '../../src/sampler/index.ts';
import { GOLDEN_DIR } from '../ltx-golden.ts';

let reference: Reference;
let dir: string;
beforeAll(async () => {
  reference = await Reference.open(GOLDEN_DIR);
  dir = await mkdtemp(join(tmpdir(), 'zeus-sampling-'));
});
afterAll(async () => {
  await reference.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the distilled sampling loop (transformer + sampler) with replayed noise', () => {
  it("follows the reference's eight steps to its final latents", async () => {
    const checkpoint = await LtxCheckpoint.open(reference.checkpointPath);
    const { transformer: config, scheduler, allowedInferenceSteps } = checkpoint.config;
    const modelPath = join(dir, 'model.onnx');
    await buildTransformerGraph(config, (name) => checkpoint.readTransformerFloat32(name), {
      dtype: 'float32',
    }).save(modelPath);
    await checkpoint.close();
    const transformer = await LtxTransformer.load(modelPath, config, { device: 'cpu' });

    const { run } = reference.manifest;
    const shape = latentShapeOf({ width: run.width, height: run.height, frames: run.num_frames });
    const noise = new ReplayNoise(
      await Promise.all(
        run.rng_draw_order.map(async (draw) => ({
          name: draw.name.replace(/^pipeline\.noise\./, ''),
          shape: draw.shape,
          values: await reference.float32(draw.name),
        })),
      ),
    );
    const timesteps = samplingTimesteps(scheduler, run.timesteps.length, allowedInferenceSteps);
    const [, textTokens = 0] = reference.shape('transformer.encoder_hidden_states');
    const conditioning = transformer.condition({
      textEmbeddings: await reference.float32('transformer.encoder_hidden_states'),
      textMask: await reference.int64('pipeline.prompt_attention_mask'),
      textTokens,
      grid: fractionalCoordinates(shape, run.frame_rate),
    });

    // Every step against the reference's, through the loop's per-step callback.
    const tolerance = 1e-3;
    const errors: number[] = [];
    const stepOutputs: Float32Array[] = [];
    const latents = await denoise({
      model: transformer,
      conditioning,
      shape,
      timesteps,
      noise,
      onStep: (_step, _steps, values) => stepOutputs.push(values),
    });
    for (const [step, values] of stepOutputs.entries()) {
      errors.push(maxAbsDiff(values, await reference.float32(`pipeline.step_${step}.latents_out`)));
    }
    expect(errors).toHaveLength(run.timesteps.length);
    for (const error of errors) expect(error).toBeLessThan(tolerance);
    const final = unpackLatents(latents, shape);
    expect(maxAbsDiff(final, await reference.float32('pipeline.final_latents'))).toBeLessThan(
      tolerance,
    );
    // The decode draw is the only one left.
    expect(noise.remaining).toBe(1);
    await transformer.release();
  });
});
