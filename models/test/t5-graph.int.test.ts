import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { ltxGoldenDir } from '../../tests/helpers/ltx-golden.ts';
import { writeSafetensors } from '../src/safetensors.ts';
import type { T5EncoderConfig } from '../src/t5/config.ts';
import { buildT5Onnx, convertT5Cached } from '../src/t5/convert.ts';
import { fp16UnsafeTensors, T5Fp16RangeError } from '../src/t5/t5-fp16.ts';
import { buildT5Graph, type T5GraphOptions } from '../src/t5/t5-graph.ts';
import { T5Weights, type T5WeightReader } from '../src/t5/weights.ts';
import { SafetensorsFile } from '../src/safetensors.ts';
import { tensorFromTyped, toBigInt64, toFloat32 } from '../src/tensor/tensor.ts';

const GOLDEN = ltxGoldenDir();
const FP16_MAX = 65504;

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'zeus-t5-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const diff = Math.abs((a[i] ?? NaN) - (b[i] ?? NaN));
    if (Number.isNaN(diff)) return Infinity;
    max = Math.max(max, diff);
  }
  return max;
}

function maxAbs(values: Float32Array): number {
  let max = 0;
  for (const value of values) max = Math.max(max, Math.abs(value));
  return max;
}

async function run(
  model: string | Uint8Array,
  ids: BigInt64Array,
  mask: BigInt64Array,
  batch = 1,
): Promise<Record<string, Float32Array>> {
  const session =
    typeof model === 'string'
      ? await ort.InferenceSession.create(model)
      : await ort.InferenceSession.create(model);
  const dims = [batch, ids.length / batch];
  const out = await session.run({
    input_ids: new ort.Tensor('int64', ids, dims),
    attention_mask: new ort.Tensor('int64', mask, dims),
  });
  await session.release();
  return Object.fromEntries(
    Object.entries(out).map(([name, value]) => [name, value.data as Float32Array]),
  );
}

