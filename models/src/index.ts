export * from './tensor/dtype.ts';
export * from './tensor/tensor.ts';
export * from './safetensors.ts';
export * from './onnx/graph-builder.ts';
export * from './convert/index.ts';
export * from './tokenizer/sentencepiece-model.ts';
export * from './tokenizer/precompiled-charsmap.ts';
export * from './tokenizer/t5-tokenizer.ts';
