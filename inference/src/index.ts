export * from './onnx/runtime.ts';
export * from './onnx/provider-choice.ts';
export * from './onnx/attention-probe.ts';
export * from './sampler/index.ts';
export * from './ltx/text-encoder.ts';
export * from './ltx/transformer.ts';
export * from './ltx/vae-decoder.ts';
export {
  VaeDecodeError,
  type DecodeOptions,
  type FrameBatch,
  type LatentVideo,
} from './ltx/vae-decode-io.ts';
export * from './ltx/vae-tiles.ts';
export * from './ltx/geometry.ts';
export * from './ltx/text-encoder-placement.ts';
export * from './ltx/pipeline.ts';
export * from './ltx/pipeline-types.ts';
export { PrecisionError } from './ltx/model-loading.ts';
export * from './pipeline/types.ts';
export * from './pipeline/thread/threaded-pipeline.ts';
export * from './video/mp4-writer.ts';
