/**
 * @zeus/models: what the other workspaces use of the model files, graphs and the Hub, by name.
 * A name another workspace needs is added here (or, for a corner only one consumer needs, under a
 * subpath of package.json's `exports`); everything else stays inside the package.
 */

// The models Zeus runs, their folders and files.
export {
  CHECKPOINT_DIR,
  isModelName,
  LTX_CHECKPOINT_FILE,
  modelSpec,
  TOKENIZER_DIR,
  type ModelSpec,
} from './registry.ts';
export {
  adoptLegacyModelDir,
  defaultModelsDir,
  legacyModelDir,
  legacyModelsDir,
  modelDir,
  modelsDirFromEnv,
} from './store/models-dir.ts';
export { ensureModelFiles, findModelFiles, type ModelFilesEvent } from './store/model-files.ts';
export type { ModelFiles } from './store/model-layout.ts';
export { generateTinyModel } from './tiny/generate.ts';
export { formatBytes } from './progress-bar.ts';

// The Hugging Face Hub.
export { HubSettingsError, hubSettingsFromEnv, type HubSettings } from './hub/settings.ts';
export { HubDownloadError } from './hub/errors.ts';

// Tensors, safetensors files and ONNX graphs.
export { bf16ToF32, elementCount, f32ToBf16, halfToFloat } from './tensor/dtype.ts';
export { tensorFromTyped, toBigInt64, toFloat32 } from './tensor/tensor.ts';
export { SafetensorsFile, writeSafetensors } from './safetensors.ts';
export { attr, GraphBuilder } from './onnx/graph-builder.ts';
export { attention, type AttentionKernel } from './onnx/attention.ts';
export { padAxis } from './onnx/pad.ts';
export { modelOutputNames } from './onnx/model-outputs.ts';
export { convertCached, type ConversionEvent } from './convert/cache.ts';
export { SeededRandom } from './seeded-random.ts';

// The text encoder: tokenizer and T5.
export {
  encodeSentencePieceModel,
  PIECE_TYPE,
  type SentencePiece,
} from './tokenizer/sentencepiece-model.ts';
export {
  PromptTooLongError,
  T5_MAX_TOKENS,
  T5Tokenizer,
  type EncodedPrompt,
} from './tokenizer/t5-tokenizer.ts';
export type { T5EncoderConfig } from './t5/config.ts';
export { T5Weights, type T5WeightReader } from './t5/weights.ts';
export type { T5WeightDType } from './t5/t5-fp16.ts';
export { buildT5Graph } from './t5/t5-graph.ts';
export { buildT5Onnx, convertT5Cached } from './t5/convert.ts';

// LTX-Video: the checkpoint, the transformer, the VAE.
export {
  parseLtxCheckpointConfig,
  type LtxCheckpointConfig,
  type LtxTransformerConfig,
} from './ltx/checkpoint-config.ts';
export {
  LtxCheckpoint,
  TIMESTEP_FEATURES,
  TRANSFORMER_PREFIX,
  transformerTensorShapes,
  VAE_PREFIX,
} from './ltx/checkpoint.ts';
export { ropeFullTables, ropeTables, timestepFeatures } from './ltx/transformer-inputs.ts';
export { TRANSFORMER_IO } from './ltx/transformer-io.ts';
export type { TransformerDType } from './ltx/transformer-linears.ts';
export { buildTransformerGraph } from './ltx/transformer-graph.ts';
export { convertLtxTransformer } from './ltx/transformer-convert.ts';
export { parseVaeConfig, type VaeConfig, type VaeEncoderConfig } from './ltx/vae-config.ts';
export { LTX_096_VAE_CONFIG } from './ltx/ltx-096-vae-config.ts';
export { planStream, type StreamCall, type VaeStreamLayout } from './ltx/vae-stream.ts';
export type { VaeDtype } from './ltx/vae-weights.ts';
export { randomVaeWeights } from './ltx/vae-random-weights.ts';
export {
  readVaeDecoderManifest,
  readVaeEncoderManifest,
  type VaeEncoderManifest,
} from './ltx/vae-manifest.ts';
export { VAE_IO, vaeTimestepFeatures } from './ltx/vae-decoder-io.ts';
export { buildVaeDecoderGraphs } from './ltx/vae-decoder-graph.ts';
export {
  buildVaeDecoderOnnx,
  convertVaeDecoder,
  writeVaeDecoderOnnx,
} from './ltx/vae-decoder-convert.ts';
export { VAE_ENCODER_IO } from './ltx/vae-encoder-graph.ts';
export { buildVaeEncoderOnnx, convertVaeEncoder } from './ltx/vae-encoder-convert.ts';
