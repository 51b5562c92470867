/**
 * A tiny T5 v1.1 encoder in Hugging Face layout, sharded like PixArt's `text_encoder/` folder:
 * `config.json`, `model-0000N-of-0000M.safetensors` (fp32) and `model.safetensors.index.json`.
 * The embedding is stored once, as `shared.weight` (transformers saves tied weights once).
 */
import { tensorFromTyped, type HostTensor } from '../tensor/tensor.ts';
import type { SeededRandom } from '../seeded-random.ts';

export interface TinyT5Sizes {
  readonly dModel: number;
  readonly dKv: number;
  readonly heads: number;
  readonly dFf: number;
  readonly layers: number;
  readonly vocabSize: number;
}

const RELATIVE_ATTENTION_BUCKETS = 32;

/** config.json, with the keys of the real T5 v1.1 XXL encoder config. */
export function tinyT5Config(sizes: TinyT5Sizes): Record<string, unknown> {
  return {
    architectures: ['T5EncoderModel'],
    d_ff: sizes.dFf,
    d_kv: sizes.dKv,
    d_model: sizes.dModel,
    decoder_start_token_id: 0,
    dense_act_fn: 'gelu_new',
    dropout_rate: 0.1,
    eos_token_id: 1,
    feed_forward_proj: 'gated-gelu',
    initializer_factor: 1.0,
    is_encoder_decoder: true,
    is_gated_act: true,
    layer_norm_epsilon: 1e-6,
    model_type: 't5',
    num_decoder_layers: sizes.layers,
    num_heads: sizes.heads,
    num_layers: sizes.layers,
    output_past: true,
    pad_token_id: 0,
    relative_attention_max_distance: 128,
    relative_attention_num_buckets: RELATIVE_ATTENTION_BUCKETS,
    tie_word_embeddings: false,
    torch_dtype: 'float32',
    use_cache: true,
    vocab_size: sizes.vocabSize,
  };
}

/** The encoder's tensors (fp32), in the order of T5EncoderModel's state dict. */
export function tinyT5Tensors(sizes: TinyT5Sizes, random: SeededRandom): [string, HostTensor][] {
  const tensors: [string, HostTensor][] = [];
  const inner = sizes.heads * sizes.dKv;
  const add = (name: string, shape: readonly number[], draw: (stream: SeededRandom) => number) => {
    const stream = random.stream(name);
    const values = new Float32Array(shape.reduce((product, dim) => product * dim, 1));
    for (let i = 0; i < values.length; i++) values[i] = draw(stream);
    tensors.push([name, tensorFromTyped('float32', shape, values)]);
  };
  const weight = (name: string, out: number, inputs: number) => {
    const std = 1 / Math.sqrt(inputs);
    add(name, [out, inputs], (stream) => stream.normal() * std);
  };
  const norm = (name: string) => {
    add(name, [sizes.dModel], (stream) => 1 + 0.1 * stream.normal());
  };
  add('shared.weight', [sizes.vocabSize, sizes.dModel], (stream) => stream.normal());
  for (let i = 0; i < sizes.layers; i++) {
    const block = `encoder.block.${i}`;
    weight(`${block}.layer.0.SelfAttention.k.weight`, inner, sizes.dModel);
    weight(`${block}.layer.0.SelfAttention.o.weight`, sizes.dModel, inner);
    weight(`${block}.layer.0.SelfAttention.q.weight`, inner, sizes.dModel);
    if (i === 0) {
      add(
        `${block}.layer.0.SelfAttention.relative_attention_bias.weight`,
        [RELATIVE_ATTENTION_BUCKETS, sizes.heads],
        (stream) => 0.5 * stream.normal(),
      );
    }
    weight(`${block}.layer.0.SelfAttention.v.weight`, inner, sizes.dModel);
    norm(`${block}.layer.0.layer_norm.weight`);
    weight(`${block}.layer.1.DenseReluDense.wi_0.weight`, sizes.dFf, sizes.dModel);
    weight(`${block}.layer.1.DenseReluDense.wi_1.weight`, sizes.dFf, sizes.dModel);
    weight(`${block}.layer.1.DenseReluDense.wo.weight`, sizes.dModel, sizes.dFf);
    norm(`${block}.layer.1.layer_norm.weight`);
  }
  norm('encoder.final_layer_norm.weight');
  return tensors;
}

/** Splits tensors, kept in order, into `count` shards of about equal tensor counts. */
export function shardTensors(
  tensors: readonly [string, HostTensor][],
  count: number,
): [string, HostTensor][][] {
  if (tensors.length < count)
    throw new Error(`Cannot split ${tensors.length} tensors into ${count} shards`);
  const shards: [string, HostTensor][][] = [];
  let start = 0;
  for (let index = 0; index < count; index++) {
    const end = start + Math.ceil((tensors.length - start) / (count - index));
    shards.push(tensors.slice(start, end));
    start = end;
  }
  return shards;
}

/** `model-0000N-of-0000M.safetensors`, as transformers names shards. */
export function shardFileName(index: number, count: number): string {
  const pad = (value: number) => String(value).padStart(5, '0');
  return `model-${pad(index + 1)}-of-${pad(count)}.safetensors`;
}

/** model.safetensors.index.json for the shards. */
export function shardIndex(
  shards: readonly (readonly [string, HostTensor][])[],
): Record<string, unknown> {
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  shards.forEach((shard, index) => {
    for (const [name, tensor] of shard) {
      weightMap[name] = shardFileName(index, shards.length);
      totalSize += tensor.bytes.byteLength;
    }
  });
  const sorted = Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : 1)));
  return { metadata: { total_size: totalSize }, weight_map: sorted };
}
