/**
 * The model set of `npm run bench:pipeline -- --model 2b` (bench/pipeline.ts): LTX-Video 2B's
 * real architecture (transformer D 2048, 32 heads, caption 4096; VAE 128 base channels; T5 v1.1
 * XXL encoder) with deterministic random weights, written tensor by tensor as bf16 safetensors,
 * and the tiny tokenizer.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SeededRandom, type ModelFiles } from '@zeus/models';
import {
  checkpointTensorPlan,
  tinyCheckpointConfig,
  tinySpieceModel,
  tinyT5Config,
  tinyTokenizerJsonFiles,
  tinyTokenizerPieces,
  type TensorPlan,
} from '@zeus/models/tiny';
import { seconds } from './report.ts';

/** Fast deterministic uniform values with the plan's mean and spread (weights nobody reads). */
function fillValues(plan: TensorPlan, out: Float32Array, random: SeededRandom): void {
  const uniform = (): number => random.uniform() - 0.5; // [-0.5, 0.5): std 1/√12
  const init = plan.init;
  const normalish = (mean: number, std: number): void => {
    const scale = std * Math.sqrt(12);
    for (let i = 0; i < out.length; i++) out[i] = mean + uniform() * scale;
  };
  switch (init.kind) {
    case 'weight': {
      const fanIn = plan.shape.slice(1).reduce((product, dim) => product * dim, 1);
      normalish(0, init.gain / Math.sqrt(fanIn));
      return;
    }
    case 'normal':
      normalish(init.mean, init.std);
      return;
    case 'uniform':
      for (let i = 0; i < out.length; i++) {
        out[i] = init.low + (uniform() + 0.5) * (init.high - init.low);
      }
      return;
    case 'index':
      for (let i = 0; i < out.length; i++) out[i] = i;
      return;
  }
}

/** Writes a bf16 safetensors file tensor by tensor (never more than one tensor in memory). */
async function writeStreamedSafetensors(
  path: string,
  plans: readonly TensorPlan[],
  metadata: Record<string, string>,
): Promise<void> {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const plan of plans) {
    const bytes = plan.shape.reduce((product, dim) => product * dim, 1) * 2;
    header[plan.name] = {
      dtype: 'BF16',
      shape: plan.shape,
      data_offsets: [offset, offset + bytes],
    };
    offset += bytes;
  }
  let text = JSON.stringify(header);
  text += ' '.repeat((8 - ((Buffer.byteLength(text) + 8) % 8)) % 8);
  const headerBytes = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(headerBytes.byteLength));
  const temporary = `${path}.tmp`;
  const handle = await open(temporary, 'w');
  try {
    await handle.write(length);
    await handle.write(headerBytes);
    for (const plan of plans) {
      const values = new Float32Array(plan.shape.reduce((product, dim) => product * dim, 1));
      fillValues(plan, values, new SeededRandom(1).stream(plan.name));
      // bf16 = the upper half of each float32 (truncation: fine for random weights).
      const words = new Uint32Array(values.buffer);
      const half = new Uint16Array(values.length);
      for (let i = 0; i < words.length; i++) half[i] = (words[i] ?? 0) >>> 16;
      await handle.write(new Uint8Array(half.buffer));
    }
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
}

