export * from './onnx/runtime.ts';
