/**
 * The tiny LTX-Video single-file checkpoint: the real file's layout (`model.diffusion_model.*`
 * transformer, `vae.*` encoder + decoder + `per_channel_statistics`, bf16, `__metadata__.config`
 * with the real keys), at tiny widths. Every tensor name and shape is derived from the config,
 * with the same rules the official model classes use, so the VAE keeps its real block lists
 * (and with them the real 32× spatial and 8× temporal compression).
 */
import { LTX_096_VAE_CONFIG } from '../ltx/ltx-096-vae-config.ts';
import { f32ToBf16 } from '../tensor/dtype.ts';
import { tensorFromTyped, type HostTensor } from '../tensor/tensor.ts';
import type { SeededRandom } from '../seeded-random.ts';

export interface TinyLtxSizes {
  readonly heads: number;
  readonly headDim: number;
  readonly layers: number;
  /** T5 width (the caption projection's input). */
  readonly captionChannels: number;
  readonly encoderBaseChannels: number;
  readonly decoderBaseChannels: number;
}

export const TINY_LTX_SIZES: TinyLtxSizes = {
  heads: 2,
  headDim: 10,
  layers: 2,
  captionChannels: 32,
  encoderBaseChannels: 2,
  decoderBaseChannels: 4,
};

/** The real VAE's block lists (the tiny model keeps them, at tiny widths). */
const ENCODER_BLOCKS = LTX_096_VAE_CONFIG.encoder_blocks;
const DECODER_BLOCKS = LTX_096_VAE_CONFIG.decoder_blocks;

const LATENT_CHANNELS = LTX_096_VAE_CONFIG.latent_channels;
const PATCH_SIZE = LTX_096_VAE_CONFIG.patch_size;
const IMAGE_CHANNELS = LTX_096_VAE_CONFIG.in_channels;
const TIMESTEP_FEATURES = 256;

/** The `config` metadata object: the real file's keys and values, with tiny sizes. */
export function tinyCheckpointConfig(
  sizes: TinyLtxSizes = TINY_LTX_SIZES,
): Record<string, unknown> {
  const width = sizes.heads * sizes.headDim;
  return {
    transformer: {
      _class_name: 'Transformer3DModel',
      _diffusers_version: '0.25.1',
      _name_or_path: 'PixArt-alpha/PixArt-XL-2-256x256',
      activation_fn: 'gelu-approximate',
      attention_bias: true,
      attention_head_dim: sizes.headDim,
      attention_type: 'default',
      caption_channels: sizes.captionChannels,
      cross_attention_dim: width,
      double_self_attention: false,
      dropout: 0.0,
      in_channels: LATENT_CHANNELS,
      norm_elementwise_affine: false,
      norm_eps: 1e-6,
      norm_num_groups: 32,
      num_attention_heads: sizes.heads,
      num_embeds_ada_norm: 1000,
      num_layers: sizes.layers,
      num_vector_embeds: null,
      only_cross_attention: false,
      out_channels: LATENT_CHANNELS,
      project_to_2d_pos: true,
      upcast_attention: false,
      use_linear_projection: false,
      qk_norm: 'rms_norm',
      standardization_norm: 'rms_norm',
      positional_embedding_type: 'rope',
      positional_embedding_theta: 10000.0,
      positional_embedding_max_pos: [20, 2048, 2048],
      timestep_scale_multiplier: 1000,
      causal_temporal_positioning: true,
    },
    vae: {
      ...LTX_096_VAE_CONFIG,
      // Absent from the real file (where both default to 128); the tiny widths need them.
      decoder_base_channels: sizes.decoderBaseChannels,
      encoder_base_channels: sizes.encoderBaseChannels,
    },
    scheduler: {
      _class_name: 'RectifiedFlowScheduler',
      _diffusers_version: '0.25.1',
      num_train_timesteps: 1000,
      shifting: null,
      base_resolution: null,
      target_shift_terminal: null,
      sampler: 'LinearQuadratic',
    },
    allowed_inference_steps: [1.0, 0.9937, 0.9875, 0.9812, 0.975, 0.9094, 0.725, 0.4219],
  };
}

/** How a tensor's values are drawn. */
type Init =
  /** N(0, gain/√fan_in), fan_in = product of all but the first dimension. */
  | { readonly kind: 'weight'; readonly gain: number }
  | { readonly kind: 'normal'; readonly mean: number; readonly std: number }
  | { readonly kind: 'uniform'; readonly low: number; readonly high: number }
  | { readonly kind: 'index' };