describe('T5 encoder graph on the golden text encoder', () => {
  it('matches transformers in fp32, for the prompt, its debug states and the negative prompt', async () => {
    const vectors = await SafetensorsFile.open(join(GOLDEN, 'vectors.safetensors'));
    const dir = await tempDir();
    const modelPath = join(dir, 't5.onnx');
    await buildT5Onnx(join(GOLDEN, 'text_encoder'), modelPath, { debugOutputs: true });
    const ids = toBigInt64(await vectors.read('t5.input_ids'));
    const mask = toBigInt64(await vectors.read('t5.attention_mask'));
    const out = await run(modelPath, ids, mask);
    const expected = toFloat32(await vectors.read('t5.last_hidden_state'));
    expect(maxAbsDiff(out['last_hidden_state'] ?? new Float32Array(), expected)).toBeLessThan(1e-4);
    // hidden_states_i is the input of block i; the reference's last one is the final output.
    for (let i = 0; vectors.has(`t5.debug.hidden_states_${i}`); i++) {
      const ours = out[`hidden_states_${i}`] ?? out['last_hidden_state'];
      const reference = toFloat32(await vectors.read(`t5.debug.hidden_states_${i}`));
      expect(maxAbsDiff(ours ?? new Float32Array(), reference), `hidden_states_${i}`).toBeLessThan(
        1e-4,
      );
    }

    // Both prompts in one batch of two give each one's embeddings.
    const negativeIds = toBigInt64(await vectors.read('pipeline.negative_input_ids'));
    const negativeMask = toBigInt64(await vectors.read('pipeline.negative_attention_mask'));
    const batched = await run(
      modelPath,
      BigInt64Array.from([...ids, ...negativeIds]),
      BigInt64Array.from([...mask, ...negativeMask]),
      2,
    );
    const both = batched['last_hidden_state'] ?? new Float32Array();
    const negative = toFloat32(await vectors.read('pipeline.negative_prompt_embeds'));
    expect(maxAbsDiff(both.subarray(0, expected.length), expected)).toBeLessThan(1e-4);
    expect(maxAbsDiff(both.subarray(expected.length), negative)).toBeLessThan(1e-4);
    await vectors.close();
  });

  it('loads a sharded folder (index + shards) into the same model as the single file', async () => {
    const source = join(GOLDEN, 'text_encoder');
    const sharded = await tempDir();
    await copyFile(join(source, 'config.json'), join(sharded, 'config.json'));
    const single = await SafetensorsFile.open(join(source, 'model.safetensors'));
    const names = single.names;
    const shardFiles = ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors'];
    shardFiles.push('model-00003-of-00003.safetensors');
    const weightMap: Record<string, string> = {};
    for (const [index, file] of shardFiles.entries()) {
      const mine = names.filter((_, n) => n % shardFiles.length === index);
      const tensors = await Promise.all(
        mine.map(async (name) => [name, await single.read(name)] as const),
      );
      await writeSafetensors(join(sharded, file), tensors, { format: 'pt' });
      for (const name of mine) weightMap[name] = file;
    }
    await single.close();
    await writeFile(
      join(sharded, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }),
    );

    const weights = await T5Weights.open(sharded);
    expect(weights.sourceFiles).toHaveLength(2 + shardFiles.length);
    await weights.close();

    // Same file name in two folders: the model refers to its data file by name.
    const [fromSingle, fromShards] = [await tempDir(), await tempDir()];
    await buildT5Onnx(source, join(fromSingle, 't5.onnx'));
    await buildT5Onnx(sharded, join(fromShards, 't5.onnx'));
    for (const file of ['t5.onnx', 't5.onnx.data']) {
      expect(await readFile(join(fromShards, file)), file).toEqual(
        await readFile(join(fromSingle, file)),
      );
    }

    // An index that names the wrong shard for a tensor is refused with the tensor's name.
    const moved = names[0] ?? '';
    await writeFile(
      join(sharded, 'model.safetensors.index.json'),
      JSON.stringify({ weight_map: { ...weightMap, [moved]: shardFiles[1] } }),
    );
    await expect(T5Weights.open(sharded)).rejects.toThrow(`puts ${moved} in ${shardFiles[1]}`);
  });

  it('converts through the conversion cache once', async () => {
    const cacheRoot = await tempDir();
    const events: string[] = [];
    const options = {
      textEncoderDir: join(GOLDEN, 'text_encoder'),
      cacheRoot,
      dtype: 'float16' as const,
      onProgress: (event: { kind: string }) => events.push(event.kind),
    };
    const first = await convertT5Cached(options);
    const second = await convertT5Cached(options);
    expect(first.fromCache).toBe(false);
    expect(second.fromCache).toBe(true);
    expect(second.modelPath).toBe(first.modelPath);
    expect(events).toContain('writing');

    // fp16 weights, float32 numerics: close to the fp32 reference (fp16 weight rounding only).
    const vectors = await SafetensorsFile.open(join(GOLDEN, 'vectors.safetensors'));
    const out = await run(
      first.modelPath,
      toBigInt64(await vectors.read('t5.input_ids')),
      toBigInt64(await vectors.read('t5.attention_mask')),
    );
    const expected = toFloat32(await vectors.read('t5.last_hidden_state'));
    await vectors.close();
    expect(maxAbsDiff(out['last_hidden_state'] ?? new Float32Array(), expected)).toBeLessThan(
      2e-2 * maxAbs(expected),
    );
  });
});

/**
 * A small T5 whose feed-forward output weights are scaled up, so that (as in T5 v1.1 XXL) the
 * residual stream leaves float16's range: deterministic weights, no file needed.
 */
