import type { LtxVaeRawConfig } from './checkpoint-config.ts';

/** A VAE block list as a checkpoint's config writes it: [kind, parameters] pairs. */
export type LtxVaeRawBlocks = readonly (readonly [string, Readonly<Record<string, unknown>>])[];

/**
 * The VAE config of LTX-Video 0.9.5 / 0.9.6 (docs/model/pipeline.md §1.4) as the checkpoint's
 * `__metadata__.config.vae` holds it, keys in its order. `encoder_base_channels` and
 * `decoder_base_channels` are unset, so 128; smaller models (the tiny one, benchmarks) add them.
 */
export const LTX_096_VAE_CONFIG = {
  _class_name: 'CausalVideoAutoencoder',
  dims: 3,
  in_channels: 3,
  out_channels: 3,
  latent_channels: 128,
  encoder_blocks: [
    ['res_x', { num_layers: 4 }],
    ['compress_space_res', { multiplier: 2 }],
    ['res_x', { num_layers: 6 }],
    ['compress_time_res', { multiplier: 2 }],
    ['res_x', { num_layers: 6 }],
    ['compress_all_res', { multiplier: 2 }],
    ['res_x', { num_layers: 2 }],
    ['compress_all_res', { multiplier: 2 }],
    ['res_x', { num_layers: 2 }],
  ] as LtxVaeRawBlocks,
  decoder_blocks: [
    ['res_x', { num_layers: 5, inject_noise: false }],
    ['compress_all', { residual: true, multiplier: 2 }],
    ['res_x', { num_layers: 5, inject_noise: false }],
    ['compress_all', { residual: true, multiplier: 2 }],
    ['res_x', { num_layers: 5, inject_noise: false }],
    ['compress_all', { residual: true, multiplier: 2 }],
    ['res_x', { num_layers: 5, inject_noise: false }],
  ] as LtxVaeRawBlocks,
  scaling_factor: 1.0,
  norm_layer: 'pixel_norm',
  patch_size: 4,
  latent_log_var: 'uniform',
  use_quant_conv: false,
  causal_decoder: false,
  timestep_conditioning: true,
} as const satisfies LtxVaeRawConfig;
