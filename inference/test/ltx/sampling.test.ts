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
  noiseDraws,
  ReplayNoise,
  samplingTimesteps,
  stochasticStep,
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
    const tokens = [shape.batch, shape.frames * shape.height * shape.width, shape.channels];
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

    const tolerance = 1e-3;
    let latents = noise.draw(noiseDraws.initial(tokens));
    for (const [step, t] of timesteps.entries()) {
      const prefix = `pipeline.step_${step}`;
      expect(maxAbsDiff(latents, await reference.float32(`${prefix}.latents_in`))).toBeLessThan(
        tolerance,
      );
      const velocity = await transformer.velocity(conditioning, latents, t);
      expect(maxAbsDiff(velocity, await reference.float32(`${prefix}.noise_pred`))).toBeLessThan(
        tolerance,
      );
      latents = stochasticStep({
        sample: latents,
        velocity,
        timestep: t,
        schedule: timesteps,
        noise: noise.draw(noiseDraws.step(step, tokens)),
      });
      expect(maxAbsDiff(latents, await reference.float32(`${prefix}.latents_out`))).toBeLessThan(
        tolerance,
      );
    }
    const final = unpackLatents(latents, shape);
    expect(maxAbsDiff(final, await reference.float32('pipeline.final_latents'))).toBeLessThan(
      tolerance,
    );
    expect(noise.remaining).toBe(1);
    await transformer.release();
  });
});