function overflowingT5(): T5WeightReader & { readonly shapes: Map<string, number[]> } {
  const config: T5EncoderConfig = {
    vocabSize: 64,
    dModel: 16,
    dKv: 4,
    numHeads: 4,
    dFf: 32,
    numLayers: 3,
    relativeAttentionNumBuckets: 32,
    relativeAttentionMaxDistance: 128,
    layerNormEpsilon: 1e-6,
  };
  let state = 12345;
  const random = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
  const tensors = new Map<string, Float32Array>();
  const shapes = new Map<string, number[]>();
  const put = (name: string, shape: number[], scale: number, offset = 0): void => {
    const size = shape.reduce((a, b) => a * b, 1);
    shapes.set(name, shape);
    tensors.set(
      name,
      Float32Array.from({ length: size }, () => offset + random() * scale),
    );
  };
  const { dModel: d, dFf: ff, vocabSize } = config;
  put('shared.weight', [vocabSize, d], 2);
  put('encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight', [32, 4], 1);
  for (let layer = 0; layer < config.numLayers; layer++) {
    const prefix = `encoder.block.${layer}.layer`;
    for (const p of ['q', 'k', 'v', 'o']) put(`${prefix}.0.SelfAttention.${p}.weight`, [d, d], 0.5);
    put(`${prefix}.0.layer_norm.weight`, [d], 0.2, 1);
    put(`${prefix}.1.layer_norm.weight`, [d], 0.2, 1);
    put(`${prefix}.1.DenseReluDense.wi_0.weight`, [ff, d], 2);
    put(`${prefix}.1.DenseReluDense.wi_1.weight`, [ff, d], 2);
    put(`${prefix}.1.DenseReluDense.wo.weight`, [d, ff], 4000);
  }
  put('encoder.final_layer_norm.weight', [d], 0.2, 1);
  return {
    config,
    shapes,
    has: (name) => tensors.has(name),
    readFloat32: (name) => {
      const values = tensors.get(name);
      if (values === undefined) return Promise.reject(new Error(`no ${name}`));
      return Promise.resolve(values);
    },
  };
}

