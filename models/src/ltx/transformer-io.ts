/**
 * The transformer graph's interface with the runtime (transformer-graph.ts).
 *
 * Inputs (B batch, N video tokens, L text tokens):
 *   hidden_states          float32 [B, N, C_in]   latent tokens (see inference/src/sampler)
 *   encoder_hidden_states  float32 [B, L, C_text] T5 output
 *   encoder_attention_mask int64   [B, L]         1 for tokens, 0 for padding
 *   timestep_features      float32 [B, 256]       timestepFeatures(t, multiplier)
 *   conditioning_timestep_features float32 [B, 256] the features of conditioned tokens' timestep
 *   conditioning_mask      bool    [B, N]         true for conditioned tokens (image-to-video)
 *   rope_table             float32 [R, 2, n_f]    ropeTables(config, grid).table
 *   rope_index             int64   [N, 3]         ropeTables(config, grid).index
 * Output:
 *   velocity               float32 [B, N, C_out]
 * plus `debug.*` intermediates when built with `debug: true`.
 */

/** Graph input and output names. */
export const TRANSFORMER_IO = {
  hiddenStates: 'hidden_states',
  encoderHiddenStates: 'encoder_hidden_states',
  encoderAttentionMask: 'encoder_attention_mask',
  timestepFeatures: 'timestep_features',
  conditioningTimestepFeatures: 'conditioning_timestep_features',
  conditioningMask: 'conditioning_mask',
  ropeTable: 'rope_table',
  ropeIndex: 'rope_index',
  velocity: 'velocity',
} as const;
