export * from './onnx/runtime.ts';
export * from './sampler/index.ts';
export * from './ltx/text-encoder.ts';
export * from './ltx/transformer.ts';
export * from './ltx/vae-decoder.ts';