/** T5 v1.1 encoder tensors of a size (the layout of PixArt's text_encoder folder). */
function t5Plan(sizes: {
  dModel: number;
  dKv: number;
  heads: number;
  dFf: number;
  layers: number;
  vocabSize: number;
}): TensorPlan[] {
  const plans: TensorPlan[] = [];
  const inner = sizes.heads * sizes.dKv;
  const weight = (name: string, out: number, inputs: number): void => {
    plans.push({ name, shape: [out, inputs], init: { kind: 'weight', gain: 1 } });
  };
  const norm = (name: string): void => {
    plans.push({ name, shape: [sizes.dModel], init: { kind: 'normal', mean: 1, std: 0.1 } });
  };
  plans.push({
    name: 'shared.weight',
    shape: [sizes.vocabSize, sizes.dModel],
    init: { kind: 'normal', mean: 0, std: 1 },
  });
  for (let i = 0; i < sizes.layers; i++) {
    const block = `encoder.block.${i}`;
    weight(`${block}.layer.0.SelfAttention.q.weight`, inner, sizes.dModel);
    weight(`${block}.layer.0.SelfAttention.k.weight`, inner, sizes.dModel);
    weight(`${block}.layer.0.SelfAttention.v.weight`, inner, sizes.dModel);
    weight(`${block}.layer.0.SelfAttention.o.weight`, sizes.dModel, inner);
    if (i === 0) {
      plans.push({
        name: `${block}.layer.0.SelfAttention.relative_attention_bias.weight`,
        shape: [32, sizes.heads],
        init: { kind: 'normal', mean: 0, std: 0.5 },
      });
    }
    norm(`${block}.layer.0.layer_norm.weight`);
    weight(`${block}.layer.1.DenseReluDense.wi_0.weight`, sizes.dFf, sizes.dModel);
    weight(`${block}.layer.1.DenseReluDense.wi_1.weight`, sizes.dFf, sizes.dModel);
    weight(`${block}.layer.1.DenseReluDense.wo.weight`, sizes.dModel, sizes.dFf);
    norm(`${block}.layer.1.layer_norm.weight`);
  }
  norm('encoder.final_layer_norm.weight');
  return plans;
}

/** The real architecture with random weights, written once into `dir`; `log` says how it goes. */
export async function randomRealModel(
  dir: string,
  layers: number,
  t5Layers: number,
  log: (line: string) => void,
): Promise<ModelFiles> {
  // Sets written before the encoder's weights were included lack them: they are rewritten.
  const done = join(dir, '.complete-with-encoder');
  const files: ModelFiles = {
    name: 'ltxv-2b-0.9.6-distilled',
    dir,
    checkpoint: join(dir, 'checkpoint', 'random-2b.safetensors'),
    textEncoderDir: join(dir, 'text_encoder'),
    textEncoderConfig: join(dir, 'text_encoder', 'config.json'),
    textEncoderIndex: join(dir, 'text_encoder', 'model.safetensors.index.json'),
    textEncoderShards: [join(dir, 'text_encoder', 'model.safetensors')],
    tokenizerDir: join(dir, 'tokenizer'),
    spieceModel: join(dir, 'tokenizer', 'spiece.model'),
    onnxDir: join(dir, 'onnx'),
  };
  if (existsSync(done)) return files;
  await rm(dir, { recursive: true, force: true });
  for (const folder of ['checkpoint', 'text_encoder', 'tokenizer']) {
    await mkdir(join(dir, folder), { recursive: true });
  }
  const sizes = {
    heads: 32,
    headDim: 64,
    layers,
    captionChannels: 4096,
    encoderBaseChannels: 128,
    decoderBaseChannels: 128,
  };
  log(`writing a random 2B set (${layers} transformer layers, ${t5Layers} T5 layers) to ${dir}…`);
  const started = performance.now();
  // Every tensor, the VAE encoder's included: LtxPipeline.load converts it (image-to-video and
  // the live-preview fit use it).
  await writeStreamedSafetensors(files.checkpoint, checkpointTensorPlan(sizes), {
    config: JSON.stringify(tinyCheckpointConfig(sizes)),
  });
  const t5Sizes = {
    dModel: 4096,
    dKv: 64,
    heads: 64,
    dFf: 10240,
    layers: t5Layers,
    vocabSize: 32128,
  };
  await writeFile(files.textEncoderConfig, `${JSON.stringify(tinyT5Config(t5Sizes), null, 2)}\n`);
  await writeStreamedSafetensors(join(dir, 'text_encoder', 'model.safetensors'), t5Plan(t5Sizes), {
    format: 'pt',
  });
  const pieceCount = tinyTokenizerPieces().length;
  await writeFile(files.spieceModel, tinySpieceModel());
  for (const [name, content] of Object.entries(tinyTokenizerJsonFiles(pieceCount))) {
    await writeFile(join(dir, 'tokenizer', name), `${JSON.stringify(content, null, 2)}\n`);
  }
  await writeFile(done, '');
  log(`  written in ${seconds(performance.now() - started)}`);
  return files;
}
