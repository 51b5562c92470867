/**
 * The operator's choices of where and how precisely the model runs (`ZEUS_DEVICE`,
 * `ZEUS_PRECISION`). Kept apart from onnx/runtime.ts and ltx/pipeline.ts, and free of
 * onnxruntime-node, so that checking the configuration (the worker's, or deploy.ts's) does not
 * load ONNX Runtime; tests/deploy/config-imports.int.test.ts checks it.
 */

export type Device = 'auto' | 'cuda' | 'webgpu' | 'cpu';
export const DEVICES: readonly Device[] = ['auto', 'cuda', 'webgpu', 'cpu'];

export type Precision = 'fp16' | 'fp32';
export const PRECISIONS: readonly Precision[] = ['fp16', 'fp32'];
