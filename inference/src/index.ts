export * from './onnx/runtime.ts';
export * from './sampler/index.ts';
