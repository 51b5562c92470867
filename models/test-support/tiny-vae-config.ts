/**
 * A small VAE config whose decoder has every kind of streamed block (time-only and space-only
 * upsamplers, res blocks) at tiny widths: for tests of the streamed decoder on random weights.
 */
export const TINY_STREAM_VAE_CONFIG = {
  dims: 3,
  latent_channels: 8,
  patch_size: 2,
  norm_layer: 'pixel_norm',
  use_quant_conv: false,
  timestep_conditioning: true,
  decoder_base_channels: 4,
  encoder_blocks: [
    ['compress_time_res', {}],
    ['compress_space_res', {}],
  ],
  decoder_blocks: [
    ['res_x', { num_layers: 1 }],
    ['compress_space', {}],
    ['res_x', { num_layers: 1 }],
    ['compress_time', {}],
    ['res_x', { num_layers: 2 }],
  ],
} as const;
