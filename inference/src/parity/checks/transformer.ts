/**
 * Transformer parity: the reference checkpoint's transformer, converted to ONNX in the run's
 * precision (with debug outputs) and run on its device on the recorded call's exact inputs,
 * against `transformer.output` and every `transformer.debug.*` intermediate the graph exposes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTransformerGraph, LtxCheckpoint } from '@zeus/models';
import { LtxTransformer } from '../../ltx/transformer.ts';
import { attentionKernelFor } from '../../onnx/attention-probe.ts';
import { maxAbsDiff } from '../compare.ts';
import type { Reference } from '../reference.ts';
import { tolerance } from '../tolerances.ts';
import { graphDtype, type ParityCheck, type ParityResult, type ParityTarget } from '../types.ts';

const DEBUG_PREFIX = 'transformer.debug.';

export const transformerCheck: ParityCheck = {
  component: 'transformer',
  async run(reference: Reference, target: ParityTarget): Promise<ParityResult[]> {
    const results: ParityResult[] = [];
    const run = await runTransformer(reference, target);
    const expected = await reference.float32('transformer.output');
    const outputTolerance = tolerance(reference, target, 'transformer.*', expected);
    results.push({
      name: 'transformer.output',
      maxAbsError: maxAbsDiff(run.velocity, expected),
      tolerance: outputTolerance,
      note: `max |reference| ${maxAbs(expected).toFixed(3)}`,
    });
    results.push({
      name: 'transformer.output (all text tokens)',
      maxAbsError: maxAbsDiff(run.allText, expected),
      tolerance: outputTolerance,
      note: 'masked text tokens fed too, as the reference does',
    });
    const missing: string[] = [];
    for (const { name } of reference.manifest.tensors) {
      if (!name.startsWith(DEBUG_PREFIX)) continue;
      const actual = run.outputs[`debug.${name.slice(DEBUG_PREFIX.length)}`];
      if (actual === undefined) {
        missing.push(name);
        continue;
      }
      const rope = name.startsWith(`${DEBUG_PREFIX}rope_`);
      const values = await reference.float32(name);
      results.push({
        name,
        maxAbsError: maxAbsDiff(actual, values),
        tolerance: tolerance(
          reference,
          target,
          rope ? 'transformer.debug.rope_*' : 'transformer.*',
          values,
        ),
      });
    }
    if (missing.length > 0)
      console.error(`transformer: not exposed, not compared: ${missing.join(', ')}`);
    return results;
  },
};

/** Converts the reference checkpoint's transformer into a temporary folder and runs the call. */
async function runTransformer(
  reference: Reference,
  target: ParityTarget,
): Promise<{
  velocity: Float32Array;
  allText: Float32Array;
  outputs: Record<string, Float32Array>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'zeus-parity-transformer-'));
  const checkpoint = await LtxCheckpoint.open(reference.checkpointPath);
  try {
    checkpoint.checkTransformerTensors();
    const config = checkpoint.config.transformer;
    const modelPath = join(dir, 'model.onnx');
    const graph = buildTransformerGraph(config, (name) => checkpoint.readTransformerFloat32(name), {
      dtype: graphDtype(target.precision),
      debug: true,
      attention: (await attentionKernelFor(target.device)).kernel,
    });
    await graph.save(modelPath);
    const transformer = await LtxTransformer.load(modelPath, config, { device: target.device });
    try {
      const [, textTokens = 0] = reference.shape('transformer.encoder_hidden_states');
      const text = {
        textEmbeddings: await reference.float32('transformer.encoder_hidden_states'),
        textMask: await reference.int64('transformer.encoder_attention_mask'),
        textTokens,
        grid: await reference.float32('transformer.indices_grid'),
      };
      const timesteps = await reference.float32('transformer.timestep');
      const timestep = timesteps[0] ?? NaN;
      if (timesteps.some((value) => value !== timestep)) {
        throw new Error('transformer.timestep differs between batch entries; Zeus uses one');
      }
      const latents = await reference.float32('transformer.hidden_states');
      // The velocity as the pipeline gets it (masked text tokens left out); the intermediates
      // with every text token, so that they have the reference's shapes.
      const velocity = await transformer.velocity(transformer.condition(text), latents, timestep);
      const outputs = await transformer.run(
        transformer.condition({ ...text, dropMaskedText: false }),
        latents,
        timestep,
      );
      const allText = outputs['velocity'];
      if (allText === undefined) throw new Error('The transformer model gave no velocity');
      return { velocity, allText, outputs };
    } finally {
      await transformer.release();
    }
  } finally {
    await checkpoint.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function maxAbs(values: Float32Array): number {
  let max = 0;
  for (const value of values) max = Math.max(max, Math.abs(value));
  return max;
}
