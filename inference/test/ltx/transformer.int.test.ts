import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildTransformerGraph,
  convertLtxTransformer,
  f32ToBf16,
  bf16ToF32,
  LtxCheckpoint,
  parseLtxCheckpointConfig,
  transformerTensorShapes,
  tensorFromTyped,
  writeSafetensors,
  type LtxTransformerConfig,
  type TransformerDType,
} from '@zeus/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LtxTransformer, TransformerInputError } from '../../src/ltx/transformer.ts';
import { maxAbsDiff } from '../../src/parity/compare.ts';
import { Reference } from '../../src/parity/reference.ts';
import { fractionalCoordinates, type LatentShape } from '../../src/sampler/latents.ts';
import { gaussian } from '../../src/sampler/noise.ts';
import { GOLDEN_DIR } from '../ltx-golden.ts';
import { naiveTransformer } from './naive-transformer.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'zeus-transformer-'));
  dirs.push(dir);
  return dir;
}

let reference: Reference;
let goldenConfigJson: string;
beforeAll(async () => {
  reference = await Reference.open(GOLDEN_DIR);
  const checkpoint = await LtxCheckpoint.open(reference.checkpointPath);
  goldenConfigJson = checkpoint.file.metadata['config'] ?? '';
  await checkpoint.close();
});
afterAll(async () => {
  await reference.close();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** The golden checkpoint's config JSON with other transformer sizes. */
function configJsonWith(changes: Record<string, unknown>): string {
  const root = JSON.parse(goldenConfigJson) as { transformer: Record<string, unknown> };
  root.transformer = { ...root.transformer, ...changes };
  return JSON.stringify(root);
}

function configWith(changes: Record<string, unknown>): LtxTransformerConfig {
  return parseLtxCheckpointConfig(configJsonWith(changes), 'test').transformer;
}

/** Deterministic random weights, scaled like trained ones (bf16-rounded, as a checkpoint). */
function randomWeights(config: LtxTransformerConfig, seed: number): Map<string, Float32Array> {
  const weights = new Map<string, Float32Array>();
  let stream = 0;
  for (const [name, shape] of transformerTensorShapes(config)) {
    const count = shape.reduce((a, b) => a * b, 1);
    const values = gaussian(seed, stream++, 0, count);
    const fanIn = shape.length === 2 ? (shape[1] ?? 1) : 1;
    const scale = name.endsWith('norm.weight') ? 0.2 : 1 / Math.sqrt(fanIn);
    const offset = name.endsWith('norm.weight') ? 1 : 0;
    for (let i = 0; i < count; i++) values[i] = offset + scale * (values[i] ?? 0);
    weights.set(name, bf16ToF32(f32ToBf16(values)));
  }
  return weights;
}

function lookup(weights: Map<string, Float32Array>) {
  return (name: string): Float32Array => {
    const values = weights.get(name);
    if (values === undefined) throw new Error(`no weight ${name}`);
    return values;
  };
}

async function runGraph(
  config: LtxTransformerConfig,
  weights: Map<string, Float32Array>,
  dtype: TransformerDType,
  input: Parameters<typeof naiveTransformer>[2],
): Promise<Float32Array> {
  const modelPath = join(await tempDir(), 'model.onnx');
  const get = lookup(weights);
  await buildTransformerGraph(config, (name) => Promise.resolve(get(name)), { dtype }).save(
    modelPath,
  );
  const transformer = await LtxTransformer.load(modelPath, config, { device: 'cpu' });
  try {
    const conditioning = transformer.condition({
      textEmbeddings: input.encoderHiddenStates,
      textMask: input.mask,
      textTokens: input.mask.length / input.batch,
      grid: input.grid,
    });
    return await transformer.velocity(conditioning, input.hiddenStates, input.timestep);
  } finally {
    await transformer.release();
  }
}

function randomInputs(
  config: LtxTransformerConfig,
  shape: LatentShape,
  textTokens: number,
  frameRate: number,
  seed: number,
) {
  const tokens = shape.frames * shape.height * shape.width;
  const mask = Array.from({ length: shape.batch * textTokens }, (_, i) =>
    i % textTokens < textTokens - 2 - (Math.floor(i / textTokens) % 3) ? 1 : 0,
  );
  return {
    batch: shape.batch,
    hiddenStates: gaussian(seed, 1, 0, shape.batch * tokens * config.inChannels),
    encoderHiddenStates: gaussian(seed, 2, 0, shape.batch * textTokens * config.captionChannels),
    mask,
    grid: fractionalCoordinates(shape, frameRate),
    timestep: 0.725,
  };
}

describe('the oracle', () => {
  it('matches the golden reference output', async () => {
    const checkpoint = await LtxCheckpoint.open(reference.checkpointPath);
    const weights = new Map<string, Float32Array>();
    for (const name of checkpoint.transformerNames()) {
      weights.set(name, await checkpoint.readTransformerFloat32(name));
    }
    const config = checkpoint.config.transformer;
    await checkpoint.close();
    const [batch = 1] = reference.shape('transformer.hidden_states');
    const output = naiveTransformer(config, lookup(weights), {
      batch,
      hiddenStates: await reference.float32('transformer.hidden_states'),
      encoderHiddenStates: await reference.float32('transformer.encoder_hidden_states'),
      mask: Array.from(await reference.int64('transformer.encoder_attention_mask'), Number),
      grid: await reference.float32('transformer.indices_grid'),
      timestep: (await reference.float32('transformer.timestep'))[0]!,
    });
    expect(maxAbsDiff(output, await reference.float32('transformer.output'))).toBeLessThan(1e-4);
  });
});

describe('transformer graph', () => {
  it.each([
    // D mod 6 = 0, more layers, batch 2, other channel counts and frame rate.
    {
      heads: 2,
      headDim: 12,
      layers: 3,
      caption: 12,
      inChannels: 16,
      outChannels: 8,
      shape: { batch: 2, channels: 16, frames: 2, height: 2, width: 3 },
      frameRate: 30,
    },
    // D mod 6 = 4, one layer, one latent frame, non-integer frame rate.
    {
      heads: 4,
      headDim: 4,
      layers: 1,
      caption: 8,
      inChannels: 8,
      outChannels: 8,
      shape: { batch: 1, channels: 8, frames: 1, height: 3, width: 2 },
      frameRate: 23.976,
    },
  ])('equals the oracle with $heads×$headDim width and $layers layers', async (c) => {
    const config = configWith({
      num_attention_heads: c.heads,
      attention_head_dim: c.headDim,
      cross_attention_dim: c.heads * c.headDim,
      num_layers: c.layers,
      caption_channels: c.caption,
      in_channels: c.inChannels,
      out_channels: c.outChannels,
    });
    const weights = randomWeights(config, 11);
    const input = randomInputs(config, c.shape, 7, c.frameRate, 5);
    const expected = naiveTransformer(config, lookup(weights), input);
    const fp32 = await runGraph(config, weights, 'float32', input);
    expect(maxAbsDiff(fp32, expected)).toBeLessThan(1e-4);
    // fp16 is not exact, but must stay close (relative to outputs of size ~1).
    const fp16 = await runGraph(config, weights, 'float16', input);
    expect(maxAbsDiff(fp16, expected)).toBeLessThan(2e-3);
  });
});

describe('per-token timesteps (image-to-video conditioning)', () => {
  let config: LtxTransformerConfig;
  let weights: Map<string, Float32Array>;
  let input: ReturnType<typeof randomInputs>;
  const shape = { batch: 1, channels: 128, frames: 3, height: 2, width: 2 };
  const firstFrame = shape.height * shape.width;
  const tokens = shape.frames * firstFrame;
  beforeAll(() => {
    config = configWith({ num_layers: 2 });
    weights = randomWeights(config, 21);
    input = randomInputs(config, shape, 6, 25, 4);
  });

  async function withMask(
    dtype: TransformerDType,
    mask: Uint8Array,
    conditionedTimestep: number,
  ): Promise<Float32Array> {
    const modelPath = join(await tempDir(), 'model.onnx');
    const get = lookup(weights);
    await buildTransformerGraph(config, (name) => Promise.resolve(get(name)), { dtype }).save(
      modelPath,
    );
    const transformer = await LtxTransformer.load(modelPath, config, { device: 'cpu' });
    try {
      const conditioning = transformer.condition({
        textEmbeddings: input.encoderHiddenStates,
        textMask: input.mask,
        textTokens: 6,
        grid: input.grid,
        conditionedTokens: mask,
      });
      return await transformer.velocity(
        conditioning,
        input.hiddenStates,
        input.timestep,
        conditionedTimestep,
      );
    } finally {
      await transformer.release();
    }
  }

  it("equals the official per-token adaLN: the first frame's tokens at timestep 0", async () => {
    const mask = Uint8Array.from({ length: tokens }, (_, n) => (n < firstFrame ? 1 : 0));
    const expected = naiveTransformer(config, lookup(weights), {
      ...input,
      tokenTimesteps: Array.from({ length: tokens }, (_, n) =>
        n < firstFrame ? 0 : input.timestep,
      ),
    });
    const velocity = await withMask('float32', mask, 0);
    expect(maxAbsDiff(velocity, expected)).toBeLessThan(1e-4);
    // …and differs from the unconditioned output by much more than that.
    const plain = naiveTransformer(config, lookup(weights), input);
    expect(maxAbsDiff(velocity, plain)).toBeGreaterThan(1e-2);
  });

  it('without conditioned tokens the conditioned timestep changes no bit', async () => {
    const none = new Uint8Array(tokens);
    const a = await withMask('float32', none, 0);
    const b = await withMask('float32', none, 0.3);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(maxAbsDiff(a, naiveTransformer(config, lookup(weights), input))).toBeLessThan(1e-4);
  });
});

describe('conversion and runtime', () => {
  it('converts a checkpoint once into the cache and runs it', async () => {
    const dir = await tempDir();
    const config = configWith({ num_layers: 3 });
    const weights = randomWeights(config, 3);
    const checkpointPath = join(dir, 'checkpoint.safetensors');
    await writeSafetensors(
      checkpointPath,
      [...weights].map(([name, values]) => [
        `model.diffusion_model.${name}`,
        tensorFromTyped('bfloat16', transformerTensorShapes(config).get(name)!, f32ToBf16(values)),
      ]),
      { config: configJsonWith({ num_layers: 3 }) },
    );
    const events: string[] = [];
    const options = {
      checkpointPath,
      cacheRoot: join(dir, 'onnx'),
      dtype: 'float32' as const,
      onProgress: (event: { kind: string }) => events.push(event.kind),
    };
    const converted = await convertLtxTransformer(options);
    expect(converted.fromCache).toBe(false);
    expect(converted.config).toEqual(config);
    expect(events).toContain('writing');
    expect((await readFile(`${converted.modelPath}.data`)).byteLength).toBeGreaterThan(0);
    expect((await convertLtxTransformer(options)).fromCache).toBe(true);

    const transformer = await LtxTransformer.load(converted.modelPath, config, { device: 'cpu' });
    const shape = { batch: 1, channels: config.inChannels, frames: 2, height: 2, width: 2 };
    const input = randomInputs(config, shape, 9, 25, 8);
    const conditioning = transformer.condition({
      textEmbeddings: input.encoderHiddenStates,
      textMask: BigInt64Array.from(input.mask, BigInt),
      textTokens: 9,
      grid: input.grid,
    });
    const velocity = await transformer.velocity(conditioning, input.hiddenStates, input.timestep);
    expect(maxAbsDiff(velocity, naiveTransformer(config, lookup(weights), input))).toBeLessThan(
      1e-4,
    );
    await expect(
      transformer.velocity(conditioning, new Float32Array(5), input.timestep),
    ).rejects.toThrow(TransformerInputError);
    expect(() =>
      transformer.condition({
        textEmbeddings: input.encoderHiddenStates,
        textMask: [1, 0],
        textTokens: 9,
        grid: input.grid,
      }),
    ).toThrow(/text mask has 2 values/);
    await transformer.release();

    // From the checkpoint again: served by the cache, nothing is written.
    const writes = events.filter((kind) => kind === 'writing').length;
    const again = await LtxTransformer.fromCheckpoint({ ...options, device: 'cpu' });
    expect(events.filter((kind) => kind === 'writing')).toHaveLength(writes);
    expect(events.at(-1)).toBe('ready');
    expect(await again.velocity(conditioning, input.hiddenStates, input.timestep)).toEqual(
      velocity,
    );
    await again.release();
  });
});