export interface TensorPlan {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: Init;
}

const BIAS: Init = { kind: 'normal', mean: 0, std: 0.05 };
const WEIGHT: Init = { kind: 'weight', gain: 1 };
const RMS_NORM: Init = { kind: 'normal', mean: 1, std: 0.1 };

function scaleShift(width: number): Init {
  return { kind: 'normal', mean: 0, std: 1 / Math.sqrt(width) };
}

/** Every tensor of the checkpoint, derived from the config as the official classes derive them. */
export function checkpointTensorPlan(sizes: TinyLtxSizes = TINY_LTX_SIZES): TensorPlan[] {
  const plan: TensorPlan[] = [];
  const add = (name: string, shape: readonly number[], init: Init) =>
    plan.push({ name, shape, init });
  const linear = (name: string, out: number, inputs: number) => {
    add(`${name}.weight`, [out, inputs], WEIGHT);
    add(`${name}.bias`, [out], BIAS);
  };
  const conv = (name: string, out: number, inputs: number, init: Init = WEIGHT) => {
    add(`${name}.conv.weight`, [out, inputs, 3, 3, 3], init);
    add(`${name}.conv.bias`, [out], BIAS);
  };

  // Transformer (docs/model/pipeline.md §1.2).
  const t = 'model.diffusion_model.';
  const d = sizes.heads * sizes.headDim;
  linear(`${t}patchify_proj`, d, LATENT_CHANNELS);
  linear(`${t}adaln_single.emb.timestep_embedder.linear_1`, d, TIMESTEP_FEATURES);
  linear(`${t}adaln_single.emb.timestep_embedder.linear_2`, d, d);
  linear(`${t}adaln_single.linear`, 6 * d, d);
  linear(`${t}caption_projection.linear_1`, d, sizes.captionChannels);
  linear(`${t}caption_projection.linear_2`, d, d);
  for (let i = 0; i < sizes.layers; i++) {
    const block = `${t}transformer_blocks.${i}`;
    add(`${block}.scale_shift_table`, [6, d], scaleShift(d));
    for (const attention of ['attn1', 'attn2']) {
      for (const projection of ['to_q', 'to_k', 'to_v', 'to_out.0'])
        linear(`${block}.${attention}.${projection}`, d, d);
      add(`${block}.${attention}.q_norm.weight`, [d], RMS_NORM);
      add(`${block}.${attention}.k_norm.weight`, [d], RMS_NORM);
    }
    linear(`${block}.ff.net.0.proj`, 4 * d, d);
    linear(`${block}.ff.net.2`, d, 4 * d);
  }
  add(`${t}scale_shift_table`, [2, d], scaleShift(d));
  linear(`${t}proj_out`, LATENT_CHANNELS, d);

  // VAE encoder: unused by text-to-video, but the official loader needs every tensor.
  const patchChannels = IMAGE_CHANNELS * PATCH_SIZE * PATCH_SIZE;
  let width = sizes.encoderBaseChannels;
  conv('vae.encoder.conv_in', width, patchChannels);
  ENCODER_BLOCKS.forEach(([kind, params], index) => {
    const prefix = `vae.encoder.down_blocks.${index}`;
    const multiplier = Number(params['multiplier'] ?? 2);
    if (kind === 'res_x') {
      for (let j = 0; j < Number(params['num_layers']); j++) {
        conv(`${prefix}.res_blocks.${j}.conv1`, width, width);
        conv(`${prefix}.res_blocks.${j}.conv2`, width, width);
      }
      return;
    }
    // Space-to-depth downsamplers: a conv to width·multiplier / stride volume, then the rearrange.
    const stride = { compress_space_res: 4, compress_time_res: 2, compress_all_res: 8 }[kind];
    if (stride === undefined) throw new Error(`Unsupported encoder block ${kind}`);
    conv(`${prefix}.conv`, (width * multiplier) / stride, width);
    width *= multiplier;
  });
  // latent_log_var "uniform": one log-variance channel shared by all latent channels.
  conv('vae.encoder.conv_out', LATENT_CHANNELS + 1, width);

  // VAE decoder, blocks in execution order (the config's list reversed).
  const decoderBlocks = [...DECODER_BLOCKS].reverse();
  width = sizes.decoderBaseChannels;
  for (const [kind, params] of decoderBlocks) {
    if (kind !== 'res_x') width *= Number(params['multiplier'] ?? 2);
  }
  const timeEmbedder = (prefix: string, dim: number) => {
    linear(`${prefix}.timestep_embedder.linear_1`, dim, TIMESTEP_FEATURES);
    linear(`${prefix}.timestep_embedder.linear_2`, dim, dim);
  };
  conv('vae.decoder.conv_in', width, LATENT_CHANNELS);
  decoderBlocks.forEach(([kind, params], index) => {
    const prefix = `vae.decoder.up_blocks.${index}`;
    if (kind === 'res_x') {
      timeEmbedder(`${prefix}.time_embedder`, 4 * width);
      for (let j = 0; j < Number(params['num_layers']); j++) {
        conv(`${prefix}.res_blocks.${j}.conv1`, width, width);
        conv(`${prefix}.res_blocks.${j}.conv2`, width, width);
        add(`${prefix}.res_blocks.${j}.scale_shift_table`, [4, width], scaleShift(width));
      }
      return;
    }
    // Depth-to-space upsamplers: a conv to stride volume · width / multiplier, then the rearrange.
    const stride = { compress_space: 4, compress_time: 2, compress_all: 8 }[kind];
    if (stride === undefined) throw new Error(`Unsupported decoder block ${kind}`);
    const multiplier = Number(params['multiplier'] ?? 2);
    conv(`${prefix}.conv`, (stride * width) / multiplier, width);
    width /= multiplier;
  });
  add('vae.decoder.timestep_scale_multiplier', [], { kind: 'normal', mean: 1000, std: 20 });
  timeEmbedder('vae.decoder.last_time_embedder', 2 * width);
  add('vae.decoder.last_scale_shift_table', [2, width], scaleShift(width));
  // A smaller last layer keeps most pixels inside [-1, 1] while frames still vary visibly.
  conv('vae.decoder.conv_out', patchChannels, width, { kind: 'weight', gain: 0.5 });

  const statistics = 'vae.per_channel_statistics.';
  add(`${statistics}channel`, [LATENT_CHANNELS], { kind: 'index' });
  add(`${statistics}mean-of-means`, [LATENT_CHANNELS], { kind: 'normal', mean: 0, std: 0.2 });
  add(`${statistics}std-of-means`, [LATENT_CHANNELS], { kind: 'uniform', low: 0.5, high: 1.5 });
  add(`${statistics}mean-of-stds`, [LATENT_CHANNELS], { kind: 'uniform', low: 0.4, high: 0.9 });
  add(`${statistics}mean-of-stds_over_std-of-means`, [LATENT_CHANNELS], {
    kind: 'uniform',
    low: 0.3,
    high: 1.5,
  });

  return plan.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Draws a tensor's values (float32) from its own stream of `random`. */
export function drawValues(plan: TensorPlan, random: SeededRandom): Float32Array {
  const count = plan.shape.reduce((product, dim) => product * dim, 1);
  const values = new Float32Array(count);
  const stream = random.stream(plan.name);
  const init = plan.init;
  switch (init.kind) {
    case 'weight': {
      const fanIn = plan.shape.slice(1).reduce((product, dim) => product * dim, 1);
      const std = init.gain / Math.sqrt(fanIn);
      for (let i = 0; i < count; i++) values[i] = stream.normal() * std;
      break;
    }
    case 'normal':
      for (let i = 0; i < count; i++) values[i] = init.mean + stream.normal() * init.std;
      break;
    case 'uniform':
      for (let i = 0; i < count; i++) values[i] = stream.between(init.low, init.high);
      break;
    case 'index':
      for (let i = 0; i < count; i++) values[i] = i;
      break;
  }
  return values;
}

/** The checkpoint's tensors (bf16, sorted by name) and its metadata. */
export function tinyCheckpoint(
  random: SeededRandom,
  sizes: TinyLtxSizes = TINY_LTX_SIZES,
): { tensors: [string, HostTensor][]; metadata: Record<string, string> } {
  const tensors = checkpointTensorPlan(sizes).map((plan): [string, HostTensor] => [
    plan.name,
    tensorFromTyped('bfloat16', plan.shape, f32ToBf16(drawValues(plan, random))),
  ]);
  return { tensors, metadata: { config: JSON.stringify(tinyCheckpointConfig(sizes)) } };
}