describe('T5 encoder in fp16', () => {
  it('stays finite and close to fp32 where the naive all-fp16 graph overflows', async () => {
    const weights = overflowingT5();
    const tokens = 24;
    const ids = BigInt64Array.from({ length: tokens }, (_, i) => BigInt((i * 7 + 3) % 64));
    const mask = BigInt64Array.from({ length: tokens }, (_, i) => (i < 18 ? 1n : 0n));
    const build = async (options: T5GraphOptions): Promise<Record<string, Float32Array>> =>
      run(await buildT5Graph(weights, { ...options, debugOutputs: true }).toBytes(), ids, mask);

    const fp32 = await build({ dtype: 'float32' });
    const reference = fp32['last_hidden_state'] ?? new Float32Array();
    // The premise: the fp32 residual stream goes far beyond what float16 can hold.
    const residual = Math.max(
      ...[1, 2].map((i) => maxAbs(fp32[`hidden_states_${i}`] ?? new Float32Array())),
    );
    expect(residual).toBeGreaterThan(2 * FP16_MAX);
    expect(Number.isFinite(maxAbs(reference))).toBe(true);

    const naive = await build({ dtype: 'float16', activations: 'float16' });
    const naiveOutput = naive['last_hidden_state'] ?? new Float32Array();
    expect(naiveOutput.some((value) => !Number.isFinite(value))).toBe(true);

    const safe = await build({ dtype: 'float16' });
    const safeOutput = safe['last_hidden_state'] ?? new Float32Array();
    expect(safeOutput.every((value) => Number.isFinite(value))).toBe(true);
    // fp16 weights and matmul inputs carry ~1e-3 relative error; the output is RMS-normalised.
    expect(maxAbsDiff(safeOutput, reference)).toBeLessThan(2e-2 * maxAbs(reference));
  });

  it('keeps the weights fp16 cannot carry in float32, finite and close to fp32', async () => {
    const weights = overflowingT5();
    const scaled = (pattern: RegExp, factor: number): typeof weights => ({
      ...weights,
      readFloat32: async (name, shape) => {
        const values = await weights.readFloat32(name, shape);
        return pattern.test(name) ? values.map((v) => v * factor) : values;
      },
    });
    // An embedding value beyond 65504, and (each weight fitting fp16) a wo column whose L1
    // norm exceeds what an fp16 sum can hold: the plain fp16 build refuses both, typed.
    const bigEmbedding = buildT5Graph(scaled(/^shared/, 1e5), { dtype: 'float16' }).toBytes();
    await expect(bigEmbedding).rejects.toThrow(T5Fp16RangeError);
    await expect(bigEmbedding).rejects.toThrow(/outside the float16 range/);
    const bigColumns = scaled(/wo\.weight$/, 8);
    const refused = await buildT5Graph(bigColumns, { dtype: 'float16' })
      .toBytes()
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(refused).toBeInstanceOf(T5Fp16RangeError);
    expect((refused as T5Fp16RangeError).message).toMatch(
      /block_0\/wo has a column with L1 norm \d+/,
    );
    expect((refused as T5Fp16RangeError).tensors).toEqual([
      'encoder.block.0.layer.1.DenseReluDense.wo.weight',
    ]);

    // The converter writes the model anyway, with only those tensors in float32, and says so.
    const both: typeof weights = {
      ...weights,
      readFloat32: async (name, shape) => {
        const values = await weights.readFloat32(name, shape);
        const factor = /^shared/.test(name) ? 1e5 : /wo\.weight$/.test(name) ? 8 : 1;
        return values.map((v) => v * factor);
      },
    };
    const unsafe = await fp16UnsafeTensors(both);
    expect(unsafe).toContain('shared.weight');
    expect(unsafe).toContain('encoder.block.0.layer.1.DenseReluDense.wo.weight');
    expect(unsafe.some((name) => /SelfAttention|wi_/.test(name))).toBe(false);

    const textEncoderDir = await tempDir();
    const { config } = weights;
    await writeFile(
      join(textEncoderDir, 'config.json'),
      JSON.stringify({
        vocab_size: config.vocabSize,
        d_model: config.dModel,
        d_kv: config.dKv,
        num_heads: config.numHeads,
        d_ff: config.dFf,
        num_layers: config.numLayers,
        feed_forward_proj: 'gated-gelu',
        layer_norm_epsilon: config.layerNormEpsilon,
      }),
    );
    const entries: [string, ReturnType<typeof tensorFromTyped>][] = [];
    for (const [name, shape] of weights.shapes) {
      entries.push([name, tensorFromTyped('float32', shape, await both.readFloat32(name, shape))]);
    }
    await writeSafetensors(join(textEncoderDir, 'model.safetensors'), entries);

    const events: { kind: string; message?: string }[] = [];
    const converted = await convertT5Cached({
      textEncoderDir,
      cacheRoot: await tempDir(),
      dtype: 'float16',
      onProgress: (event) => events.push(event),
    });
    const notices = events.filter((event) => event.kind === 'notice');
    expect(notices).toHaveLength(1);
    expect(notices[0]?.message).toMatch(/Keeping \d+ weight tensor\(s\) .* in float32/);
    expect(notices[0]?.message).toContain('encoder.block.0.layer.1.DenseReluDense.wo.weight');
    expect(events.at(-1)?.kind).toBe('ready');

    const fp32Path = join(await tempDir(), 't5.onnx');
    await buildT5Onnx(textEncoderDir, fp32Path);
    // Mixed: smaller than all-float32 (the other matrices are fp16).
    const dataSize = async (path: string): Promise<number> =>
      (await readFile(`${path}.data`)).byteLength;
    expect(await dataSize(converted.modelPath)).toBeLessThan(await dataSize(fp32Path));

    const tokens = 24;
    const ids = BigInt64Array.from({ length: tokens }, (_, i) => BigInt((i * 7 + 3) % 64));
    const mask = BigInt64Array.from({ length: tokens }, (_, i) => (i < 18 ? 1n : 0n));
    const reference = (await run(fp32Path, ids, mask))['last_hidden_state'] ?? new Float32Array();
    const mixed =
      (await run(converted.modelPath, ids, mask))['last_hidden_state'] ?? new Float32Array();
    expect(mixed.every((value) => Number.isFinite(value))).toBe(true);
    expect(Number.isFinite(maxAbs(reference))).toBe(true);
    expect(maxAbsDiff(mixed, reference)).toBeLessThan(2e-2 * maxAbs(reference));
  });
});
